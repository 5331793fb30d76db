//go:build linux

package process

import (
	"path/filepath"
	"testing"
	"time"
)

// A prepared sandbox whose set-up never ends (bubblewrap stuck, as
// KillStale describes) is given up on when its job comes: take used to
// wait for the waiting shell's word without end, and the job with it,
// deaf to its cancel and its deadline.
func TestTakeGivesUpOnAStuckSandbox(t *testing.T) {
	defer func(d time.Duration) { readyTimeout = d }(readyTimeout)
	readyTimeout = 50 * time.Millisecond
	dir := t.TempDir()
	// Never says it is ready on fd 4.
	p, err := startPrepared([]string{"/bin/sh", "-c", "exec sleep 600", "sh"}, dir, nil, filepath.Join(dir, ".sluice-output"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.discard()
	taken := make(chan bool)
	go func() { taken <- p.take() }()
	select {
	case ok := <-taken:
		if ok {
			t.Fatal("a sandbox that never got ready was handed a job")
		}
	case <-time.After(time.Minute):
		t.Fatal("take still waits for a sandbox that never gets ready")
	}
}
