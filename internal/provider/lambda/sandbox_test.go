package lambda

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/sandbox"
)

// In the sandbox too, what a function leaves running after exiting 0 lives
// on to answer later (the sandbox ends when its first process does, so the
// command runs under a keeper that waits for it).
func TestSandboxedBackgroundOutlivesTheCommand(t *testing.T) {
	if path, reason := sandbox.Detect(""); path == "" {
		t.Skip(reason)
	}
	iso, err := sandbox.New(sandbox.Auto, "")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	work, scratch := filepath.Join(root, "src"), filepath.Join(root, "scratch")
	for _, d := range []string{work, scratch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wrap, env, done, err := Provider{Isolation: iso}.sandboxed(root, scratch, []string{work}, work, "/bin/sh", []string{"PATH=/usr/bin:/bin"})
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	log := &lockedBuffer{}
	res, err := runCommand(t.Context(), commandRun{
		path: "/bin/sh", args: []string{"sh", "-c", `setsid sh -c 'while [ ! -e go ]; do sleep 0.05; done; echo late > late' </dev/null >/dev/null 2>&1 & echo early`},
		dir: work, env: env, stdin: devNull, log: log, grace: 100 * time.Millisecond, timeout: time.Minute, wrap: wrap,
	})
	if err != nil || res != (commandExit{}) {
		t.Fatalf("result %+v, %v\n%s", res, err, log)
	}
	if err := os.WriteFile(filepath.Join(work, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(work, "late")); err == nil && strings.TrimSpace(string(b)) == "late" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background process did not live on after the command exited 0\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "early") {
		t.Errorf("log = %q", log)
	}
}
