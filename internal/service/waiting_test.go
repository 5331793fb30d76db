package service_test

import (
	"testing"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

func heldAction(name string, provider, category string, status engine.ActionStatus, cfg map[string]string) engine.Action {
	return engine.Action{Status: status, Decl: pipeline.Action{Name: name, Configuration: cfg,
		ActionTypeID: pipeline.ActionTypeID{Category: category, Owner: "AWS", Provider: provider, Version: "1"}}}
}

// WaitingOf is the one answer every front shows: a build running beside a
// gate and two approvals does not hide them, the gate's upstream is named
// with this execution's variables, and a queued execution names who is ahead.
func TestWaitingOf(t *testing.T) {
	e := &engine.Execution{ID: "e1", Status: engine.ExecutionInProgress, Variables: map[string]string{"UP": "infra"},
		Stages: []engine.Stage{{Name: "Deploy", Status: engine.StageInProgress, Actions: []engine.Action{
			heldAction("build", "CodeBuild", "Build", engine.ActionInProgress, nil),
			heldAction("gate", pipeline.ProviderPipelineGate, "Approval", engine.ActionInProgress, map[string]string{"PipelineName": "#{variables.UP}", "Condition": "Idle"}),
			heldAction("ok1", pipeline.ProviderManual, "Approval", engine.ActionInProgress, nil),
			heldAction("ok2", pipeline.ProviderManual, "Approval", engine.ActionSucceeded, nil),
		}}}}
	w := service.WaitingOf(e, nil)
	if w == nil || w.Kind != service.WaitGate || w.Name != "infra" || w.Condition != "Idle" || w.Action != "Deploy/gate" {
		t.Fatalf("WaitingOf = %+v, want the gate on infra (resolved), Idle", w)
	}
	if len(w.Also) != 1 || w.Also[0].Kind != service.WaitApproval || w.Also[0].Name != "Deploy/ok1" {
		t.Fatalf("Also = %+v, want the one open approval", w.Also)
	}

	q := &engine.Execution{ID: "e2", Status: engine.ExecutionInProgress, Waiting: true, WaitingFor: "waiting for lock prod",
		Stages: []engine.Stage{{Name: "Deploy"}}}
	locks := []service.LockState{{Name: "prod", Lock: engine.Lock{
		Holder: &engine.LockHolder{Pipeline: "infra", ExecutionID: "x"},
		Queue:  []engine.LockHolder{{Pipeline: "db", ExecutionID: "y"}, {Pipeline: "k8s", ExecutionID: "e2"}},
	}}}
	w = service.WaitingOf(q, locks)
	if w == nil || w.Kind != service.WaitLock || w.Position != 2 || w.HeldBy != "infra" || len(w.Ahead) != 2 || w.Ahead[1] != "db" {
		t.Fatalf("WaitingOf(queued) = %+v", w)
	}
	if got := w.Label(); got != "waiting for lock prod" {
		t.Errorf("Label = %q", got)
	}

	running := &engine.Execution{ID: "e3", Status: engine.ExecutionInProgress, Stages: []engine.Stage{{Name: "Build", Status: engine.StageInProgress,
		Actions: []engine.Action{heldAction("build", "CodeBuild", "Build", engine.ActionInProgress, nil)}}}}
	if w := service.WaitingOf(running, nil); w != nil {
		t.Errorf("a build at work waits for nothing: %+v", w)
	}
}
