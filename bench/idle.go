package main

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
)

// benchIdle declares 1,000 pipelines (a source, a build, a deploy each; no
// rules), lets the server and its in-process workers sit idle, and reports the
// CPU the whole process used meanwhile. Its floor, measured in the same run,
// is a `sleep` process idle for as long.
func benchIdle(ctx context.Context, runs int) error {
	idle := 60 * time.Second
	if runs > 0 {
		idle = time.Duration(runs) * time.Second
	}
	c, cleanup, err := startServer(ctx, 4)
	if err != nil {
		return err
	}
	defer cleanup()
	const pipelines = 1000
	t0 := time.Now()
	if err := declareIdle(ctx, c, pipelines); err != nil {
		return err
	}
	fmt.Printf("idle: %d pipelines declared in %s\n", pipelines, time.Since(t0).Round(time.Millisecond))
	// Let what declaring started settle before measuring.
	time.Sleep(2 * time.Second)
	stopProfile := startProfile() // only the idle window, when -cpuprofile asks
	before := cpuSelf()
	floor := exec.CommandContext(ctx, "sleep", fmt.Sprint(idle.Seconds()))
	if err := floor.Start(); err != nil {
		return err
	}
	t1 := time.Now()
	if err := floor.Wait(); err != nil {
		return err
	}
	used := cpuSelf() - before
	stopProfile()
	floorCPU := floor.ProcessState.UserTime() + floor.ProcessState.SystemTime()
	fmt.Printf("idle: server with %d pipelines, no rules, 4 in-process workers, idle %s: %s of CPU (%.3f%% of one core); the floor, `sleep` as long: %s\n",
		pipelines, time.Since(t1).Round(time.Millisecond), used.Round(time.Millisecond), 100*used.Seconds()/time.Since(t1).Seconds(), floorCPU.Round(time.Millisecond))
	return nil
}

// declareIdle declares n pipelines of a build and a deploy stage, idle0000
// and on, that no one runs or follows.
func declareIdle(ctx context.Context, c *client.Client, n int) error {
	for i := range n {
		src := fmt.Sprintf("name: idle%04d\nstages:\n  - name: Build\n    actions:\n      - name: build\n        provider: Commands\n        commands: [\"true\"]\n  - name: Deploy\n    actions:\n      - name: deploy\n        provider: Noop\n", i)
		if err := apply(ctx, c, src); err != nil {
			return err
		}
	}
	return nil
}

// cpuSelf is the CPU time (user + system) this process has used so far.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
