package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api"
	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/wire"
)

// newService is a service over a real SQLite store in a temporary
// directory, with its artifacts on disk there.
func newService(t *testing.T) (store.Store, *service.Service) {
	t.Helper()
	st, arts := servicetest.Stores(t)
	return st, service.New(st, arts, service.Config{Lease: 30 * time.Second})
}

// jobServer is an API over a real SQLite store with a two-action
// sequential pipeline "seq", a worker token and a token allowed to report
// results but not to claim jobs.
func jobServer(t *testing.T) (*httptest.Server, *service.Service, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, svc := newService(t)
	for _, tok := range []store.Token{
		{Name: "w", Hash: auth.HashToken("worker-token"), Policy: iam.PolicyWorker},
		{Name: "op", Hash: auth.HashToken("operator-token"), Policy: iam.PolicyOperator},
		{Name: "results-only", Hash: auth.HashToken("results-token"), Policy: "results.json",
			PolicyDocument: `{"Statement":[{"Effect":"Allow","Action":["sluice:PutJobResult"],"Resource":"*"}]}`},
		{Name: "home-only", Hash: auth.HashToken("home-token"), Policy: "home.json",
			PolicyDocument: `{"Statement":[{"Effect":"Allow","Action":["sluice:PutJobResult"],"Resource":"*"},` +
				`{"Effect":"Allow","Action":["sluice:PollForJobs"],"Resource":"region/local"}]}`},
	} {
		if err := st.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	p, err := pipeline.Parse("seq.yml", []byte("name: seq\nstages:\n  - name: S\n    actions:\n      - {name: a1, provider: Noop, runOrder: 1}\n      - {name: a2, provider: Noop, runOrder: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ApplyPipeline(ctx, p); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(svc, st, nil, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv, svc, st
}

// A job's result that asks for the next job (?next=) gets it in the same
// answer: the job the result itself queued. With nothing queued the answer
// is 204, as a claim's, and the worker polls as before.
func TestResultClaimsTheNextJob(t *testing.T) {
	ctx := context.Background()
	srv, _, _ := jobServer(t)
	c := client.New(srv.URL, "worker-token")
	op := client.New(srv.URL, "operator-token")
	id, err := op.Start(ctx, "seq", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "w1", Providers: []string{"Noop"}})
	if err != nil || first == nil || first.Action != "a1" {
		t.Fatalf("first claim: %+v, %v", first, err)
	}
	next, err := c.CompleteJobAndClaim(ctx, first.ID, wire.JobResult{WorkerID: "w1", Succeeded: true}, []string{"Noop"})
	if err != nil {
		t.Fatal(err)
	}
	if next == nil || next.Action != "a2" || next.PipelineExecutionID != id || next.LeaseUntil.IsZero() {
		t.Fatalf("next job with the result: %+v, want a2 of %s under a lease", next, id)
	}
	// The job is this worker's: its heartbeat is accepted.
	if _, err := c.Heartbeat(ctx, next.ID, "w1", 0); err != nil {
		t.Fatalf("heartbeat of the job claimed with the result: %v", err)
	}
	last, err := c.CompleteJobAndClaim(ctx, next.ID, wire.JobResult{WorkerID: "w1", Succeeded: true}, []string{"Noop"})
	if err != nil || last != nil {
		t.Fatalf("result of the last job: next %+v, %v; want none", last, err)
	}
	e, err := op.Execution(ctx, "seq", id, time.Time{}, 0)
	if err != nil || e.Status != "Succeeded" {
		t.Fatalf("execution: %+v, %v", e, err)
	}
}

// Attack: a token allowed to report results but not to claim jobs cannot
// claim one by asking for it with a result; the request is refused whole
// (403) and the result is not recorded either.
func TestResultNextNeedsPollForJobs(t *testing.T) {
	ctx := context.Background()
	srv, _, st := jobServer(t)
	w := client.New(srv.URL, "worker-token")
	if _, err := client.New(srv.URL, "operator-token").Start(ctx, "seq", wire.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	job, err := w.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "w1", Providers: []string{"Noop"}})
	if err != nil || job == nil {
		t.Fatalf("claim: %+v, %v", job, err)
	}
	r := client.New(srv.URL, "results-token")
	_, err = r.CompleteJobAndClaim(ctx, job.ID, wire.JobResult{WorkerID: "w1", Succeeded: true}, []string{"Noop"})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("result with next from a token without PollForJobs: %v, want 403", err)
	}
	if row, err := st.Job(ctx, job.ID); err != nil || row.Status != store.JobInProgress {
		t.Fatalf("job after the refused request: %+v, %v; want still in progress", row, err)
	}
	// Without next, the same token's result is taken.
	if err := r.CompleteJob(ctx, job.ID, wire.JobResult{WorkerID: "w1", Succeeded: true}); err != nil {
		t.Fatalf("plain result: %v", err)
	}
}

// A worker whose token may claim in one region only (PollForJobs on
// region/NAME) asks for its next job with its result as it claims: the
// request is authorized on its region, not on every region.
func TestResultNextOfARegionBoundWorker(t *testing.T) {
	ctx := context.Background()
	srv, _, _ := jobServer(t)
	home := client.New(srv.URL, "home-token")
	if _, err := client.New(srv.URL, "operator-token").Start(ctx, "seq", wire.StartRequest{}); err != nil {
		t.Fatal(err)
	}
	first, err := home.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "w1", Providers: []string{"Noop"}})
	if err != nil || first == nil {
		t.Fatalf("claim in its region: %+v, %v", first, err)
	}
	next, err := home.CompleteJobAndClaim(ctx, first.ID, wire.JobResult{WorkerID: "w1", Succeeded: true}, []string{"Noop"})
	if err != nil || next == nil || next.Action != "a2" {
		t.Fatalf("result with next in its region: %+v, %v; want a2", next, err)
	}
	// Saying it is in another region does not get it that region's jobs.
	_, err = home.CompleteJobAndClaim(ctx, next.ID, wire.JobResult{WorkerID: "w1", Succeeded: true, NextRegion: "eu-west-1"}, []string{"Noop"})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusForbidden {
		t.Fatalf("result with next in another region: %v, want 403", err)
	}
}
