package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/wire"
)

// benchGates measures how fast a gate lets its pipeline go once the upstream
// execution ends: the bench plays infra's worker over the job protocol, so
// "ends" is the moment it reports the job's success, and the gate's release is
// read from k8s's execution through the API's long poll. Server-side times
// (the gate action's last update minus infra's) are reported beside them.
func benchGates(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 100
	}
	c, cleanup, err := startServer(ctx, 0)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := apply(ctx, c, "name: infra\nexecutionMode: PARALLEL\nstages:\n  - name: Deploy\n    actions:\n      - name: apply\n        provider: Noop\n"); err != nil {
		return err
	}
	if err := apply(ctx, c, "name: k8s\nexecutionMode: PARALLEL\nstages:\n  - name: Wait\n    actions:\n      - name: infra\n        provider: PipelineGate\n        configuration: {PipelineName: infra, Condition: Idle}\n  - name: Deploy\n    actions:\n      - name: ship\n        provider: Noop\n"); err != nil {
		return err
	}
	var client_, server_ []time.Duration
	for range runs {
		seen, released, err := gateRound(ctx, c, c)
		if err != nil {
			return err
		}
		client_, server_ = append(client_, seen), append(server_, released)
	}
	fmt.Printf("gate release (%d runs), upstream job success reported -> gated action Succeeded seen by a client: median %s, p90 %s, max %s; server side (upstream ended -> gate released): median %s, p90 %s\n",
		runs, ms(percentile(client_, 0.5)), ms(percentile(client_, 0.9)), ms(percentile(client_, 1)),
		ms(percentile(server_, 0.5)), ms(percentile(server_, 0.9)))
	return nil
}

// gateRound runs infra once through up, playing its worker, with a k8s
// execution started through down waiting at the gate; it returns how long
// after infra's job success was reported to up a client long-polling down
// saw the gate pass, and the server's own time from infra's end to the
// gate's release.
func gateRound(ctx context.Context, up, down *client.Client) (seen, released time.Duration, err error) {
	claim := wire.ClaimRequest{WorkerID: "bench", Providers: []string{"Noop"}, WaitSeconds: 10}
	infra, err := up.Start(ctx, "infra", wire.StartRequest{})
	if err != nil {
		return 0, 0, err
	}
	job, err := up.ClaimJob(ctx, claim)
	if err != nil || job == nil || job.PipelineName != "infra" {
		return 0, 0, fmt.Errorf("infra's job: %v", err)
	}
	k8s, err := down.Start(ctx, "k8s", wire.StartRequest{})
	if err != nil {
		return 0, 0, err
	}
	if _, err := waitAction(ctx, down, "k8s", k8s, "infra", func(a wire.ActionExecution) bool {
		return strings.HasPrefix(a.Summary, "waiting for infra execution")
	}); err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	if err := up.CompleteJob(ctx, job.ID, wire.JobResult{WorkerID: "bench", Succeeded: true}); err != nil {
		return 0, 0, err
	}
	e, err := waitAction(ctx, down, "k8s", k8s, "infra", func(a wire.ActionExecution) bool { return a.Status == "Succeeded" })
	if err != nil {
		return 0, 0, err
	}
	seen = time.Since(t0)
	ended, err := up.Execution(ctx, "infra", infra, time.Time{}, 0)
	if err != nil {
		return 0, 0, err
	}
	released = e.Stages[0].Actions[0].LastUpdateTime.Sub(ended.LastUpdateTime)
	// k8s's own Noop, so that nothing is left running for the next round.
	if job, err = down.ClaimJob(ctx, claim); err != nil || job == nil {
		return 0, 0, fmt.Errorf("k8s's job: %v", err)
	}
	return seen, released, down.CompleteJob(ctx, job.ID, wire.JobResult{WorkerID: "bench", Succeeded: true})
}

// waitAction long-polls an execution until its action (in any stage) meets ok.
func waitAction(ctx context.Context, c *client.Client, name, id, action string, ok func(wire.ActionExecution) bool) (*wire.Execution, error) {
	var since time.Time
	for {
		e, err := c.Execution(ctx, name, id, since, 30*time.Second)
		if err != nil {
			return nil, err
		}
		for _, st := range e.Stages {
			for _, a := range st.Actions {
				if a.Name == action && ok(a) {
					return e, nil
				}
			}
		}
		if e.Terminal() {
			return nil, fmt.Errorf("%s execution %s ended %s (%s) before action %s was ready", name, id, e.Status, e.StatusSummary, action)
		}
		since = e.LastUpdateTime
	}
}

// benchWaiting parks 500 executions on a gate and 500 in a lock's queue, all
// at once, and reads the memory of the process holding the server (the bench
// itself, so the figure includes the client). Nothing holds a worker while it
// waits; then both are released and the time for all 1,000 to finish is taken.
func benchWaiting(ctx context.Context, runs int) error {
	n := 500
	if runs > 0 {
		n = runs
	}
	c, cleanup, err := startServer(ctx, 2)
	if err != nil {
		return err
	}
	defer cleanup()
	for _, src := range []string{
		"name: infra\nstages:\n  - name: Approve\n    actions:\n      - name: go\n        provider: Manual\n",
		"name: holder\nlock: env\nstages:\n  - name: Approve\n    actions:\n      - name: go\n        provider: Manual\n",
		"name: gated\nexecutionMode: PARALLEL\nstages:\n  - name: Wait\n    actions:\n      - name: infra\n        provider: PipelineGate\n        configuration: {PipelineName: infra, Condition: Idle}\n  - name: Run\n    actions:\n      - name: run\n        provider: Noop\n",
		"name: locked\nexecutionMode: PARALLEL\nlock: env\nstages:\n  - name: Run\n    actions:\n      - name: run\n        provider: Noop\n",
	} {
		if err := apply(ctx, c, src); err != nil {
			return err
		}
	}
	infra, err := c.Start(ctx, "infra", wire.StartRequest{})
	if err != nil {
		return err
	}
	holder, err := c.Start(ctx, "holder", wire.StartRequest{})
	if err != nil {
		return err
	}
	t0 := time.Now()
	var ids = map[string][]string{}
	for _, p := range []string{"gated", "locked"} {
		for range n {
			id, err := c.Start(ctx, p, wire.StartRequest{})
			if err != nil {
				return err
			}
			ids[p] = append(ids[p], id)
		}
	}
	// All waiting: the last gate says what it waits for, the lock's queue is full.
	if _, err := waitAction(ctx, c, "gated", ids["gated"][n-1], "infra", func(a wire.ActionExecution) bool {
		return strings.HasPrefix(a.Summary, "waiting for infra execution")
	}); err != nil {
		return err
	}
	for {
		locks, err := c.Locks(ctx)
		if err != nil {
			return err
		}
		if len(locks) == 1 && len(locks[0].Queue) == n {
			break
		}
		if time.Since(t0) > 5*time.Minute {
			return fmt.Errorf("the lock's queue never filled: %+v", locks)
		}
		time.Sleep(50 * time.Millisecond) // polling the lock's queue while the starts settle, bounded above
	}
	parked := time.Since(t0)
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rss, hwm := procStatus("VmRSS:"), procStatus("VmHWM:")
	fmt.Printf("%d executions waiting (%d on a gate, %d for a lock), started in %s: RSS %s (peak %s), Go heap in use %.1f MB, no job claimed by a worker\n",
		2*n, n, n, ms(parked), rss, hwm, float64(m.HeapInuse)/1e6)

	t1 := time.Now()
	for _, r := range []struct{ pipeline, id string }{{"infra", infra}, {"holder", holder}} {
		e, err := c.Execution(ctx, r.pipeline, r.id, time.Time{}, 0)
		if err != nil {
			return err
		}
		req := wire.ApprovalResult{StageName: "Approve", ActionName: "go", Token: e.Stages[0].Actions[0].Token}
		req.Result.Status = "Approved"
		if err := c.PutApprovalResult(ctx, r.pipeline, req); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	sem := make(chan struct{}, 16)
	for p, list := range ids {
		for _, id := range list {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				e, err := waitDone(ctx, c, p, id)
				if err == nil && e.Status != "Succeeded" {
					err = fmt.Errorf("%s execution %s ended %s: %s", p, id, e.Status, e.StatusSummary)
				}
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	fmt.Printf("released: all %d finished %s after the two approvals (gates at once, the lock one execution at a time); peak RSS %s\n",
		2*n, ms(time.Since(t1)), procStatus("VmHWM:"))
	return nil
}

func procStatus(field string) string {
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, field) {
			return strings.TrimSpace(strings.TrimPrefix(line, field))
		}
	}
	return "?"
}
