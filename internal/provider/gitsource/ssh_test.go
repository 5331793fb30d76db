//go:build unix

package gitsource_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/provider/gitsource"
)

// fakeSSH puts an ssh first in PATH that records how git called it, checks
// the key file it is given, and then runs the remote command locally, so a
// test exercises git's ssh transport without an ssh server.
func fakeSSH(t *testing.T) (binDir, record string) {
	t.Helper()
	binDir = t.TempDir()
	record = filepath.Join(t.TempDir(), "ssh")
	script := `#!/bin/sh
rec='` + record + `'
printf '%s\n' "$@" > "$rec.args"
while [ $# -gt 1 ]; do
	if [ "$1" = -i ]; then
		stat -c %a "$2" > "$rec.keymode"
		cp "$2" "$rec.key"
	fi
	shift
done
exec sh -c "$1"
`
	writeExecutable(t, filepath.Join(binDir, "ssh"), script)
	return binDir, record
}

func TestRemoteSSHKey(t *testing.T) {
	t.Parallel()
	const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"
	r, id := sampleRepo(t)
	bin, record := fakeSSH(t)
	url := "ssh://git@git.example.test" + r.dir
	p := &gitsource.Provider{Secret: func(context.Context, string) (string, error) { return key, nil }}

	job, log := newJob(t, "GitRemote", map[string]string{"Url": url, "BranchName": "main", "CredentialsSecret": "deploy-key"})
	job.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
	res := mustRun(t, p, job)
	if res.OutputVariables["CommitId"] != id || res.OutputVariables["Url"] != url ||
		res.OutputVariables["RepositoryName"] != strings.TrimPrefix(r.dir, "/") {
		t.Errorf("output variables %q", res.OutputVariables)
	}

	args := readFile(t, record+".args")
	for _, want := range []string{"IdentitiesOnly=yes", "StrictHostKeyChecking=accept-new", "UserKnownHostsFile=" + job.ScratchDir, "-i\n" + job.ScratchDir, "git@git.example.test"} {
		if !strings.Contains(args, want) {
			t.Errorf("ssh arguments lack %q:\n%s", want, args)
		}
	}
	if got := strings.TrimSpace(readFile(t, record+".keymode")); got != "600" {
		t.Errorf("key file mode %s, want 600", got)
	}
	if got := readFile(t, record+".key"); got != key+"\n" {
		t.Errorf("key file holds %q", got)
	}
	if strings.Contains(log.String(), "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ") {
		t.Errorf("log shows the key:\n%s", log)
	}
}

func TestRemoteSSHWithoutKeyUsesNoIdentity(t *testing.T) {
	t.Parallel()
	r, _ := sampleRepo(t)
	bin, record := fakeSSH(t)
	job, _ := newJob(t, "GitRemote", map[string]string{"Url": "git@git.example.test:" + r.dir, "BranchName": "main"})
	job.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "SSH_AUTH_SOCK=/tmp/agent.sock", "GIT_SSH_COMMAND=evil"}
	res := mustRun(t, &gitsource.Provider{}, job)
	if got, want := res.OutputVariables["RepositoryName"], strings.TrimPrefix(r.dir, "/"); got != want {
		t.Errorf("RepositoryName = %q, want %q", got, want)
	}
	args := readFile(t, record+".args")
	for _, want := range []string{"IdentityFile=none", "IdentityAgent=none", "BatchMode=yes"} {
		if !strings.Contains(args, want) {
			t.Errorf("ssh arguments lack %q:\n%s", want, args)
		}
	}
}
