package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gitDaemon is a plain `git daemon` serving the bare repositories of a
// directory over git://, pushes allowed: a remote that is not sluice, which a
// test can stop and start again on the same port.
type gitDaemon struct {
	t    *testing.T
	base string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startGitDaemon(t *testing.T, base string) *gitDaemon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	d := &gitDaemon{t: t, base: base, port: port}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *gitDaemon) url(repo string) string {
	return fmt.Sprintf("git://127.0.0.1:%d/%s", d.port, repo)
}

func (d *gitDaemon) start() {
	d.t.Helper()
	d.cmd = exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
		"--listen=127.0.0.1", fmt.Sprintf("--port=%d", d.port), "--base-path="+d.base, d.base)
	d.cmd.Env = append(cliEnv("", ""), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(d.cmd, d.done)
	eventually(d.t, 10*time.Second, "git daemon to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", d.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (d *gitDaemon) stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	d.cmd = nil
}

// mirrorView is one mirror of `sluice repo mirror list -o json`.
type mirrorView struct {
	Name, Direction, URL string
	Status               *struct {
		LastError string `json:"lastError"`
		Failures  int    `json:"failures"`
		Pending   bool   `json:"pending"`
	} `json:"status"`
}

func (s *server) mirror(repo, name string) mirrorView {
	s.t.Helper()
	var ms []mirrorView
	s.json(&ms, "repo", "mirror", "list", repo)
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	s.t.Fatalf("repository %s has no mirror %s: %+v", repo, name, ms)
	return mirrorView{}
}

// TestMirrors: a push mirror to a second hosted repository (credentials
// from a secret) and to a plain git daemon, which goes down and comes back:
// the failure is visible and retried; a pull mirror that follows the git
// daemon, whose changes become pushes with events. Mirrors that would reach
// the server's disk or carry credentials in their URL are refused.
func TestMirrors(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	g := newGit(t, s)
	dir := s.scratch("mirrors")
	daemonRoot := s.scratch("daemon")
	d := startGitDaemon(t, daemonRoot)
	g.run("", "init", "-q", "--bare", filepath.Join(daemonRoot, "backup.git"))

	s.ok("repo", "create", "app")
	s.ok("repo", "create", "copy")
	botToken := strings.TrimSpace(s.ok("token", "create", "mirror-bot", "--policy", "operator"))
	if r := runCLIStdin(t, cliEnv(s.url, s.token), botToken+"\n", "secret", "put", "mirror-bot-token"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}

	// Refused: the server's disk, credentials in the URL, an unknown secret.
	for _, tc := range []struct{ args []string }{
		{[]string{"--url", "file:///etc"}},
		{[]string{"--url", "/srv/git/x.git"}},
		{[]string{"--url", "ext::sh -c id"}},
		{[]string{"--url", "https://bob:hunter2@example.com/x.git"}},
		{[]string{"--url", "https://example.com/x.git", "--password-secret", "no-such-secret"}},
		{[]string{"--url", "https://example.com/x.git", "--direction", "pull", "--interval", "1s"}},
	} {
		r := s.fails(append([]string{"repo", "mirror", "add", "app", "bad"}, tc.args...)...)
		if r.stderr == "" {
			t.Errorf("mirror add %v: refused without a message", tc.args)
		}
	}
	r := s.fails("repo", "mirror", "add", "app", "bad", "--url", "https://bob:hunter2@example.com/x.git")
	if strings.Contains(r.stderr, "hunter2") {
		t.Errorf("a refused URL's password was echoed: %s", r.stderr)
	}

	s.ok("repo", "mirror", "add", "app", "to-copy", "--url", s.url+"/git/copy.git", "--username", "mirror", "--password-secret", "mirror-bot-token")
	s.ok("repo", "mirror", "add", "app", "to-daemon", "--url", d.url("backup.git"))

	work := filepath.Join(dir, "work")
	g.initRepo(work)
	g.run(work, "remote", "add", "origin", s.gitURL("app"))
	c1 := g.commit(work, "first", map[string]string{"a.txt": "1\n"})
	g.run(work, "tag", "v1")
	g.run(work, "push", "-q", "origin", "main", "v1")

	remoteRef := func(url, ref string) string {
		out, _, err := g.try(dir, "ls-remote", url, ref)
		if err != nil {
			return ""
		}
		if f := strings.Fields(out); len(f) > 0 {
			return f[0]
		}
		return ""
	}
	eventually(t, 30*time.Second, "main and v1 mirrored to the second repository and the daemon", func() bool {
		return remoteRef(s.gitURL("copy"), "refs/heads/main") == c1 && remoteRef(s.gitURL("copy"), "refs/tags/v1") == c1 &&
			remoteRef(d.url("backup.git"), "refs/heads/main") == c1
	})
	// The copy's push came with the secret's token: its events name it.
	wantContains(t, "copy's push events", fmt.Sprint(s.waitRepoEvents("copy", 2)), "mirror-bot")

	// The daemon goes down: the failure shows, the change waits.
	d.stop()
	c2 := g.commit(work, "second", map[string]string{"a.txt": "2\n"})
	g.run(work, "push", "-q", "origin", "main")
	eventually(t, 30*time.Second, "the daemon mirror's failure to show", func() bool {
		m := s.mirror("app", "to-daemon")
		return m.Status != nil && m.Status.Failures > 0 && m.Status.LastError != "" && m.Status.Pending
	})
	wantContains(t, "mirror list", s.ok("repo", "mirror", "list", "app"), "to-daemon", "failing", "to-copy", "in sync")
	eventually(t, 30*time.Second, "the second repository to get c2 meanwhile", func() bool {
		return remoteRef(s.gitURL("copy"), "refs/heads/main") == c2
	})
	// Back: the retry pushes what waited.
	d.start()
	eventually(t, 60*time.Second, "c2 mirrored once the daemon is back", func() bool {
		return remoteRef(d.url("backup.git"), "refs/heads/main") == c2
	})
	eventually(t, 10*time.Second, "the mirror to say it is in sync", func() bool {
		m := s.mirror("app", "to-daemon")
		return m.Status != nil && m.Status.Failures == 0 && m.Status.LastError == "" && !m.Status.Pending
	})

	// A pull mirror follows the daemon's repository; what it fetches is a
	// push by mirror/upstream, with its events.
	up := filepath.Join(daemonRoot, "upstream.git")
	g.run("", "init", "-q", "--bare", up)
	upWork := filepath.Join(dir, "upstream")
	g.initRepo(upWork)
	u1 := g.commit(upWork, "upstream one", map[string]string{"u.txt": "1\n"})
	g.run(upWork, "push", "-q", up, "main")
	s.ok("repo", "create", "follower")
	s.ok("repo", "mirror", "add", "follower", "upstream", "--direction", "pull", "--url", d.url("upstream.git"), "--interval", "10s")
	eventually(t, 30*time.Second, "the pull mirror's first fetch", func() bool {
		return remoteRef(s.gitURL("follower"), "refs/heads/main") == u1
	})
	u2 := g.commit(upWork, "upstream two", map[string]string{"u.txt": "2\n"})
	g.run(upWork, "push", "-q", up, "main")
	eventually(t, 45*time.Second, "the pull mirror's next fetch", func() bool {
		return remoteRef(s.gitURL("follower"), "refs/heads/main") == u2
	})
	wantEvents(t, s.waitRepoEvents("follower", 2),
		repoEvent{"referenceCreated", "refs/heads/main", "", u1, "mirror/upstream"},
		repoEvent{"referenceUpdated", "refs/heads/main", u1, u2, "mirror/upstream"})

	// Deleting a mirror stops it.
	wantContains(t, "mirror delete", s.ok("repo", "mirror", "delete", "app", "to-daemon"), "mirror to-daemon of app deleted")
	var ms []mirrorView
	s.json(&ms, "repo", "mirror", "list", "app")
	if len(ms) != 1 || ms[0].Name != "to-copy" {
		t.Errorf("mirrors after delete = %+v", ms)
	}
}
