package service_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/service/servicetest"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// These tests drive the service with a real SQLite store and artifact store, and
// play the worker themselves through the job protocol (claim, heartbeat, result),
// with a clock they move by hand: the scriptable fake executor of the suite.

// clock is moved by hand.
type clock = servicetest.Clock

type fixture struct {
	t     testing.TB
	ctx   context.Context
	svc   *service.Service
	store store.Store
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, arts := servicetest.Stores(t)
	c := servicetest.NewClock()
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: c.Now})
	return &fixture{t: t, ctx: ctx, svc: svc, store: st, clock: c}
}

func (f *fixture) apply(src string) service.ApplyResult {
	f.t.Helper()
	return servicetest.Apply(f.t, f.svc, src)
}

func (f *fixture) start(name string) string {
	f.t.Helper()
	e, err := f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: name})
	if err != nil {
		f.t.Fatalf("start: %v", err)
	}
	return e.ID
}

// claim takes the next job, which must be there already.
func (f *fixture) claim(worker string) *service.ClaimedJob {
	f.t.Helper()
	j, err := f.svc.ClaimJob(f.ctx, worker, allProviders, 0)
	if err != nil {
		f.t.Fatalf("claim: %v", err)
	}
	if j == nil {
		f.t.Fatal("claim: no job queued")
	}
	return j
}

func (f *fixture) noJob() {
	f.t.Helper()
	j, err := f.svc.ClaimJob(f.ctx, "w-check", allProviders, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	if j != nil {
		f.t.Fatalf("unexpected job %s for action %s", j.Job.ID, j.Job.Action)
	}
}

func (f *fixture) succeed(j *service.ClaimedJob, vars map[string]string) {
	f.t.Helper()
	if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Succeeded: true, OutputVariables: vars}); err != nil {
		f.t.Fatalf("complete %s: %v", j.Job.Action, err)
	}
}

func (f *fixture) execution(name, id string) *engine.Execution {
	f.t.Helper()
	e, err := f.svc.Execution(f.ctx, name, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

const twoStages = `
name: p
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        namespace: build
        timeoutInMinutes: 10
        commands: [make]
        outputVariables: [VERSION]
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: ["ship #{build.VERSION} #{codepipeline.PipelineExecutionId}"]
`

func TestRunThroughJobProtocol(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	id := f.start("p")
	j := f.claim("w1")
	if j.Job.Action != "make" || j.Job.Attempt != 1 {
		t.Fatalf("first job = %+v", j.Job)
	}
	f.noJob() // Deploy waits for Build
	f.succeed(j, map[string]string{"VERSION": "1.4"})
	j = f.claim("w1")
	if want := "ship 1.4 " + id; j.Job.Commands[0] != want {
		t.Fatalf("resolved command = %q, want %q", j.Job.Commands[0], want)
	}
	f.succeed(j, nil)
	e := f.execution("p", id)
	if e.Status != engine.ExecutionSucceeded {
		t.Fatalf("status = %s", e.Status)
	}
	// Every state change left its event, in order, in the same transactions.
	evs, err := f.svc.Events(f.ctx, store.EventFilter{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		d := ev.Detail.(service.EventDetail)
		got = append(got, strings.TrimPrefix(ev.DetailType, "CodePipeline ")[:5]+" "+d.Stage+" "+d.Action+" "+d.State)
	}
	want := []string{
		"Pipel   STARTED", "Stage Build  STARTED", "Actio Build make STARTED", "Actio Build make SUCCEEDED",
		"Stage Build  SUCCEEDED", "Stage Deploy  STARTED", "Actio Deploy ship STARTED", "Actio Deploy ship SUCCEEDED",
		"Stage Deploy  SUCCEEDED", "Pipel   SUCCEEDED",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := evs[0].Detail.(service.EventDetail); d.ExecutionTrigger == nil || d.ExecutionTrigger.Type != "StartPipelineExecution" {
		t.Fatalf("pipeline event lacks its trigger: %+v", d)
	}
	// CodePipeline's own spelling, so that patterns written for AWS match,
	// on the pipeline's STARTED event only, as CodePipeline sends it.
	for i, ev := range evs {
		raw, _ := json.Marshal(ev.Detail)
		has := strings.Contains(string(raw), `"execution-trigger":{"trigger-type":"StartPipelineExecution"`)
		if has != (i == 0) {
			t.Fatalf("event %d detail %s: execution-trigger present %v, want %v", i, raw, has, i == 0)
		}
	}
}

func TestResultOnlyFromTheWorkerHoldingTheJob(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	f.start("p")
	j := f.claim("w1")
	err := f.svc.CompleteJob(f.ctx, j.Job.ID, "intruder", service.JobResult{Succeeded: true})
	if service.ErrorCode(err) != service.CodeConflict {
		t.Fatalf("result from another worker: %v", err)
	}
	f.succeed(j, map[string]string{"VERSION": "1"})
	err = f.svc.CompleteJob(f.ctx, j.Job.ID, "w1", service.JobResult{Succeeded: false, Message: "again"})
	if service.ErrorCode(err) != service.CodeConflict {
		t.Fatalf("second result for one job: %v", err)
	}
}

func TestTimeoutFailsActionAndTakesJobAway(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	id := f.start("p")
	j := f.claim("w1")
	f.clock.Add(9 * time.Minute)
	if _, err := f.svc.Heartbeat(f.ctx, j.Job.ID, "w1", 0); err != nil {
		t.Fatalf("heartbeat before the timeout: %v", err)
	}
	if err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if s := f.execution("p", id).Status; s != engine.ExecutionInProgress {
		t.Fatalf("before the timeout: %s", s)
	}
	f.clock.Add(2 * time.Minute)
	if err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	e := f.execution("p", id)
	a := e.Stages[0].Actions[0]
	if e.Status != engine.ExecutionFailed || a.Status != engine.ActionFailed || !strings.Contains(a.Summary, "timed out after 10 minutes") {
		t.Fatalf("after the timeout: %s, action %s %q", e.Status, a.Status, a.Summary)
	}
	if _, err := f.svc.Heartbeat(f.ctx, j.Job.ID, "w1", 0); service.ErrorCode(err) != service.CodeConflict {
		t.Fatalf("heartbeat after the timeout must tell the worker to stop: %v", err)
	}
}

func TestLostWorkerJobOfferedAgainThenFails(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxAttempts string
		wantOffers  int
	}{
		{"default", "", 2},
		{"maxAttempts 1", "maxAttempts: 1", 1},
		{"maxAttempts 3", "maxAttempts: 3", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.apply(`
name: p
stages:
  - name: Build
    actions:
      - name: make
        provider: Noop
        ` + tc.maxAttempts + `
`)
			id := f.start("p")
			for attempt := 1; attempt <= tc.wantOffers; attempt++ {
				j := f.claim("w")
				if j.Job.Attempt != attempt {
					t.Fatalf("offer %d has attempt %d", attempt, j.Job.Attempt)
				}
				f.clock.Add(31 * time.Second) // the worker vanished: no heartbeat
				if err := f.svc.SweepOnce(f.ctx); err != nil {
					t.Fatal(err)
				}
			}
			f.noJob()
			e := f.execution("p", id)
			a := e.Stages[0].Actions[0]
			if e.Status != engine.ExecutionFailed || !strings.Contains(a.Summary, "stopped renewing its lease") {
				t.Fatalf("after %d lost workers: %s %q", tc.wantOffers, e.Status, a.Summary)
			}
		})
	}
}

func TestHeartbeatAnswersAtOnceWhenAbandoned(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	id := f.start("p")
	j := f.claim("w1")
	done := make(chan error, 1)
	go func() {
		// Held open for up to the lease; only the abandon below ends it early.
		_, err := f.svc.Heartbeat(f.ctx, j.Job.ID, "w1", time.Hour)
		done <- err
	}()
	if err := f.svc.StopExecution(f.ctx, "p", id, true, "enough"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if service.ErrorCode(err) != service.CodeConflict || !strings.Contains(err.Error(), "abandoned") {
			t.Fatalf("heartbeat after abandon: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("heartbeat was not answered after the abandon")
	}
	e := f.execution("p", id)
	if e.Status != engine.ExecutionStopped || e.Stages[0].Actions[0].Status != engine.ActionAbandoned {
		t.Fatalf("after abandon: %s / %s", e.Status, e.Stages[0].Actions[0].Status)
	}
	// The late result of the killed job changes nothing.
	err := f.svc.CompleteJob(f.ctx, j.Job.ID, "w1", service.JobResult{Succeeded: true})
	if service.ErrorCode(err) != service.CodeConflict {
		t.Fatalf("late result: %v", err)
	}
	if s := f.execution("p", id).Stages[0].Actions[0].Status; s != engine.ActionAbandoned {
		t.Fatalf("late result changed the action to %s", s)
	}
}

func TestApplyVersionsAndRetryNeedsCurrentVersion(t *testing.T) {
	f := newFixture(t)
	if r := f.apply(twoStages); !r.Created || r.Version != 1 {
		t.Fatalf("first apply = %+v", r)
	}
	if r := f.apply(twoStages); r.Changed || r.Version != 1 {
		t.Fatalf("identical apply = %+v", r)
	}
	id := f.start("p")
	j := f.claim("w")
	if err := f.svc.CompleteJob(f.ctx, j.Job.ID, "w", service.JobResult{Message: "boom"}); err != nil {
		t.Fatal(err)
	}
	if r := f.apply(strings.Replace(twoStages, "[make]", "[make all]", 1)); !r.Changed || r.Version != 2 {
		t.Fatalf("changed apply = %+v", r)
	}
	err := f.svc.RetryStage(f.ctx, "p", id, "Build", false)
	if service.ErrorCode(err) != service.CodeConflict || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("retry on an old version: %v", err)
	}
	// A new execution runs the new version.
	id2 := f.start("p")
	if e := f.execution("p", id2); e.Version != 2 {
		t.Fatalf("new execution on version %d", e.Version)
	}
}

func TestInvalidApplyChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	bad := &pipeline.Pipeline{Name: "p"} // no stages
	_, err := f.svc.ApplyPipeline(f.ctx, bad)
	if service.ErrorCode(err) != service.CodeInvalid {
		t.Fatalf("invalid apply: %v", err)
	}
	p, err := f.svc.Pipeline(f.ctx, "p")
	if err != nil || p.Version != 1 || len(p.Declaration.Stages) != 2 {
		t.Fatalf("pipeline after a failed apply: %+v %v", p, err)
	}
}

func TestTransitionsAndState(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	if err := f.svc.SetTransition(f.ctx, "p", "Build", false, "x", "me"); service.ErrorCode(err) != service.CodeInvalid {
		t.Fatalf("disabling the first stage: %v", err)
	}
	if err := f.svc.SetTransition(f.ctx, "p", "Deploy", false, "", "me"); service.ErrorCode(err) != service.CodeInvalid {
		t.Fatalf("disabling without a reason: %v", err)
	}
	if err := f.svc.SetTransition(f.ctx, "p", "Nope", false, "x", "me"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("unknown stage: %v", err)
	}
	if err := f.svc.SetTransition(f.ctx, "p", "Deploy", false, "change freeze", "me"); err != nil {
		t.Fatal(err)
	}
	id := f.start("p")
	f.succeed(f.claim("w"), map[string]string{"VERSION": "1"})
	f.noJob()
	st, err := f.svc.PipelineState(f.ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	deploy := st.Stages[1]
	if deploy.Transition.Enabled || deploy.Transition.DisabledReason != "change freeze" || deploy.Transition.DisabledBy != "me" {
		t.Fatalf("transition = %+v", deploy.Transition)
	}
	if len(deploy.Waiting) != 1 || deploy.Waiting[0].ID != id || !strings.Contains(deploy.Waiting[0].WaitingFor, "change freeze") {
		t.Fatalf("waiting = %+v", deploy.Waiting)
	}
	if err := f.svc.SetTransition(f.ctx, "p", "Deploy", true, "", "me"); err != nil {
		t.Fatal(err)
	}
	f.succeed(f.claim("w"), nil)
	if s := f.execution("p", id).Status; s != engine.ExecutionSucceeded {
		t.Fatalf("after enabling: %s", s)
	}
}

func TestUnknownThings(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	_, err := f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: "nope"})
	if service.ErrorCode(err) != service.CodeNotFound || !strings.Contains(err.Error(), "pipeline nope not found") {
		t.Fatalf("start of a missing pipeline: %v", err)
	}
	_, err = f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: "p", Variables: map[string]string{"X": "1"}})
	if service.ErrorCode(err) != service.CodeInvalid || !strings.Contains(err.Error(), "X") {
		t.Fatalf("undeclared variable: %v", err)
	}
	if err := f.svc.StopExecution(f.ctx, "p", "nope", false, ""); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("stop of a missing execution: %v", err)
	}
	if _, err := f.svc.Execution(f.ctx, "p", "nope"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("missing execution: %v", err)
	}
	if err := f.svc.DeletePipeline(f.ctx, "nope"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("delete of a missing pipeline: %v", err)
	}
	if _, err := f.svc.Heartbeat(f.ctx, "nope", "w", 0); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("heartbeat of a missing job: %v", err)
	}
}

func TestStopOfAnEndedExecutionIsAConflict(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	id := f.start("p")
	f.succeed(f.claim("w"), map[string]string{"VERSION": "1"})
	f.succeed(f.claim("w"), nil)
	err := f.svc.StopExecution(f.ctx, "p", id, false, "")
	if service.ErrorCode(err) != service.CodeConflict || !strings.Contains(err.Error(), "Succeeded") {
		t.Fatalf("stop of a succeeded execution: %v", err)
	}
}

func TestOnlyTheLatestExecutionInAStageIsRetried(t *testing.T) {
	f := newFixture(t)
	f.apply(strings.Replace(twoStages, "name: p\n", "name: p\nexecutionMode: PARALLEL\n", 1))
	old := f.start("p")
	j := f.claim("w")
	if err := f.svc.CompleteJob(f.ctx, j.Job.ID, "w", service.JobResult{Message: "boom"}); err != nil {
		t.Fatal(err)
	}
	f.start("p")
	f.succeed(f.claim("w"), map[string]string{"VERSION": "2"})
	err := f.svc.RetryStage(f.ctx, "p", old, "Build", false)
	if service.ErrorCode(err) != service.CodeConflict || !strings.Contains(err.Error(), "only the latest execution") {
		t.Fatalf("retry of an older execution: %v", err)
	}
}

var allProviders = []string{"Noop", "Commands", "Git", "CodeCommit", "GitRemote", "CodeDeploy"}

// TestDecisionReadsWhatAnotherReplicaWrote: a decision takes the execution
// the previous one left in memory only while the stored document is the one
// that decision wrote; once another replica (here: the store, written
// directly) changed it, the stored document is what the engine decides on.
func TestDecisionReadsWhatAnotherReplicaWrote(t *testing.T) {
	f := newFixture(t)
	f.apply(`
name: p
executionMode: PARALLEL
stages:
  - {name: A, actions: [{name: a, provider: Commands, commands: [a]}]}
  - {name: B, actions: [{name: b, provider: Commands, commands: [b]}]}
  - {name: C, actions: [{name: c, provider: Commands, commands: [c]}]}
`)
	id := f.start("p")
	f.succeed(f.claim("w1"), nil) // decided on the stored execution, kept
	err := f.store.Update(f.ctx, "p", func(tx store.Tx) error {
		row, err := tx.Execution(f.ctx, id)
		if err != nil {
			return err
		}
		var e engine.Execution
		if err := json.Unmarshal(row.Document, &e); err != nil {
			return err
		}
		e.Variables = map[string]string{"FROM": "another replica"}
		if row.Document, err = json.Marshal(&e); err != nil {
			return err
		}
		return tx.PutExecution(f.ctx, row)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.succeed(f.claim("w1"), nil)
	if e := f.execution("p", id); e.Variables["FROM"] != "another replica" || e.Stages[1].Status != engine.StageSucceeded {
		t.Fatalf("after the next decision: variables %v, stage B %s; want the other replica's variable kept and B succeeded", e.Variables, e.Stages[1].Status)
	}
	f.succeed(f.claim("w1"), nil)
	if e := f.execution("p", id); e.Status != engine.ExecutionSucceeded || e.Variables["FROM"] != "another replica" {
		t.Fatalf("at the end: %s, variables %v", e.Status, e.Variables)
	}
}

// TestResultToAnotherReplica: a job claimed from one server and reported to
// another (two services on one store) is decided on the same: the server
// that did not hand the job out reads what it is of from the store.
func TestResultToAnotherReplica(t *testing.T) {
	f := newFixture(t)
	f.apply(twoStages)
	id := f.start("p")
	other := service.New(f.store, nil, service.Config{Lease: 30 * time.Second, Now: f.clock.Now})
	j := f.claim("w1")
	if err := other.CompleteJob(f.ctx, j.Job.ID, "w1", service.JobResult{Succeeded: true, OutputVariables: map[string]string{"VERSION": "2"}}); err != nil {
		t.Fatal(err)
	}
	f.succeed(f.claim("w1"), nil)
	if e := f.execution("p", id); e.Status != engine.ExecutionSucceeded {
		t.Fatalf("status %s", e.Status)
	}
}
