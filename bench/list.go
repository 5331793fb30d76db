package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// benchList times, over HTTP as a client sees it, ListPipelines at 1,000
// pipelines (every pipeline, and a page of 100) and GetPipelineState of a
// pipeline with -runs past executions (default 10,000). Each is compared
// with the same call at 1 pipeline / 1 execution in the same run: the floor
// of a call that reads almost nothing.
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
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	var first error
	sem := make(chan struct{}, 32)
	for i := 0; i < executions && first == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id, err := c.Start(ctx, "history", wire.StartRequest{})
			if err == nil {
				_, err = waitDone(ctx, c, "history", id)
			}
			if err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}()
		select {
		case first = <-errs:
		default:
		}
	}
	wg.Wait()
	if first != nil {
		return first
	}
	fmt.Printf("list: %d executions run in %s\n", executions, time.Since(t0).Round(time.Millisecond))
	timeCall := func(n int, call func() error) (time.Duration, error) {
		var ds []time.Duration
		for range n {
			t := time.Now()
			if err := call(); err != nil {
				return 0, err
			}
			ds = append(ds, time.Since(t))
		}
		return percentile(ds, 0.5), nil
	}
	state := func() error { _, err := c.State(ctx, "history"); return err }
	list := func() error { _, err := c.Pipelines(ctx); return err }
	page := func() error { _, _, err := c.PipelinePage(ctx, 100, ""); return err }
	oneState, err := timeCall(50, state)
	if err != nil {
		return err
	}
	oneList, err := timeCall(50, list)
	if err != nil {
		return err
	}
	// The console's list, as the browser gets it (the whole HTML page).
	consolePage := func() error { _, _, _, err := con.timedGet(ctx, "/ui/pipelines"); return err }
	oneConsole, err := timeCall(50, consolePage)
	if err != nil {
		return err
	}
	for i := range 999 {
		if err := apply(ctx, c, fmt.Sprintf(noop, fmt.Sprintf("p%04d", i))); err != nil {
			return err
		}
	}
	all, err := timeCall(30, list)
	if err != nil {
		return err
	}
	paged, err := timeCall(50, page)
	if err != nil {
		return err
	}
	manyState, err := timeCall(50, state)
	if err != nil {
		return err
	}
	manyConsole, err := timeCall(50, consolePage)
	if err != nil {
		return err
	}
	lastConsole, err := timeCall(50, func() error { _, _, _, err := con.timedGet(ctx, "/ui/pipelines?after=p0899"); return err })
	if err != nil {
		return err
	}
	fmt.Printf("ListPipelines at 1,000 pipelines: every one %s, a page of 100 %s; at 1 pipeline %s (medians)\n", ms(all), ms(paged), ms(oneList))
	fmt.Printf("the console's pipeline list at 1,000 pipelines: the first page (100) %s, the last (from p0900) %s; at 1 pipeline %s (medians, whole HTML page over HTTP)\n", ms(manyConsole), ms(lastConsole), ms(oneConsole))
	fmt.Printf("GetPipelineState with %d past executions: %s at 1,000 pipelines, %s at 1 pipeline (medians)\n", executions, ms(manyState), ms(oneState))
	return nil
}
