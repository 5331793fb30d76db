package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// benchCLI times whole `sluice` processes — `--help`, and `status` of a
// pipeline against a real server — against the floor of starting a process
// that does nothing (/bin/true), alternating them in the same run.
func benchCLI(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 50
	}
	dir, err := os.MkdirTemp("", "sluice-bench-cli-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildSluice(ctx, dir)
	if err != nil {
		return err
	}
	c, url, token, cleanup, err := startServerURL(ctx, 1)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := apply(ctx, c, sequentialPipeline("cli", 3, "        provider: Noop\n")); err != nil {
		return err
	}
	env := append(os.Environ(), "SLUICE_SERVER="+url, "SLUICE_TOKEN="+token)
	// run gives the process's wall time and its CPU time (user + system),
	// which a shared machine's load disturbs much less than wall time.
	run := func(name string, args ...string) (wall, cpu time.Duration, err error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = env
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		wall = time.Since(t0)
		if err != nil {
			return 0, 0, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
	}
	type samples struct{ wall, cpu []time.Duration }
	var floor, help, status samples
	for range runs {
		for _, m := range []struct {
			into *samples
			name string
			args []string
		}{
			{&floor, "/bin/true", nil},
			{&help, bin, []string{"--help"}},
			{&status, bin, []string{"status", "cli"}},
		} {
			w, c, err := run(m.name, m.args...)
			if err != nil {
				return err
			}
			m.into.wall, m.into.cpu = append(m.into.wall, w), append(m.into.cpu, c)
		}
	}
	fw, fc := percentile(floor.wall, 0.5), percentile(floor.cpu, 0.5)
	for _, r := range []struct {
		what string
		s    samples
	}{{"sluice --help", help}, {"sluice status (3 actions, real server)", status}} {
		w, c := percentile(r.s.wall, 0.5), percentile(r.s.cpu, 0.5)
		fmt.Printf("%s: wall median %s (p10 %s, p90 %s), /bin/true %s: %.1f× the floor; CPU median %s, /bin/true %s\n",
			r.what, ms(w), ms(percentile(r.s.wall, 0.1)), ms(percentile(r.s.wall, 0.9)), ms(fw), float64(w)/float64(fw), ms(c), ms(fc))
	}
	return nil
}
