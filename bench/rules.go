package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// benchRules measures how fast an event rule delivers: the bench plays a
// Noop pipeline's worker over the job protocol, and a rule on the pipeline's
// SUCCEEDED events sends them to a webhook receiver in this process; the time
// is from reporting the job's success to the receiver holding the event. The
// server side (the event's own time to its arrival) is reported beside it.
func benchRules(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 100
	}
	type arrival struct {
		id     string
		at     time.Time
		evTime time.Time
	}
	arrivals := make(chan arrival, runs)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Time   time.Time `json:"time"`
			Detail struct {
				ExecutionID string `json:"execution-id"`
			} `json:"detail"`
		}
		json.Unmarshal(body, &ev)
		arrivals <- arrival{id: ev.Detail.ExecutionID, at: at, evTime: ev.Time}
	}))
	defer recv.Close()
	c, cleanup, err := startServer(ctx, 0)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := apply(ctx, c, "name: app\nexecutionMode: PARALLEL\nstages:\n  - name: Run\n    actions:\n      - name: noop\n        provider: Noop\n"); err != nil {
		return err
	}
	rule := fmt.Sprintf("name: app-succeeded\neventPattern:\n  detail-type: [CodePipeline Pipeline Execution State Change]\n"+
		"  detail: {pipeline: [app], state: [SUCCEEDED]}\ntargets:\n  - webhook: {url: %q}\n", recv.URL+"/hook")
	if _, err := c.ApplyRule(ctx, "rule.yml", []byte(rule)); err != nil {
		return err
	}
	time.Sleep(10 * time.Millisecond) // the rule sees events after it, to the millisecond
	claim := wire.ClaimRequest{WorkerID: "bench", Providers: []string{"Noop"}, WaitSeconds: 10}
	var lat, server []time.Duration
	for range runs {
		id, err := c.Start(ctx, "app", wire.StartRequest{})
		if err != nil {
			return err
		}
		job, err := c.ClaimJob(ctx, claim)
		if err != nil || job == nil {
			return fmt.Errorf("app's job: %v", err)
		}
		t0 := time.Now()
		if err := c.CompleteJob(ctx, job.ID, wire.JobResult{WorkerID: "bench", Succeeded: true}); err != nil {
			return err
		}
		select {
		case a := <-arrivals:
			if a.id != id {
				return fmt.Errorf("the receiver got execution %s, want %s", a.id, id)
			}
			lat = append(lat, a.at.Sub(t0))
			server = append(server, a.at.Sub(a.evTime))
		case <-time.After(30 * time.Second):
			return fmt.Errorf("execution %s: nothing reached the receiver in 30 s", id)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Printf("rule delivery (%d runs), job success reported -> webhook target holds the SUCCEEDED event: median %s, p90 %s, max %s; "+
		"the event's time -> its arrival: median %s, p90 %s\n",
		runs, ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)), ms(percentile(lat, 1)),
		ms(percentile(server, 0.5)), ms(percentile(server, 0.9)))
	return nil
}
