package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

// benchSandbox measures one job's sandbox alone, as a worker runs a
// Commands job's script (`true`) with process.RunShell: unsandboxed (the
// floor), in a sandbox started cold, and in one prepared ahead of the job
// (given 20 ms to be set up, as the time between a worker's jobs gives
// it). The wall time is the job's path from the sandbox's start (or hand
// over) to its end. The CPU is the bench's and its waited-for children's,
// which counts what runs inside bubblewrap only as far as it is waited for
// there: compare it between runs, not with other benchmarks'. The prepared
// one's includes preparing and ending it.
func benchSandbox(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 30
	}
	iso, err := sandbox.New(isolation, "")
	if err != nil {
		return err
	}
	if !iso.Enabled() {
		return errors.New("no sandbox here: " + iso.Describe())
	}
	base, err := os.MkdirTemp("", "sluice-bench-sandbox-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	env := []string{"PATH=/usr/bin:/bin"}
	// dirs makes a job's directory (with src) and scratch directory, and
	// writes its script.
	dirs := func() (root, scratch, script string, err error) {
		if root, err = os.MkdirTemp(base, "job-"); err != nil {
			return
		}
		if scratch, err = os.MkdirTemp(base, "scratch-"); err != nil {
			return
		}
		script = filepath.Join(scratch, "script.sh")
		if err = os.WriteFile(script, []byte("true\n"), 0o644); err != nil {
			return
		}
		err = os.Mkdir(filepath.Join(root, "src"), 0o755)
		return
	}
	run := func(shell process.Shell) error {
		out, err := process.RunShell(ctx, shell)
		if err == nil && out.ExitCode != 0 {
			err = fmt.Errorf("the job's shell exited with %d", out.ExitCode)
		}
		return err
	}
	var floor, cold, warm []time.Duration
	var floorCPU, coldCPU, warmCPU time.Duration
	for range runs {
		root, scratch, script, err := dirs()
		if err != nil {
			return err
		}
		c0, t0 := cpuWithChildren(), time.Now()
		if err := run(process.Shell{Path: "/bin/sh", Script: script, Dir: filepath.Join(root, "src"), Env: env}); err != nil {
			return err
		}
		floor, floorCPU = append(floor, time.Since(t0)), floorCPU+cpuWithChildren()-c0

		if root, scratch, script, err = dirs(); err != nil {
			return err
		}
		c0, t0 = cpuWithChildren(), time.Now()
		box, err := process.Sandbox(iso, root, scratch, []string{filepath.Join(root, "src")}, env, true)
		if err != nil {
			return err
		}
		err = run(process.Shell{Path: "/bin/sh", Script: script, Dir: filepath.Join(root, "src"), Env: box.Env, Wrap: box.Args, User: box.User})
		box.Close()
		if err != nil {
			return err
		}
		cold, coldCPU = append(cold, time.Since(t0)), coldCPU+cpuWithChildren()-c0

		if root, scratch, _, err = dirs(); err != nil {
			return err
		}
		c0 = cpuWithChildren()
		p, err := process.Prepare(iso, root, scratch, true)
		if err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
		t0 = time.Now()
		jb, err := p.Job([]string{filepath.Join(root, "src")}, env)
		if err == nil {
			err = run(process.Shell{Path: "/bin/sh", Script: filepath.Join(scratch, "script.sh"), Dir: filepath.Join(root, "src"), Env: jb.Env, User: jb.User, Prepared: jb.Prepared})
		}
		warm = append(warm, time.Since(t0))
		p.Discard()
		warmCPU += cpuWithChildren() - c0
		if err != nil {
			return err
		}
	}
	n := time.Duration(runs)
	fmt.Printf("a `true` job (%d runs), median wall / CPU a job: unsandboxed %s / %s; sandbox started cold %s / %s; prepared ahead %s / %s (CPU: the bench process and its waited-for children; the prepared one with preparing and ending it)\n",
		runs, ms(percentile(floor, 0.5)), ms(floorCPU/n), ms(percentile(cold, 0.5)), ms(coldCPU/n), ms(percentile(warm, 0.5)), ms(warmCPU/n))
	return nil
}
