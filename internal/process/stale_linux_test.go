package process

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestStaleSandbox(t *testing.T) {
	for _, c := range []struct {
		cmdline string
		want    bool
	}{
		{"/usr/bin/bwrap\x00--bind\x00/w/job-1\x00/src\x00sh\x00", true},
		{"bwrap\x00--bind\x00/w\x00/x\x00", true},
		{"/usr/bin/bwrap\x00--bind\x00/work/job-1\x00/src\x00", false}, // /work is not under /w
		{"/bin/sleep\x00/w/job-1\x00", false},                          // not bubblewrap
		{"", false},
	} {
		if got := staleSandbox([]byte(c.cmdline), "/w"); got != c.want {
			t.Errorf("staleSandbox(%q) = %v, want %v", c.cmdline, got, c.want)
		}
	}
}

// A bubblewrap process binding a directory under the work root is killed;
// one binding a directory elsewhere is left alone.
func TestKillStale(t *testing.T) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bubblewrap not installed")
	}
	work, other := t.TempDir(), t.TempDir()
	start := func(dir string) *exec.Cmd {
		job := filepath.Join(dir, "job-1")
		if err := os.MkdirAll(job, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bwrap, "--ro-bind", "/", "/", "--bind", job, "/tmp", "--dev", "/dev", "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed in its set-up, bubblewrap's child would stay blocked:
		// everything under dir goes.
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); KillStale(dir) })
		return cmd
	}
	stale, alive := start(work), start(other)
	if n := KillStale(work); n < 1 {
		t.Fatalf("KillStale killed %d processes, want the sandbox under %s", n, work)
	}
	done := make(chan error, 1)
	go func() { done <- stale.Wait() }()
	select {
	case err := <-done:
		if ws, ok := stale.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the stale sandbox ended with %v, want SIGKILL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stale sandbox is still running")
	}
	if err := alive.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the sandbox under another directory was killed: %v", err)
	}
}

// Workers may share a work directory (each job has a directory of its own
// in it): a worker starting beside a live one must not take that one's
// running sandboxes for leftovers. KillStaleAlone kills only when no other
// live worker holds the directory, as the first one to start does.
func TestKillStaleSparesALiveWorkersSandboxes(t *testing.T) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bubblewrap not installed")
	}
	work := t.TempDir()
	first, release, err := KillStaleAlone(work)
	if err != nil || first != 0 {
		t.Fatalf("the first worker: killed %d, %v", first, err)
	}
	job := filepath.Join(work, "job-1")
	if err := os.MkdirAll(job, 0o700); err != nil {
		t.Fatal(err)
	}
	// The first worker's running sandbox.
	cmd := exec.Command(bwrap, "--ro-bind", "/", "/", "--bind", job, "/tmp", "--dev", "/dev", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); KillStale(work) }) // and a child left blocked in set-up
	n, release2, err := KillStaleAlone(work)
	if err != nil {
		t.Fatal(err)
	}
	release2()
	if n != 0 {
		t.Fatalf("a second worker on the same directory killed %d of the first one's sandboxes", n)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the live worker's sandbox was killed: %v", err)
	}
	// Once the first worker is gone, what it left is stale.
	release()
	n, release3, err := KillStaleAlone(work)
	if err != nil {
		t.Fatal(err)
	}
	defer release3()
	if n < 1 {
		t.Fatalf("the worker alone on the directory killed %d, want the leftover sandbox", n)
	}
}
