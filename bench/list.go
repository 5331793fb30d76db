package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// benchList times, over HTTP as a client sees it, ListPipelines at 1,000
// pipelines (every pipeline, and a page of 100), the console's list (its
// first and last page of 100) and GetPipelineState of a pipeline with -runs
// past executions (default 10,000). Each is compared with the same call at
// 1 pipeline in the same run: the floor of a call that reads almost nothing.
// Beside each median it prints the CPU this process (server and client)
// spent per call, which the machine's load disturbs far less, and for the
// console the server's own time (Server-Timing).
func benchList(ctx context.Context, runs int) error {
	executions := 10000
	if runs > 0 {
		executions = runs
	}
	c, base, token, cleanup, err := startServerURL(ctx, 4)
	if err != nil {
		return err
	}
	defer cleanup()
	con, err := signInConsole(ctx, base, token)
	if err != nil {
		return err
	}
	noop := "name: %s\nexecutionMode: PARALLEL\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\n"
	if err := apply(ctx, c, fmt.Sprintf(noop, "history")); err != nil {
		return err
	}
	// Run executions through the engine, 32 at a time.
	t0 := time.Now()
	if err := inParallel(executions, 32, func(int) error {
		id, err := c.Start(ctx, "history", wire.StartRequest{})
		if err == nil {
			_, err = waitDone(ctx, c, "history", id)
		}
		return err
	}); err != nil {
		return err
	}
	fmt.Printf("list: %d executions run in %s\n", executions, time.Since(t0).Round(time.Millisecond))
	state := func() error { _, err := c.State(ctx, "history"); return err }
	list := func() error { _, err := c.Pipelines(ctx); return err }
	page := func() error { _, _, err := c.PipelinePage(ctx, 100, ""); return err }
	// The console's list, as the browser gets it (the whole HTML page).
	consolePage := func(path string) func() (time.Duration, error) {
		return func() (time.Duration, error) { st, _, _, err := con.timedGet(ctx, path); return st, err }
	}
	oneState, err := timeCall(calls, state)
	if err != nil {
		return err
	}
	oneList, err := timeCall(calls, list)
	if err != nil {
		return err
	}
	oneConsole, err := timeServed(calls, consolePage("/ui/pipelines"))
	if err != nil {
		return err
	}
	for i := range 999 {
		if err := apply(ctx, c, fmt.Sprintf(noop, fmt.Sprintf("p%04d", i))); err != nil {
			return err
		}
	}
	// Each listed pipeline has run once, as in a real list: its row shows
	// that execution (all but history's 100 pipelines of the first page).
	t1 := time.Now()
	if err := inParallel(999, 32, func(i int) error {
		name := fmt.Sprintf("p%04d", i)
		id, err := c.Start(ctx, name, wire.StartRequest{})
		if err == nil {
			_, err = waitDone(ctx, c, name, id)
		}
		return err
	}); err != nil {
		return err
	}
	fmt.Printf("list: 999 pipelines declared and run once each in %s\n", time.Since(t1).Round(time.Millisecond))
	// What the executions left to do in the background (the reactor
	// following their events) is done before anything is measured.
	if err := settle(ctx); err != nil {
		return err
	}
	// Only the measured calls go into the profile -cpuprofile asks for.
	stopProfile := startProfile()
	all, err := timeCall(30, list)
	if err != nil {
		return err
	}
	paged, err := timeCall(calls, page)
	if err != nil {
		return err
	}
	manyState, err := timeCall(calls, state)
	if err != nil {
		return err
	}
	manyConsole, err := timeServed(calls, consolePage("/ui/pipelines"))
	if err != nil {
		return err
	}
	lastConsole, err := timeServed(calls, consolePage("/ui/pipelines?after=p0899"))
	if err != nil {
		return err
	}
	stopProfile()
	fmt.Printf("ListPipelines at 1,000 pipelines: every one %s, a page of 100 %s; at 1 pipeline %s\n", all, paged, oneList)
	fmt.Printf("the console's pipeline list at 1,000 pipelines (whole HTML page over HTTP): the first page (100) %s, the last (from p0900) %s; at 1 pipeline %s\n", manyConsole, lastConsole, oneConsole)
	fmt.Printf("GetPipelineState with %d past executions: %s at 1,000 pipelines, %s at 1 pipeline\n", executions, manyState, oneState)
	return nil
}

// settle waits until this process (the server) is idle: under 5% of a core
// over half a second, for at most 60 s.
func settle(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		before := processCPU()
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		if processCPU()-before < 25*time.Millisecond {
			return nil
		}
	}
	fmt.Println("list: the server did not settle within a minute; measuring anyway")
	return nil
}

// calls is how many times each call is timed (every pipeline at once: 30).
const calls = 200

// callTimes is what timeCall measured of n calls: the median wall time, the
// median the server says it spent (Server-Timing; 0 when not given), and the
// CPU of this process (server and client) per call.
type callTimes struct {
	wall, served, cpu time.Duration
}

func (t callTimes) String() string {
	s := fmt.Sprintf("median %s, CPU %s a call", ms(t.wall), ms(t.cpu))
	if t.served > 0 {
		s += fmt.Sprintf(", server %s (Server-Timing median)", ms(t.served))
	}
	return s
}

// timeCall times n calls of call.
func timeCall(n int, call func() error) (callTimes, error) {
	return timeServed(n, func() (time.Duration, error) { return 0, call() })
}

// timeServed times n calls of call, which returns the server's own time.
func timeServed(n int, call func() (time.Duration, error)) (callTimes, error) {
	var walls, served []time.Duration
	cpu0 := processCPU()
	for range n {
		t := time.Now()
		st, err := call()
		if err != nil {
			return callTimes{}, err
		}
		walls = append(walls, time.Since(t))
		served = append(served, st)
	}
	return callTimes{wall: percentile(walls, 0.5), served: percentile(served, 0.5), cpu: (processCPU() - cpu0) / time.Duration(n)}, nil
}
