package event_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// statusPipeline builds Codertocat/Hello-World through connection ghe.
const statusPipeline = `
name: web
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: src
        provider: CodeStarSourceConnection
        configuration:
          ConnectionArn: arn:aws:codeconnections:us-east-1:000000000000:connection/ghe
          FullRepositoryId: Codertocat/Hello-World
          BranchName: master
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: make
        provider: Commands
        inputArtifacts: [code]
        commands: [make]
`

var statusCommit = strings.Repeat("ab", 20)

// fakeGHE is a GitHub Enterprise Server's commit status endpoint, which
// cannot run here: it checks the documented request shape (POST
// /api/v3/repos/OWNER/REPO/statuses/SHA, a bearer token, a JSON body of
// state, target_url, description, context) and records the statuses.
type fakeGHE struct {
	t        *testing.T
	mu       sync.Mutex
	statuses []map[string]string
	// fail answers the next requests with these codes before succeeding.
	fail []int
}

func (g *fakeGHE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v3/repos/Codertocat/Hello-World/statuses/"+statusCommit {
		g.t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer ghe-token" {
		g.t.Errorf("Authorization %q", got)
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]string
	if err := json.Unmarshal(raw, &body); err != nil {
		g.t.Errorf("body %s", raw)
	}
	if len(g.fail) > 0 {
		code := g.fail[0]
		g.fail = g.fail[1:]
		w.WriteHeader(code)
		io.WriteString(w, `{"message":"not now"}`)
		return
	}
	g.statuses = append(g.statuses, body)
	w.WriteHeader(http.StatusCreated)
}

func (g *fakeGHE) states() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, s := range g.statuses {
		out = append(out, s["state"])
	}
	return out
}

func (f *fixture) statusSetup(t *testing.T, ghe *fakeGHE, extra string) {
	srv := httptest.NewServer(ghe)
	t.Cleanup(srv.Close)
	if _, err := f.svc.PutConnection(f.ctx, &connection.Connection{Name: "ghe", Kind: connection.KindGitHubEnterprise, URL: srv.URL, Token: "ghe-tok"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PutSecret(f.ctx, "ghe-tok", []byte("ghe-token\n")); err != nil {
		t.Fatal(err)
	}
	f.apply(statusPipeline + extra)
}

// runWeb starts web pinned to statusCommit and ends its jobs: the source
// succeeds, the build as told.
func (f *fixture) runWeb(build bool) string {
	f.t.Helper()
	e, err := f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: "web", SourceRevisions: map[string]string{"src": statusCommit}})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, ok := range []bool{true, build} {
		j, err := f.svc.ClaimJob(f.ctx, "w1", []string{"CodeStarSourceConnection", "Commands"}, 0)
		if err != nil || j == nil {
			f.t.Fatalf("claim: %v, %v", j, err)
		}
		if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Succeeded: ok, Message: "make: *** [all] Error 2"}); err != nil {
			f.t.Fatal(err)
		}
	}
	return e.ID
}

// statusesSettled waits until the execution's status deliveries number
// want and none is pending.
func (f *fixture) statusesSettled(id string, want int) []store.Delivery {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, err := f.runner.CommitStatuses(f.ctx, "web", id)
		if err != nil {
			f.t.Fatal(err)
		}
		pending := 0
		for _, d := range ds {
			if d.Status == store.DeliveryPending {
				pending++
			}
		}
		if len(ds) == want && pending == 0 {
			return ds
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("commit statuses of %s: %d, %d pending; want %d settled", id, len(ds), pending, want)
		}
		// A deferred delivery is due a backoff later: on the hand-moved
		// clock (newFixture), time must pass. The live fixture's service
		// reads the real clock and ignores this one.
		f.clock.Add(2 * time.Second)
		select {
		case <-f.svc.Changed():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestCommitStatusPendingThenFailure(t *testing.T) {
	f := newLiveFixture(t, event.Config{})
	ghe := &fakeGHE{t: t}
	f.statusSetup(t, ghe, "")
	id := f.runWeb(false)
	f.statusesSettled(id, 2)
	got := ghe.states()
	if strings.Join(got, ",") != "pending,failure" && strings.Join(got, ",") != "failure" {
		t.Fatalf("states %v, want pending then failure", got)
	}
	last := ghe.statuses[len(ghe.statuses)-1]
	if last["context"] != "sluice/web" || last["target_url"] != "http://sluice.test:8080/ui/pipelines/web/executions/"+id ||
		!strings.Contains(last["description"], "web failed") {
		t.Errorf("final status %v", last)
	}
	if e := f.execution("web", id); e.Status != "Failed" {
		t.Errorf("execution %s", e.Status)
	}
}

func TestCommitStatusRetriedNeverFailsThePipeline(t *testing.T) {
	f := newLiveFixture(t, event.Config{})
	// The host is down twice for the first status, then answers.
	ghe := &fakeGHE{t: t, fail: []int{502, 503}}
	f.statusSetup(t, ghe, "commitStatus: {context: ci/web}\n")
	id := f.runWeb(true)
	ds := f.statusesSettled(id, 2)
	for _, d := range ds {
		if d.Status != store.DeliveryDelivered {
			t.Errorf("%s: %s (%s)", d.ID, d.Status, d.LastError)
		}
	}
	attempts := 0
	for _, d := range ds {
		attempts += d.Attempts
	}
	if attempts < 3 {
		t.Errorf("%d attempts in all, want the failed ones retried", attempts)
	}
	if states := ghe.states(); states[len(states)-1] != "success" || ghe.statuses[len(states)-1]["context"] != "ci/web" {
		t.Errorf("statuses %v", ghe.statuses)
	}
	if e := f.execution("web", id); e.Status != "Succeeded" {
		t.Errorf("execution %s", e.Status)
	}
}

func TestCommitStatusRefusedIsADeadLetter(t *testing.T) {
	f := newLiveFixture(t, event.Config{})
	ghe := &fakeGHE{t: t, fail: []int{422, 422}}
	f.statusSetup(t, ghe, "")
	id := f.runWeb(true)
	ds := f.statusesSettled(id, 2)
	failed := 0
	for _, d := range ds {
		if d.Status == store.DeliveryFailed && strings.Contains(d.LastError, "HTTP 422: not now") {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("no dead letter with the host's answer: %+v", ds)
	}
	if e := f.execution("web", id); e.Status != "Succeeded" {
		t.Errorf("a refused status changed the execution: %s", e.Status)
	}
}

func TestCommitStatusOff(t *testing.T) {
	f := newFixture(t)
	ghe := &fakeGHE{t: t}
	f.statusSetup(t, ghe, "commitStatus: {report: false}\n")
	id := f.runWeb(true)
	if _, err := f.runner.RulesOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if ds, _ := f.runner.CommitStatuses(f.ctx, "web", id); len(ds) != 0 {
		t.Errorf("report: false queued %d statuses", len(ds))
	}
}

// TestCommitStatusSurvivesRestart ends an execution while no runner runs
// (a server down), then starts a new runner over the same store: the final
// status is still set.
func TestCommitStatusSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	ghe := &fakeGHE{t: t}
	f.statusSetup(t, ghe, "")
	id := f.runWeb(true)
	// The first runner read the events and queued the statuses, then the
	// server died before sending them.
	if _, err := f.runner.RulesOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if ds, _ := f.runner.CommitStatuses(f.ctx, "web", id); len(ds) != 2 {
		t.Fatalf("queued %d statuses, want 2", len(ds))
	}
	if len(ghe.states()) != 0 {
		t.Fatal("sent before the deliverer ran")
	}
	// A new runner, as after a restart, sends them.
	f.runner = event.NewRunner(f.svc, event.Config{})
	ctx, cancel := contextWithCancel(f)
	done := make(chan struct{})
	go func() { f.runner.RunDeliveries(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	f.statusesSettled(id, 2)
	if got := ghe.states(); len(got) == 0 || got[len(got)-1] != "success" {
		t.Errorf("after restart: %v", got)
	}
}

func contextWithCancel(f *fixture) (context.Context, context.CancelFunc) {
	return context.WithCancel(f.ctx)
}

// A pipeline whose role may not read the connection's token sets no
// statuses with it: its author cannot have sluice write on repositories the
// token reaches.
func TestCommitStatusNeedsTheRole(t *testing.T) {
	f := newFixture(t)
	ghe := &fakeGHE{t: t}
	admin, _ := iam.ReadyMade("admin")
	doc := `{"Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":"secret/other"}]}`
	if _, err := f.svc.PutPolicy(f.ctx, service.PolicyRequest{Name: "narrow", Document: []byte(doc), Holder: admin}); err != nil {
		t.Fatal(err)
	}
	f.statusSetup(t, ghe, "role: narrow\n")
	id := f.runWeb(true)
	if _, err := f.runner.RulesOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if ds, _ := f.runner.CommitStatuses(f.ctx, "web", id); len(ds) != 0 {
		t.Errorf("a role without the token queued %d statuses", len(ds))
	}
}

// TestCommitStatusOfAnOlderVersion: an execution of a version with a
// connection source reports on its commit when it ends, even though the
// pipeline was changed meanwhile to one without such a source (which a
// pipeline of the stored version alone would not need to look for).
func TestCommitStatusOfAnOlderVersion(t *testing.T) {
	f := newFixture(t)
	ghe := &fakeGHE{t: t}
	f.statusSetup(t, ghe, "")
	e, err := f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: "web", SourceRevisions: map[string]string{"src": statusCommit}})
	if err != nil {
		t.Fatal(err)
	}
	claimAndEnd := func(ok bool) {
		t.Helper()
		j, err := f.svc.ClaimJob(f.ctx, "w1", []string{"CodeStarSourceConnection", "Commands"}, 0)
		if err != nil || j == nil {
			t.Fatalf("claim: %v, %v", j, err)
		}
		if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Succeeded: ok}); err != nil {
			t.Fatal(err)
		}
	}
	claimAndEnd(true) // the source
	if _, err := f.runner.RulesOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.apply(strings.Replace(appPipeline, "name: app", "name: web", 1))
	claimAndEnd(true) // the build of the execution of version 1
	if _, err := f.runner.RulesOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := f.runner.CommitStatuses(f.ctx, "web", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("%d statuses queued for the execution of version 1; want pending and final", len(ds))
	}
}
