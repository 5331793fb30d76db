package worker

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/commands"
	"github.com/sluice-ci/sluice/internal/sandbox"
	"github.com/sluice-ci/sluice/internal/wire"
)

// processesWith lists the processes whose command line holds marker.
func processesWith(marker string) []int {
	return process.Matching(func(cmdline []byte) bool { return bytes.Contains(cmdline, []byte(marker)) })
}

// In a prepared sandbox, bubblewrap (the PID namespace's init, which the
// job sees as process 1) was started with the waiting shell's script.
const (
	inPrepared = `tr '\0' ' ' </proc/1/cmdline | grep -q 'dev/fd/3'`
	onlyLo     = `test "$(tail -n +3 /proc/net/dev | wc -l)" = 1`
)

// The attacker is a pipeline's author, whose jobs run one after another on
// a worker that prepares their sandboxes ahead. A job that leaves a daemon
// (out of its process group) and files in /tmp, its HOME and its workspace
// must not reach the next job, which runs in a sandbox prepared while the
// first ran, nor a later one in a job directory kept because a job left it
// empty. A job whose network is off never gets a sandbox prepared with
// the network: it starts its own, and those prepared after it have none.
// When the worker stops, no sandbox it prepared is left running, and their
// directories are gone.
func TestPreparedSandboxes(t *testing.T) {
	if path, _ := sandbox.Detect(""); path == "" {
		t.Skip("bubblewrap does not work here")
	}
	workRoot := t.TempDir()
	iso, err := sandbox.New(sandbox.Auto, "", workRoot)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.ReadDir("/sys/class/net")
	job := func(id string, networkOff bool, lines ...string) *wire.Job {
		j := &wire.Job{ID: id, ActionTypeID: wire.ActionTypeID{Provider: "Commands"}, Commands: lines, Configuration: map[string]string{}}
		if networkOff {
			j.Configuration[commands.ConfigNetwork] = "false"
		}
		return j
	}
	const daemon = "876543"
	api := newFakeAPI()
	api.jobs = []*wire.Job{
		job("leaves", false, inPrepared,
			`setsid sleep `+daemon+` </dev/null >/dev/null 2>&1 &`,
			`echo left >/tmp/left; echo left >"$HOME/left"; echo left >left`),
		job("next", false, inPrepared,
			`! pgrep -f `+daemon,
			`test ! -e /tmp/left && test ! -e "$HOME/left" && test -z "$(ls -A)"`),
		// Perhaps in the directory "next" left empty, kept for it.
		job("next-again", false, inPrepared,
			`! pgrep -f `+daemon,
			`test -z "$(ls -A "$HOME")" && test -z "$(ls -A)"`),
		job("offline", true, `! `+inPrepared, onlyLo),
		job("offline-again", true, inPrepared, onlyLo),
	}
	if len(host) > 1 {
		api.jobs = append(api.jobs, job("online", false, `! `+inPrepared, `! `+onlyLo))
	}
	n := len(api.jobs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &Worker{ID: "w1", API: api, Providers: map[string]provider.Provider{"Commands": commands.Provider{Isolation: iso}},
		WorkRoot: workRoot, BaseEnv: []string{"PATH=/usr/bin:/bin"}, LogFlush: time.Hour}
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	for i := range n {
		res := waitResult(t, api)
		if !res.Succeeded {
			t.Fatalf("job %d: %s\n%s%s", i+1, res.Message, api.sent(), res.Log)
		}
	}
	// The worker waits for its next job, with sandboxes prepared for it.
	api.waitCall(t, "claim")
	deadline := time.Now().Add(20 * time.Second)
	for len(processesWith(workRoot)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no sandbox prepared for the next job")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if left := processesWith(workRoot); len(left) > 0 {
		t.Fatalf("processes left after the worker stopped: %v", left)
	}
	if left, _ := os.ReadDir(workRoot); len(left) > 0 {
		t.Fatalf("left in the work directory: %v", left)
	}
}
