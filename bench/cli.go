package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// againstBin is the -against flag: a sluice binary built from another tree
// (say main before a change), timed alternately with this tree's so that
// both see the same load.
var againstBin string

// benchCLI times whole `sluice` processes — `--help`, and `status` of a
// pipeline against a real server — against the floor of starting a process
// that does nothing (/bin/true), alternating them in the same run.
func benchCLI(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 50
	}
	dir, bin, err := buildSluice(ctx, "cli")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The client alone (go build -tags sluiceclient): what the commands that
	// only talk to a server would cost in a binary of their own.
	clientBin := filepath.Join(dir, "sluice-client")
	if out, err := exec.CommandContext(ctx, "go", "build", "-tags", "sluiceclient", "-o", clientBin, "./cmd/sluice").CombinedOutput(); err != nil {
		return fmt.Errorf("build the client: %v\n%s", err, out)
	}
	// A Go program that prints a line: the floor of any Go binary's start
	// (the runtime, no packages of ours).
	hello := filepath.Join(dir, "hello")
	if err := os.WriteFile(hello+".go", []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"), 0o644); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", hello, hello+".go").CombinedOutput(); err != nil {
		return fmt.Errorf("build hello: %v\n%s", err, out)
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
	var floor, goFloor, help, status, clientHelp, clientStatus, againstHelp, againstStatus samples
	type measure struct {
		into *samples
		name string
		args []string
	}
	measures := []measure{
		{&floor, "/bin/true", nil},
		{&goFloor, hello, nil},
		{&help, bin, []string{"--help"}},
		{&status, bin, []string{"status", "cli"}},
		{&clientHelp, clientBin, []string{"--help"}},
		{&clientStatus, clientBin, []string{"status", "cli"}},
	}
	if againstBin != "" {
		measures = append(measures, measure{&againstHelp, againstBin, []string{"--help"}}, measure{&againstStatus, againstBin, []string{"status", "cli"}})
	}
	for range runs {
		for _, m := range measures {
			w, c, err := run(m.name, m.args...)
			if err != nil {
				return err
			}
			m.into.wall, m.into.cpu = append(m.into.wall, w), append(m.into.cpu, c)
		}
	}
	fw, fc := percentile(floor.wall, 0.5), percentile(floor.cpu, 0.5)
	gw, gc := percentile(goFloor.wall, 0.5), percentile(goFloor.cpu, 0.5)
	fmt.Printf("floors: /bin/true wall %s, CPU %s; a Go hello-world wall %s, CPU %s (medians of %d)\n", ms(fw), ms(fc), ms(gw), ms(gc), runs)
	type result struct {
		what string
		s    samples
	}
	results := []result{{"sluice --help", help}, {"sluice status (3 actions, real server)", status},
		{"client-only build (-tags sluiceclient) --help", clientHelp}, {"client-only build status", clientStatus}}
	if againstBin != "" {
		results = append(results, result{"-against binary --help", againstHelp}, result{"-against binary status", againstStatus})
	}
	for _, r := range results {
		w, c := percentile(r.s.wall, 0.5), percentile(r.s.cpu, 0.5)
		fmt.Printf("%s: wall median %s (p10 %s, p90 %s): %.1f× /bin/true, %.1f× the Go hello-world; CPU median %s (p10 %s): %.1f× the Go hello-world's\n",
			r.what, ms(w), ms(percentile(r.s.wall, 0.1)), ms(percentile(r.s.wall, 0.9)), float64(w)/float64(fw), float64(w)/float64(gw),
			ms(c), ms(percentile(r.s.cpu, 0.1)), float64(c)/float64(gc))
	}
	return nil
}
