package service_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

const rollbackPipeline = `
name: p
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        namespace: build
        commands: [make]
        outputVariables: [VERSION]
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: ["ship #{build.VERSION}"]
    onFailure:
      result: ROLLBACK
`

func (f *fixture) fail(j *service.ClaimedJob, msg string) {
	f.t.Helper()
	if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Message: msg}); err != nil {
		f.t.Fatalf("fail %s: %v", j.Job.Action, err)
	}
}

// runVersion runs one execution of rollbackPipeline that builds version v
// and whose deploy succeeds or fails.
func (f *fixture) runVersion(v string, deployOK bool) string {
	f.t.Helper()
	id := f.start("p")
	f.succeed(f.claim("w"), map[string]string{"VERSION": v})
	j := f.claim("w")
	if deployOK {
		f.succeed(j, nil)
	} else {
		f.fail(j, "deploy of "+v+" broke")
	}
	return id
}

func TestAutomaticRollbackOnFailure(t *testing.T) {
	f := newFixture(t)
	f.apply(rollbackPipeline)
	good := f.runVersion("1.0", true)
	bad := f.runVersion("2.0", false)
	if e := f.execution("p", bad); e.Status != engine.ExecutionFailed {
		t.Fatalf("bad = %s", e.Status)
	}
	// The reactor reads the condition's ROLLBACK and starts a rollback
	// execution of Deploy with what the good execution used.
	f.react()
	j := f.claim("w")
	if j.Job.Commands[0] != "ship 1.0" {
		t.Fatalf("rollback job runs %q, want ship 1.0", j.Job.Commands[0])
	}
	rb := f.execution("p", j.Job.ExecutionID)
	if rb.ExecutionType != engine.ExecutionRollback || rb.Rollback.TargetExecutionID != good || rb.Trigger.Type != "AutomatedRollback" {
		t.Fatalf("rollback execution = type %s, metadata %+v, trigger %+v", rb.ExecutionType, rb.Rollback, rb.Trigger)
	}
	// A restart while the rollback runs: a new service over the same store
	// takes the job's answer.
	f.svc = service.New(f.store, nil, service.Config{Lease: 30 * time.Second, Now: f.clock.Now})
	f.succeed(j, nil)
	if rb = f.execution("p", rb.ID); rb.Status != engine.ExecutionSucceeded {
		t.Fatalf("rollback = %s", rb.Status)
	}
	// Reading the event again starts nothing twice.
	f.react()
	f.noJob()

	// The history shows it as such, and the events name it.
	evs, err := f.svc.Events(f.ctx, store.EventFilter{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	var rollbackEvent bool
	for _, ev := range evs {
		d := ev.Detail.(service.EventDetail)
		if ev.DetailType == engine.ConditionEvent && d.State == "ROLLBACK" && d.ExecutionID == bad {
			rollbackEvent = true
		}
	}
	if !rollbackEvent {
		t.Error("no ROLLBACK condition event for the failed execution")
	}
}

func TestManualRollback(t *testing.T) {
	f := newFixture(t)
	f.apply(strings.Replace(rollbackPipeline, "    onFailure:\n      result: ROLLBACK\n", "", 1))

	// Nothing succeeded through Deploy yet: refused.
	f.runVersion("0.9", false)
	_, err := f.svc.RollbackStage(f.ctx, service.RollbackRequest{Pipeline: "p", Stage: "Deploy", By: "alice"})
	if errcode.Of(err) != errcode.Conflict || !strings.Contains(err.Error(), "no execution of pipeline p succeeded through stage Deploy") {
		t.Fatalf("rollback with no success: %v", err)
	}
	_, err = f.svc.RollbackStage(f.ctx, service.RollbackRequest{Pipeline: "p", Stage: "Deploi", By: "alice"})
	if errcode.Of(err) != errcode.NotFound {
		t.Fatalf("rollback of an unknown stage: %v", err)
	}

	one := f.runVersion("1.0", true)
	two := f.runVersion("2.0", true)
	// To a named execution rather than the newest success.
	rb, err := f.svc.RollbackStage(f.ctx, service.RollbackRequest{Pipeline: "p", Stage: "Deploy", Target: one, By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	j := f.claim("w")
	if j.Job.ExecutionID != rb.ID || j.Job.Commands[0] != "ship 1.0" {
		t.Fatalf("job = %s %q", j.Job.ExecutionID, j.Job.Commands[0])
	}
	f.succeed(j, nil)
	if e := f.execution("p", rb.ID); e.Status != engine.ExecutionSucceeded || e.Trigger.Type != "ManualRollback" || e.Trigger.Detail != "alice" {
		t.Fatalf("rollback = %s %+v", e.Status, e.Trigger)
	}
	// The pipeline's state shows the rollback in Deploy, which it ran, and
	// not in Build, which it only carried over.
	ps, err := f.svc.PipelineState(f.ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if ps.Stages[1].Latest.ID != rb.ID || ps.Stages[0].Latest.ID != two {
		t.Fatalf("latest in Build %s, in Deploy %s; want %s and %s", ps.Stages[0].Latest.ID, ps.Stages[1].Latest.ID, two, rb.ID)
	}
	// A rollback is not a target itself.
	_, err = f.svc.RollbackStage(f.ctx, service.RollbackRequest{Pipeline: "p", Stage: "Deploy", Target: rb.ID})
	if errcode.Of(err) != errcode.Invalid {
		t.Fatalf("rollback to a rollback: %v", err)
	}

	// The structure changed: refused, naming what changed.
	f.apply(strings.Replace(rollbackPipeline, "    onFailure:\n      result: ROLLBACK\n", "      - name: notify\n        provider: Noop\n        runOrder: 2\n", 1))
	_, err = f.svc.RollbackStage(f.ctx, service.RollbackRequest{Pipeline: "p", Stage: "Deploy", Target: two})
	if errcode.Of(err) != errcode.Conflict || !strings.Contains(err.Error(), "structure changed") {
		t.Fatalf("rollback across a structure change: %v", err)
	}
}

const conditionPipeline = `
name: p
stages:
  - name: Build
    actions:
      - {name: make, provider: Noop}
  - name: Deploy
    actions:
      - {name: ship, provider: Noop}
    beforeEntry:
      conditions:
        - result: FAIL
          rules:
            - name: Window
              ruleTypeId: {category: Rule, owner: AWS, provider: DeploymentWindow, version: "1"}
              configuration: {Cron: "0 0-59 9-16 ? * MON-FRI *", TimeZone: UTC}
            - name: Smoke
              ruleTypeId: {category: Rule, owner: AWS, provider: Commands, version: "1"}
              commands: ["./smoke"]
`

func TestConditionThroughService(t *testing.T) {
	f := newFixture(t)
	f.apply(conditionPipeline)
	// Wednesday 10:00 UTC, inside the window (the fixture's clock).
	f.clock.Add(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC).Sub(f.clock.Now()))
	id := f.start("p")
	f.succeed(f.claim("w"), nil)
	smoke := f.claim("w")
	if smoke.Job.Action != "Smoke" || smoke.Job.ActionType.Category != "Rule" {
		t.Fatalf("rule job = %+v", smoke.Job)
	}
	e := f.execution("p", id)
	st := e.Stages[1]
	if st.Entry == nil || st.Entry.Status != engine.ConditionInProgress || st.Entry.Rules[0].Status != engine.ActionSucceeded {
		t.Fatalf("entry condition = %+v", st.Entry)
	}

	// A restart during the evaluation: a new service over the same store.
	f.svc = service.New(f.store, nil, service.Config{Lease: 30 * time.Second, Now: f.clock.Now})
	if err := f.svc.OverrideStageCondition(f.ctx, "p", "Deploy", id, "ON_FAILURE", "alice"); errcode.Of(err) != errcode.Invalid {
		t.Fatalf("override of onFailure: %v", err)
	}
	if err := f.svc.OverrideStageCondition(f.ctx, "p", "Deploy", id, "BEFORE_ENTRY", "alice"); err != nil {
		t.Fatal(err)
	}
	ship := f.claim("w")
	if ship.Job.Action != "ship" {
		t.Fatalf("after override: job %s", ship.Job.Action)
	}
	// The rule's job was taken away: its late answer is refused.
	if err := f.svc.CompleteJob(f.ctx, smoke.Job.ID, smoke.Worker, service.JobResult{Succeeded: true}); err == nil {
		t.Error("answer of an overridden rule's job accepted")
	}
	f.succeed(ship, nil)
	e = f.execution("p", id)
	if e.Status != engine.ExecutionSucceeded || e.Stages[1].Entry.Status != engine.ConditionOverridden || e.Stages[1].Entry.OverriddenBy != "alice" {
		t.Fatalf("execution %s, entry %+v", e.Status, e.Stages[1].Entry)
	}

	// Saturday: outside the window. The window rule waits for Monday 09:00
	// while the other rule runs; no worker is needed for the wait, and the
	// sweeper, on the fixture's clock, ends it when the window opens.
	f.clock.Add(3 * 24 * time.Hour)
	id = f.start("p")
	f.succeed(f.claim("w"), nil)
	f.succeed(f.claim("w"), nil) // Smoke
	f.noJob()
	e = f.execution("p", id)
	window := e.Stages[1].Entry.Rules[0]
	if e.Status != engine.ExecutionInProgress || window.Status != engine.ActionInProgress || !strings.Contains(window.Summary, "to open at 2026-03-09T09:00:00Z") {
		t.Fatalf("outside the window: %s, rule %s %q", e.Status, window.Status, window.Summary)
	}
	// Sunday: nothing happens.
	f.clock.Add(24 * time.Hour)
	if err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.noJob()
	// Monday 09:00: the wait ends and the stage runs.
	f.clock.Add(time.Date(2026, 3, 9, 9, 0, 1, 0, time.UTC).Sub(f.clock.Now()))
	if err := f.svc.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.succeed(f.claim("w"), nil)
	e = f.execution("p", id)
	if e.Status != engine.ExecutionSucceeded || !strings.Contains(e.Stages[1].Entry.Rules[0].Summary, "inside the deployment window") {
		t.Fatalf("after the window opened: %s %+v", e.Status, e.Stages[1].Entry.Rules[0])
	}
}
