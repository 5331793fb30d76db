package engine

import (
	"fmt"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// entries returns, per stage, the executions in the order they entered it.
func entries(events []Event) map[string][]string {
	out := map[string][]string{}
	for _, e := range events {
		if e.DetailType == StageEvent && e.State == "STARTED" {
			out[e.Stage] = append(out[e.Stage], e.ExecutionID)
		}
	}
	return out
}

// wantNoPassing checks that executions entered every stage in creation order.
func wantNoPassing(t *testing.T, h *harness) {
	t.Helper()
	seq := map[string]int64{}
	for _, e := range h.execs {
		seq[e.ID] = e.Seq
	}
	for stage, ids := range entries(h.events) {
		for i := 1; i < len(ids); i++ {
			if seq[ids[i]] < seq[ids[i-1]] {
				t.Errorf("stage %s: execution %s entered after newer %s: %v", stage, ids[i], ids[i-1], ids)
			}
		}
	}
}

func TestSupersededMode(t *testing.T) {
	h := newHarness(t, linear(pipeline.Superseded))
	a := h.start(nil)
	h.succeed(a, "src", nil) // a is inside Build

	b := h.start(nil)
	h.succeed(b, "src", nil) // b waits for Build
	wantEqual(t, "b waiting", b.Waiting, true)
	wantContains(t, "b waitingFor", b.WaitingFor, "Build", a.ID)

	c := h.start(nil) // c enters Source, which b left
	wantEqual(t, "c waiting", c.Waiting, false)
	d := h.succeed(c, "src", nil) // c arrives to wait for Build: b is superseded
	wantEqual(t, "b", b.Status, ExecutionSuperseded)
	wantContains(t, "b summary", b.Summary, c.ID)
	wantSlice(t, "b events", eventsOf(d.Events, b.ID), []string{"pipeline SUPERSEDED"})
	wantEqual(t, "c waiting", c.Waiting, true)

	d = h.succeed(a, "build", nil) // a moves on, c enters Build
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"build", "deploy"})
	h.drain()
	wantEqual(t, "a", a.Status, ExecutionSucceeded)
	wantEqual(t, "b", b.Status, ExecutionSuperseded)
	wantEqual(t, "c", c.Status, ExecutionSucceeded)
	if n := len(entries(h.events)["Build"]); n != 2 {
		t.Errorf("Build entered %d times, want 2 (a and c)", n)
	}
	for _, st := range b.Stages[1:] {
		wantEqual(t, "b stage "+st.Name, st.Status, StageNotStarted)
	}
	wantNoPassing(t, h)
}

func TestSupersededAtFirstStage(t *testing.T) {
	for _, mode := range []pipeline.ExecutionMode{pipeline.Superseded, ""} { // "" is CodePipeline's default, SUPERSEDED
		t.Run(string(mode), func(t *testing.T) {
			h := newHarness(t, linear(mode))
			a := h.start(nil)
			b := h.start(nil)
			wantEqual(t, "b waiting", b.Waiting, true)
			wantContains(t, "b waitingFor", b.WaitingFor, "Source", a.ID)
			c := h.start(nil)
			wantEqual(t, "b", b.Status, ExecutionSuperseded)
			wantContains(t, "b summary", b.Summary, c.ID)
			wantEqual(t, "c", c.Status, ExecutionInProgress)
			d := h.succeed(a, "src", nil)
			wantSlice(t, "jobs", jobActions(d.Jobs), []string{"build", "src"})
			wantEqual(t, "c src job", h.job(c, "src").ExecutionID, c.ID)
			h.drain()
			wantEqual(t, "a", a.Status, ExecutionSucceeded)
			wantEqual(t, "c", c.Status, ExecutionSucceeded)
			wantNoPassing(t, h)
		})
	}
}

func TestSupersededAtDisabledTransition(t *testing.T) {
	h := newHarness(t, linear(pipeline.Superseded))
	h.p.Disabled["Deploy"] = "freeze"
	var execs []*Execution
	for range 3 {
		e := h.start(nil)
		h.succeed(e, "src", nil)
		h.succeed(e, "build", nil)
		execs = append(execs, e)
	}
	wantEqual(t, "first", execs[0].Status, ExecutionSuperseded)
	wantEqual(t, "second", execs[1].Status, ExecutionSuperseded)
	wantContains(t, "second summary", execs[1].Summary, execs[2].ID)
	wantEqual(t, "third waits", execs[2].Waiting, true)
	delete(h.p.Disabled, "Deploy")
	d := h.do(Reconcile{})
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"deploy"})
	wantEqual(t, "deploy job execution", d.Jobs[0].ExecutionID, execs[2].ID)
	h.drain()
	wantEqual(t, "third", execs[2].Status, ExecutionSucceeded)
}

func TestQueuedMode(t *testing.T) {
	h := newHarness(t, linear(pipeline.Queued))
	a := h.start(nil)
	b := h.start(nil)
	c := h.start(nil)
	wantEqual(t, "b waiting", b.Waiting, true)
	wantEqual(t, "c waiting", c.Waiting, true)
	wantContains(t, "b waitingFor", b.WaitingFor, "Source", a.ID)

	d := h.succeed(a, "src", nil)
	// a moves to Build; b, the first in line, enters Source; c keeps waiting.
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"build", "src"})
	wantEqual(t, "b waiting", b.Waiting, false)
	wantEqual(t, "c waiting", c.Waiting, true)

	h.succeed(b, "src", nil) // b waits for Build (a inside); c enters Source
	wantEqual(t, "b waiting", b.Waiting, true)
	wantEqual(t, "c waiting", c.Waiting, false)
	h.succeed(c, "src", nil) // c queues behind b for Build: nobody superseded
	wantEqual(t, "b", b.Status, ExecutionInProgress)
	wantEqual(t, "c", c.Status, ExecutionInProgress)
	wantContains(t, "c waitingFor", c.WaitingFor, "Build")

	h.drain()
	for _, e := range []*Execution{a, b, c} {
		wantEqual(t, e.ID, e.Status, ExecutionSucceeded)
	}
	for stage, ids := range entries(h.events) {
		wantSlice(t, "entry order of "+stage, ids, []string{a.ID, b.ID, c.ID})
	}
}

func TestQueuedAtDisabledTransition(t *testing.T) {
	h := newHarness(t, linear(pipeline.Queued))
	h.p.Disabled["Deploy"] = ""
	var execs []*Execution
	for range 3 {
		e := h.start(nil)
		h.succeed(e, "src", nil)
		h.succeed(e, "build", nil)
		execs = append(execs, e)
	}
	for _, e := range execs {
		wantEqual(t, e.ID+" waiting", e.Waiting, true)
		wantEqual(t, e.ID+" status", e.Status, ExecutionInProgress)
	}
	delete(h.p.Disabled, "Deploy")
	d := h.do(Reconcile{})
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"deploy"})
	wantEqual(t, "first in line", d.Jobs[0].ExecutionID, execs[0].ID)
	wantContains(t, "second waitingFor", execs[1].WaitingFor, execs[0].ID)
	h.drain()
	for _, e := range execs {
		wantEqual(t, e.ID, e.Status, ExecutionSucceeded)
	}
	wantSlice(t, "Deploy entry order", entries(h.events)["Deploy"], []string{execs[0].ID, execs[1].ID, execs[2].ID})
}

func TestQueuedFailureLetsNextIn(t *testing.T) {
	h := newHarness(t, linear(pipeline.Queued))
	a := h.start(nil)
	b := h.start(nil)
	d := h.fail(a, "src", "no source")
	wantEqual(t, "a", a.Status, ExecutionFailed)
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"src"})
	wantEqual(t, "b job", d.Jobs[0].ExecutionID, b.ID)
}

func TestParallelMode(t *testing.T) {
	h := newHarness(t, linear(pipeline.Parallel))
	a := h.start(nil)
	b := h.start(nil)
	c := h.start(nil)
	for _, e := range []*Execution{a, b, c} {
		wantEqual(t, e.ID+" waiting", e.Waiting, false)
		h.job(e, "src")
	}
	// They move independently, in any order, several inside one stage.
	h.succeed(c, "src", nil)
	h.succeed(b, "src", nil)
	h.succeed(a, "src", nil)
	for _, e := range []*Execution{a, b, c} {
		wantEqual(t, e.ID+" in Build", e.Stages[1].Status, StageInProgress)
	}
	h.fail(b, "build", "broken")
	h.succeed(c, "build", nil)
	h.succeed(c, "deploy", nil)
	wantEqual(t, "c", c.Status, ExecutionSucceeded)
	wantEqual(t, "a still in Build", a.Stages[1].Status, StageInProgress)
	h.drain()
	wantEqual(t, "a", a.Status, ExecutionSucceeded)
	wantEqual(t, "b", b.Status, ExecutionFailed)
	for _, ev := range h.events {
		if ev.State == "SUPERSEDED" {
			t.Errorf("superseded in PARALLEL mode: %+v", ev)
		}
	}
}

func TestParallelModeIgnoresOthersAtDisabledTransition(t *testing.T) {
	// In PARALLEL mode executions still wait at a disabled transition, each on its own.
	h := newHarness(t, linear(pipeline.Parallel))
	h.p.Disabled["Build"] = ""
	a := h.start(nil)
	b := h.start(nil)
	h.succeed(b, "src", nil)
	h.succeed(a, "src", nil)
	wantEqual(t, "a", a.Status, ExecutionInProgress)
	wantEqual(t, "b", b.Status, ExecutionInProgress)
	delete(h.p.Disabled, "Build")
	d := h.do(Reconcile{})
	wantEqual(t, "jobs", len(d.Jobs), 2)
	h.drain()
	wantEqual(t, "a", a.Status, ExecutionSucceeded)
	wantEqual(t, "b", b.Status, ExecutionSucceeded)
}

func TestStopFreesStageForWaitingExecution(t *testing.T) {
	for _, mode := range []pipeline.ExecutionMode{pipeline.Superseded, pipeline.Queued} {
		for _, abandon := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/abandon=%v", mode, abandon), func(t *testing.T) {
				h := newHarness(t, linear(mode))
				a := h.start(nil)
				h.succeed(a, "src", nil) // a inside Build
				b := h.start(nil)
				h.succeed(b, "src", nil) // b waits for Build
				d := h.do(Stop{ExecutionID: a.ID, Abandon: abandon})
				if !abandon {
					// a still holds Build until its action finishes.
					wantEqual(t, "b waiting", b.Waiting, true)
					if len(d.Jobs) != 0 {
						t.Errorf("jobs while a stops: %v", jobActions(d.Jobs))
					}
					d = h.succeed(a, "build", nil)
				}
				wantEqual(t, "a", a.Status, ExecutionStopped)
				wantEqual(t, "b waiting", b.Waiting, false)
				wantSlice(t, "jobs", jobActions(d.Jobs), []string{"build"})
				wantEqual(t, "b's job", d.Jobs[0].ExecutionID, b.ID)
				h.drain()
				wantEqual(t, "b", b.Status, ExecutionSucceeded)
			})
		}
	}
}
