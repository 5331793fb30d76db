package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sshHostAlias is the name the tests' known_hosts gives the server, whatever
// its port (HostKeyAlias): a restart on another port must still match.
const sshHostAlias = "sluice-under-test"

// sshKeyList is `sluice ssh-key list -o json`.
type sshKeyList struct {
	Keys []struct {
		Name, Principal, Type, Fingerprint string
	} `json:"keys"`
	Host *struct {
		Addr               string `json:"addr"`
		HostKey            string `json:"hostKey"`
		HostKeyFingerprint string `json:"hostKeyFingerprint"`
	} `json:"host"`
}

// sshUser is one SSH identity of a test: a key made by ssh-keygen and an
// ssh configuration naming the server "sluice", as a CodeCommit user's
// ~/.ssh/config names git-codecommit.*.amazonaws.com.
type sshUser struct {
	t      *testing.T
	dir    string
	key    string // the private key's file; key+".pub" the public one
	config string
	git    *gitClient
}

func requireSSH(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install openssh-client; test.sh installs it)", tool)
		}
	}
}

// newSSHUser makes a key called name, and an ssh configuration for it that
// checks the server's host key against knownHosts strictly.
func newSSHUser(t *testing.T, s *server, name, knownHosts string) *sshUser {
	t.Helper()
	dir := s.scratch("ssh-" + name)
	u := &sshUser{t: t, dir: dir, key: filepath.Join(dir, "id_ed25519"), config: filepath.Join(dir, "config")}
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@test", "-f", u.key).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	u.git = newGit(t, s)
	u.git.env = append(u.git.env, "GIT_SSH_COMMAND=ssh -F "+u.config)
	u.writeConfig(s, knownHosts)
	return u
}

// writeConfig (re)writes the user's ssh configuration for the server's
// current SSH address.
func (u *sshUser) writeConfig(s *server, knownHosts string) {
	u.t.Helper()
	host, port, err := net.SplitHostPort(s.sshAddr())
	if err != nil {
		u.t.Fatal(err)
	}
	cfg := fmt.Sprintf(`Host sluice
  HostName %s
  Port %s
  User git
  IdentityFile %s
  IdentitiesOnly yes
  IdentityAgent none
  BatchMode yes
  StrictHostKeyChecking yes
  UserKnownHostsFile %s
  GlobalKnownHostsFile /dev/null
  HostKeyAlias %s
  ConnectTimeout 20
  ControlPath %s
`, host, port, u.key, knownHosts, sshHostAlias, filepath.Join(u.dir, "control"))
	if err := os.WriteFile(u.config, []byte(cfg), 0o600); err != nil {
		u.t.Fatal(err)
	}
}

// ssh runs the OpenSSH client with the user's configuration and args.
func (u *sshUser) ssh(args ...string) (stdout, stderr string, code int) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", append([]string{"-F", u.config}, args...)...)
	cmd.Env = u.git.env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		u.t.Fatalf("ssh %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// sshAddr is where the server serves SSH, as it says.
func (s *server) sshAddr() string {
	s.t.Helper()
	var l sshKeyList
	s.json(&l, "ssh-key", "list")
	if l.Host == nil || l.Host.Addr == "" {
		s.t.Fatalf("ssh-key list names no ssh address: the server does not serve ssh")
	}
	return l.Host.Addr
}

// TestGitOverSSH clones and pushes over SSH with the real git and OpenSSH
// clients, and checks what is refused: an unknown key, a deleted key (also
// on a connection opened before), a principal without GitPush, a protected
// branch, other commands, a shell, port forwarding, a path out of the
// repositories. The host key is checked strictly, across a restart.
func TestGitOverSSH(t *testing.T) {
	t.Parallel()
	requireSSH(t)
	s := startServer(t, "--ssh-addr", "127.0.0.1:0")
	s.ok("repo", "create", "app")
	s.apply("testdata/push.yml")
	s.ok("token", "create", "dev", "--policy", "operator")
	s.ok("token", "create", "reader", "--policy", "viewer")

	// known_hosts from what the server says of itself, checked against
	// the fingerprint its start log printed.
	var l sshKeyList
	s.json(&l, "ssh-key", "list")
	if l.Host == nil || !strings.HasPrefix(l.Host.HostKey, "ssh-ed25519 ") || !strings.HasPrefix(l.Host.HostKeyFingerprint, "SHA256:") {
		t.Fatalf("ssh host = %+v, want an ed25519 host key", l.Host)
	}
	wantContains(t, "start log", s.serverLog(), "git over ssh", l.Host.HostKeyFingerprint)
	wantContains(t, "ssh-key known-host", s.ok("ssh-key", "known-host"), "[127.0.0.1]:", l.Host.HostKey)
	knownHosts := filepath.Join(s.scratch("ssh"), "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(sshHostAlias+" "+l.Host.HostKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	firstHostKey := l.Host.HostKey

	dev := newSSHUser(t, s, "dev", knownHosts)
	reader := newSSHUser(t, s, "reader", knownHosts)
	stranger := newSSHUser(t, s, "stranger", knownHosts)
	out := s.ok("ssh-key", "add", "dev-laptop", "--principal", "dev", "-f", dev.key+".pub")
	wantContains(t, "ssh-key add", out, "ssh key dev-laptop added for dev: ssh-ed25519 SHA256:")
	s.ok("ssh-key", "add", "reader-laptop", "--principal", "reader", "-f", reader.key+".pub")
	wantContains(t, "ssh-key list", s.ok("ssh-key", "list"), "dev-laptop", "reader-laptop", "dev@test")
	// Bad input changes nothing: a private key, a key already added, a
	// principal that is no token.
	r := s.fails("ssh-key", "add", "oops", "--principal", "dev", "-f", dev.key)
	wantContains(t, "ssh-key add of a private key", r.stderr, "private key")
	r = s.fails("ssh-key", "add", "again", "--principal", "reader", "-f", dev.key+".pub")
	wantContains(t, "ssh-key add of a key added already", r.stderr, "added already, as dev-laptop for dev")
	r = s.fails("ssh-key", "add", "ghost", "--principal", "nobody", "-f", stranger.key+".pub")
	wantContains(t, "ssh-key add for a missing token", r.stderr, "token nobody not found")
	// A token cannot add a key that stands for a stronger one.
	readerToken := strings.TrimSpace(s.ok("token", "create", "reader-cli", "--policy", "viewer"))
	r = runCLI(t, cliEnv(s.url, readerToken), "ssh-key", "add", "escalate", "--principal", "dev", "-f", stranger.key+".pub")
	if r.code == 0 {
		t.Fatalf("a viewer added a key for an operator: %s", r)
	}
	l = sshKeyList{}
	s.json(&l, "ssh-key", "list")
	if len(l.Keys) != 2 {
		t.Fatalf("keys after refused adds = %+v, want the two added", l.Keys)
	}

	// Clone the empty repository over ssh://, push: the pipeline starts.
	work := filepath.Join(dev.dir, "work")
	_, errOut, err := dev.git.try(dev.dir, "clone", "ssh://sluice/app.git", work)
	if err != nil {
		t.Fatalf("clone over ssh: %v\n%s", err, errOut)
	}
	wantContains(t, "clone of an empty repository over ssh", errOut, "empty repository")
	dev.git.run(work, "checkout", "-q", "-B", "main")
	c1 := dev.git.commit(work, "over ssh", map[string]string{"a.txt": "version 1\n"})
	dev.git.run(work, "push", "-q", "origin", "main")
	note := s.nextTrigger("app", nil)
	e := s.wantStarted("app", note, 1, "Succeeded")
	wantContains(t, "trigger detail", e.Trigger.TriggerDetail, "dev", "refs/heads/main")
	wantRevision(t, e, "src", c1, "over ssh")
	wantEvents(t, s.waitRepoEvents("app", 1), repoEvent{"referenceCreated", "refs/heads/main", "", c1, "dev"})

	// The scp form, and CodeCommit's path.
	scp := filepath.Join(dev.dir, "scp")
	dev.git.run(dev.dir, "clone", "-q", "sluice:app.git", scp)
	wantEqual(t, "HEAD of the scp-form clone", dev.git.head(scp, "HEAD"), c1)
	cc := filepath.Join(dev.dir, "codecommit")
	dev.git.run(dev.dir, "clone", "-q", "ssh://sluice/v1/repos/app", cc)
	wantEqual(t, "HEAD of the CodeCommit-path clone", dev.git.head(cc, "HEAD"), c1)

	// A principal without GitPush clones, and may not push.
	rwork := filepath.Join(reader.dir, "work")
	reader.git.run(reader.dir, "clone", "-q", "sluice:app.git", rwork)
	reader.git.commit(rwork, "not allowed", map[string]string{"a.txt": "reader\n"})
	errOut = reader.git.fails(rwork, "push", "origin", "main")
	wantContains(t, "push without GitPush", errOut,
		"sluice: permission denied: you may not push to repository app", "sluice:GitPush", "reader")
	wantEqual(t, "main after the refused push", strings.Fields(dev.git.run(work, "ls-remote", "origin", "refs/heads/main"))[0], c1)

	// An unknown key gets nothing.
	errOut = stranger.git.fails(stranger.dir, "clone", "-q", "sluice:app.git", filepath.Join(stranger.dir, "x"))
	wantContains(t, "clone with an unknown key", errOut, "Permission denied (publickey)")

	// A protected branch over ssh as over HTTPS.
	s.ok("repo", "protect", "app", "main", "--no-force-push")
	dev.git.run(work, "commit", "-q", "--amend", "-m", "rewritten")
	errOut = dev.git.fails(work, "push", "-f", "origin", "main")
	wantContains(t, "force push over ssh", errOut, "remote: sluice: branch main is protected: force pushes are not allowed")

	// Nothing but git: a shell, another command, upload-archive, a path
	// out of the repositories, port forwarding.
	_, errOut, code := dev.ssh("sluice")
	if code == 0 {
		t.Errorf("a shell exited 0")
	}
	wantContains(t, "shell", errOut, "hello dev", "no shell access")
	_, errOut, code = dev.ssh("sluice", "cat /etc/passwd")
	if code == 0 {
		t.Errorf("cat /etc/passwd exited 0")
	}
	wantContains(t, "another command", errOut, "only git clone, fetch and push are served over SSH")
	_, errOut, _ = dev.ssh("sluice", "git-upload-archive 'app.git'")
	wantContains(t, "upload-archive", errOut, "git archive --remote is not served")
	for _, path := range []string{"'../app.git'", "'/../../etc'", "'app.git/../../x'", "'app'\\''; id; '\\''.git'"} {
		_, errOut, code = dev.ssh("sluice", "git-upload-pack "+path)
		if code == 0 || !strings.Contains(errOut, "not found") {
			t.Errorf("git-upload-pack %s: exit %d, stderr %q; want not found", path, code, errOut)
		}
	}
	_, httpPort, _ := net.SplitHostPort(strings.TrimPrefix(s.url, "http://"))
	_, errOut, code = dev.ssh("-W", "127.0.0.1:"+httpPort, "sluice")
	if code == 0 {
		t.Errorf("ssh -W (port forwarding) exited 0")
	}
	wantContains(t, "port forwarding", errOut, "administratively prohibited")

	// A key deleted stops working at once: for new connections, and for
	// commands on a connection opened before.
	s.ok("ssh-key", "add", "temp", "--principal", "dev", "-f", stranger.key+".pub")
	stranger.git.run(stranger.dir, "clone", "-q", "sluice:app.git", filepath.Join(stranger.dir, "before"))
	if _, errOut, code := stranger.ssh("-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-fN", "sluice"); code != 0 {
		t.Fatalf("open a master connection: exit %d\n%s", code, errOut)
	}
	t.Cleanup(func() { stranger.ssh("-O", "exit", "sluice") })
	if _, errOut, code := stranger.ssh("-O", "check", "sluice"); code != 0 {
		t.Fatalf("master connection not running: %s", errOut)
	}
	masterGit := &gitClient{t: t, env: append(append([]string(nil), stranger.git.env...),
		"GIT_SSH_COMMAND=ssh -F "+stranger.config+" -o ControlMaster=no")}
	masterGit.run(stranger.dir, "ls-remote", "sluice:app.git")
	wantContains(t, "ssh-key delete", s.ok("ssh-key", "delete", "temp"), "ssh key temp deleted")
	errOut = masterGit.fails(stranger.dir, "ls-remote", "sluice:app.git")
	wantContains(t, "a command on a connection whose key was deleted", errOut, "sluice: permission denied", "no ssh key")
	stranger.ssh("-O", "exit", "sluice")
	errOut = stranger.git.fails(stranger.dir, "clone", "-q", "sluice:app.git", filepath.Join(stranger.dir, "after"))
	wantContains(t, "clone with a deleted key", errOut, "Permission denied (publickey)")

	// A revoked token takes its keys with it.
	s.ok("token", "revoke", "reader")
	errOut = reader.git.fails(reader.dir, "ls-remote", "sluice:app.git")
	wantContains(t, "ls-remote for a revoked token", errOut, "Permission denied (publickey)")

	// The audit trail has the ssh requests, allowed and denied.
	audit := s.ok("audit", "--operation", "GitPush")
	wantContains(t, "audit of GitPush", audit, "dev", "reader", "repository/app")
	var trail []struct {
		Principal, Outcome, Resource string
		Status                       int
		Parameters                   map[string]string
	}
	s.json(&trail, "audit", "--operation", "GitPush", "--principal", "reader")
	if len(trail) == 0 {
		t.Fatal("no audit record of reader's refused push")
	}
	rec := trail[0]
	if rec.Outcome != "denied" || rec.Status != 403 || rec.Resource != "repository/app" ||
		rec.Parameters["protocol"] != "ssh" || rec.Parameters["sshKeyName"] != "reader-laptop" {
		t.Errorf("audit record of reader's push over ssh = %+v", rec)
	}

	// The host key is the same after a restart (on another port): strict
	// checking against the known_hosts written before passes.
	s.shutdown()
	s.boot()
	dev.writeConfig(s, knownHosts)
	l = sshKeyList{}
	s.json(&l, "ssh-key", "list")
	wantEqual(t, "host key after a restart", l.Host.HostKey, firstHostKey)
	wantEqual(t, "HEAD after a restart", strings.Fields(dev.git.run(work, "ls-remote", "origin", "refs/heads/main"))[0], c1)

	// And a host key that is not the one known is refused by the client.
	other := filepath.Join(s.scratch("ssh"), "other_known_hosts")
	if err := os.WriteFile(other, []byte(sshHostAlias+" "+stranger.pub(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dev.writeConfig(s, other)
	errOut = dev.git.fails(work, "ls-remote", "origin")
	wantContains(t, "ls-remote with a wrong known host", errOut, "HOST IDENTIFICATION HAS CHANGED")
}

// pub is the user's public key, without its comment.
func (u *sshUser) pub(t *testing.T) string {
	f := strings.Fields(readFile(t, u.key+".pub"))
	return f[0] + " " + f[1]
}
