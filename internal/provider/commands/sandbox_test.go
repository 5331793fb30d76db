package commands

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

func sandboxJob(t *testing.T, commands ...string) (*provider.Job, *bytes.Buffer) {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, "src")
	scratch := t.TempDir()
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	log := &bytes.Buffer{}
	return &provider.Job{WorkDir: src, ScratchDir: scratch, Commands: commands, Log: log,
		Env: []string{"PATH=/usr/bin:/bin", "HOME=/root"}}, log
}

func TestProviderRunsCommandsInTheSandbox(t *testing.T) {
	if path, _ := sandbox.Detect(""); path == "" {
		t.Skip("bubblewrap does not work here")
	}
	iso, err := sandbox.New(sandbox.Auto, "")
	if err != nil {
		t.Fatal(err)
	}
	uid := os.Getuid()
	if uid == 0 {
		uid = sandbox.BuildUID // root's jobs never run as root
	}
	job, log := sandboxJob(t,
		`test "$HOME" != /root && touch "$HOME/h" /tmp/t made`,
		`test ! -e /root && ! cat /etc/shadow 2>/dev/null`,
		`test $$ -lt 10`,
		`test "$(id -u)" = `+strconv.Itoa(uid),
	)
	job.OutputVariables = []string{"HOME"}
	res, err := (Provider{Isolation: iso}).Run(context.Background(), job)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if _, err := os.Stat(filepath.Join(job.WorkDir, "made")); err != nil {
		t.Fatalf("the workspace was not writable: %v\n%s", err, log)
	}
	if res.OutputVariables["HOME"] != filepath.Join(filepath.Dir(job.WorkDir), "home") {
		t.Fatalf("HOME = %q, want the job's private one", res.OutputVariables["HOME"])
	}
}

func TestProviderRefusesWithoutSandbox(t *testing.T) {
	iso, err := sandbox.New(sandbox.Auto, filepath.Join(t.TempDir(), "no-bwrap"))
	if err != nil {
		t.Fatal(err)
	}
	job, _ := sandboxJob(t, "touch ran")
	_, err = (Provider{Isolation: iso}).Run(context.Background(), job)
	if err == nil || !strings.Contains(err.Error(), "--isolation none") {
		t.Fatalf("ran without a sandbox: %v", err)
	}
	if _, err := os.Stat(filepath.Join(job.WorkDir, "ran")); err == nil {
		t.Fatal("a command ran")
	}
	none, _ := sandbox.New(sandbox.None, "")
	job, log := sandboxJob(t, "touch ran")
	if _, err := (Provider{Isolation: none}).Run(context.Background(), job); err != nil {
		t.Fatalf("--isolation none: %v\n%s", err, log)
	}
}
