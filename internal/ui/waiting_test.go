package ui

import (
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

func TestWaitOf(t *testing.T) {
	t.Parallel()
	action := func(provider, category, name string, st engine.ActionStatus, cfg map[string]string) engine.Action {
		return engine.Action{Decl: pipeline.Action{Name: name, ActionTypeID: pipeline.ActionTypeID{Provider: provider, Category: category}, Configuration: cfg}, Status: st}
	}
	exec := func(id string, waiting bool, waitingFor string, acts ...engine.Action) *engine.Execution {
		return &engine.Execution{ID: id, Pipeline: "p-" + id, Status: engine.ExecutionInProgress, Waiting: waiting, WaitingFor: waitingFor,
			Variables: map[string]string{"UP": "infra"},
			Stages:    []engine.Stage{{Name: "Deploy", Actions: acts}}}
	}
	locks := []service.LockState{{Name: "prod-cluster", Lock: engine.Lock{
		Holder: &engine.LockHolder{Pipeline: "infra", ExecutionID: "h1"},
		Queue:  []engine.LockHolder{{Pipeline: "k8s", ExecutionID: "q1"}, {Pipeline: "app", ExecutionID: "q2"}},
	}}}
	ended := exec("x", false, "")
	ended.Status = engine.ExecutionSucceeded
	for _, c := range []struct {
		name        string
		e           *engine.Execution
		kind, short string
		long        string
	}{
		{"first in the queue", exec("q1", true, "waiting for lock prod-cluster"), "lock", "queued for lock prod-cluster", "queued for prod-cluster behind infra (holds it), to enter stage Deploy"},
		{"further back", exec("q2", true, "waiting for lock prod-cluster"), "lock", "queued for lock prod-cluster", "queued for prod-cluster behind infra (holds it) and 1 more"},
		{"a disabled transition", exec("t", true, "transition to stage Deploy is disabled: freeze"), "transition", "transition to Deploy disabled", "freeze"},
		{"an occupied stage", exec("o", true, "stage Deploy is occupied by execution abc"), "stage", "waiting to enter Deploy", "occupied by execution abc"},
		{"a gate", exec("g", false, "", action("PipelineGate", "Approval", "ready", engine.ActionInProgress, map[string]string{"PipelineName": "#{variables.UP}"})), "gate", "gate: infra", "gate Deploy/ready waits for pipeline infra to be Succeeded"},
		{"an approval", exec("a", false, "", action("Manual", "Approval", "review", engine.ActionInProgress, nil)), "approval", "approval review", "waits for an answer"},
		{"an invoke", exec("i", false, "", action("Pipeline", "Invoke", "db", engine.ActionInProgress, map[string]string{"PipelineName": "migrate"})), "invoke", "invoked migrate", "invoked execution of migrate"},
		{"a running build", exec("b", false, "", action("Commands", "Build", "make", engine.ActionInProgress, nil)), "", "", ""},
		{"an ended execution", ended, "", "", ""},
		{"holding the lock", exec("h1", false, ""), "", "", ""},
	} {
		w := waitOf(c.e, locks)
		if w.Kind != c.kind || w.Short != c.short || !strings.Contains(w.Long, c.long) {
			t.Errorf("%s: %+v, want %s %q %q", c.name, w, c.kind, c.short, c.long)
		}
	}
	// The execution page's lock notes tell the holder from the queued.
	holder := exec("h1", false, "")
	holder.Lock = "prod-cluster"
	if n := lockNotes(holder, locks); len(n) != 1 || n[0].Role != "holds" || n[0].Phrase != "holds prod-cluster" {
		t.Errorf("the holder's notes: %+v", n)
	}
	queued := exec("q1", true, "")
	queued.Lock = "prod-cluster"
	if n := lockNotes(queued, locks); len(n) != 1 || n[0].Role != "queued" || !strings.Contains(n[0].Phrase, "queued for prod-cluster behind infra") {
		t.Errorf("the queued one's notes: %+v", n)
	}
}
