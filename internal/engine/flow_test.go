package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// stageStatuses renders the stage statuses of e: "Source:Succeeded Build:InProgress".
func stageStatuses(e *Execution) string {
	var parts []string
	for _, st := range e.Stages {
		parts = append(parts, st.Name+":"+string(st.Status))
	}
	return strings.Join(parts, " ")
}

func TestStagesAndRunOrder(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1)),
		// Declared out of order on purpose: runOrder decides, not position.
		stage("Build", noop("publish", 3), noop("unit", 1), noop("package", 2), noop("lint", 1)),
		stage("Deploy", noop("deploy", 1)),
	)
	steps := []struct {
		answer   string // the action whose job succeeds; "" starts the execution
		wantJobs []string
		stages   string
		status   ExecutionStatus
	}{
		{"", []string{"src"}, "Source:InProgress Build:NotStarted Deploy:NotStarted", ExecutionInProgress},
		// Both runOrder-1 actions of Build start in the same decision.
		{"src", []string{"lint", "unit"}, "Source:Succeeded Build:InProgress Deploy:NotStarted", ExecutionInProgress},
		// runOrder 2 waits for every runOrder-1 action.
		{"unit", nil, "Source:Succeeded Build:InProgress Deploy:NotStarted", ExecutionInProgress},
		{"lint", []string{"package"}, "Source:Succeeded Build:InProgress Deploy:NotStarted", ExecutionInProgress},
		{"package", []string{"publish"}, "Source:Succeeded Build:InProgress Deploy:NotStarted", ExecutionInProgress},
		// The next stage starts only when the whole stage succeeded.
		{"publish", []string{"deploy"}, "Source:Succeeded Build:Succeeded Deploy:InProgress", ExecutionInProgress},
		{"deploy", nil, "Source:Succeeded Build:Succeeded Deploy:Succeeded", ExecutionSucceeded},
	}
	h := newHarness(t, decl)
	var e *Execution
	for i, s := range steps {
		var d Decision
		if s.answer == "" {
			e = h.start(nil)
			d = h.decisions[len(h.decisions)-1]
		} else {
			d = h.succeed(e, s.answer, nil)
		}
		wantSlice(t, fmt.Sprintf("step %d (%s) jobs", i, s.answer), jobActions(d.Jobs), s.wantJobs)
		wantEqual(t, fmt.Sprintf("step %d (%s) stages", i, s.answer), stageStatuses(e), s.stages)
		wantEqual(t, fmt.Sprintf("step %d (%s) status", i, s.answer), e.Status, s.status)
	}
	wantEqual(t, "current", e.Current, len(e.Stages))
	for _, a := range e.Stages[1].Actions {
		wantEqual(t, a.Decl.Name+" attempt", a.Attempt, 1)
	}
}

func TestRunOrderZeroMeansOne(t *testing.T) {
	// A declaration built by hand may leave runOrder out; validation reads 0 as 1.
	for _, tc := range []struct {
		name    string
		actions []pipeline.Action
		first   []string
		second  []string
	}{
		{"zero first", []pipeline.Action{noop("a", 0), noop("b", 1), noop("c", 2)}, []string{"a", "b"}, []string{"c"}},
		{"zero last", []pipeline.Action{noop("b", 1), noop("a", 0), noop("c", 2)}, []string{"a", "b"}, []string{"c"}},
		{"all zero", []pipeline.Action{noop("a", 0), noop("b", 0)}, []string{"a", "b"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, newPipeline(pipeline.Superseded, stage("Only", tc.actions...)))
			e := h.start(nil)
			wantSlice(t, "first group", jobActions(h.decisions[0].Jobs), tc.first)
			var d Decision
			for _, a := range tc.first {
				d = h.succeed(e, a, nil)
			}
			wantSlice(t, "second group", jobActions(d.Jobs), tc.second)
			h.drain()
			wantEqual(t, "status", e.Status, ExecutionSucceeded)
		})
	}
}

func TestActionFailure(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1)),
		stage("Build", noop("a", 1), noop("b", 1), noop("c", 2)),
		stage("Deploy", noop("deploy", 1)),
	)
	type result struct {
		action string
		fail   string // failure message; "" means success
	}
	for _, tc := range []struct {
		name        string
		results     []result
		wantSummary []string
		notSummary  []string
	}{
		{
			name:        "fails while sibling runs, sibling then succeeds",
			results:     []result{{"a", "compile error"}, {"b", ""}},
			wantSummary: []string{"Build", "action a", "compile error"},
			notSummary:  []string{"action b"},
		},
		{
			name:        "sibling succeeds first",
			results:     []result{{"b", ""}, {"a", "compile error"}},
			wantSummary: []string{"action a", "compile error"},
		},
		{
			name:        "both fail",
			results:     []result{{"b", "lint: 3 problems"}, {"a", "compile error"}},
			wantSummary: []string{"action a", "compile error", "action b", "lint: 3 problems"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, decl)
			e := h.start(nil)
			h.succeed(e, "src", nil)
			var events []Event
			for i, r := range tc.results {
				var d Decision
				if r.fail == "" {
					d = h.succeed(e, r.action, nil)
				} else {
					d = h.fail(e, r.action, r.fail)
				}
				if len(d.Jobs) != 0 {
					t.Errorf("result %d offered jobs %v after a failure in the group", i, jobActions(d.Jobs))
				}
				last := i == len(tc.results)-1
				if !last {
					// The stage waits for the sibling still running.
					wantEqual(t, "stage while sibling runs", stageOf(t, e, "Build").Status, StageInProgress)
					wantEqual(t, "execution while sibling runs", e.Status, ExecutionInProgress)
				}
				events = d.Events
			}
			wantEqual(t, "stage", stageOf(t, e, "Build").Status, StageFailed)
			wantEqual(t, "execution", e.Status, ExecutionFailed)
			wantEqual(t, "c (runOrder 2)", act(t, e, "c").Status, ActionNotStarted)
			wantEqual(t, "Deploy", stageOf(t, e, "Deploy").Status, StageNotStarted)
			wantEqual(t, "deploy", act(t, e, "deploy").Status, ActionNotStarted)
			wantContains(t, "statusSummary", e.Summary, tc.wantSummary...)
			for _, s := range tc.notSummary {
				if strings.Contains(e.Summary, s) {
					t.Errorf("statusSummary %q names %q, which succeeded", e.Summary, s)
				}
			}
			// The last decision fails the action (or records the success), then the stage and the pipeline.
			got := evs(events)
			wantSlice(t, "final events", got[len(got)-2:], []string{"stage Build FAILED", "pipeline FAILED"})
			if len(h.open) != 0 {
				t.Errorf("open jobs after failure: %v", h.openNames())
			}
			// Nothing more happens.
			d := h.do(Reconcile{})
			if len(d.Jobs)+len(d.Events)+len(d.Changed) != 0 {
				t.Errorf("Reconcile after failure decided %+v", d)
			}
		})
	}
}

func TestJobResultForUnknownJob(t *testing.T) {
	h := newHarness(t, linear(pipeline.Superseded))
	e := h.start(nil)
	src := h.job(e, "src")
	for _, hp := range []Happening{
		JobSucceeded{JobID: "no-such-job"},
		JobFailed{JobID: "no-such-job"},
		JobLost{JobID: "no-such-job"},
		JobTimedOut{JobID: "no-such-job"},
	} {
		if _, err := h.try(hp); !errors.Is(err, ErrUnknownJob) {
			t.Errorf("%T: err %v, want ErrUnknownJob", hp, err)
		}
	}
	h.succeed(e, "src", nil)
	// A duplicate report of a finished job.
	if _, err := h.try(JobSucceeded{JobID: src.ID}); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("duplicate success: err %v, want ErrUnknownJob", err)
	}
	if _, err := h.try(JobFailed{JobID: src.ID, Message: "late"}); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("late failure: err %v, want ErrUnknownJob", err)
	}
	wantEqual(t, "src", act(t, e, "src").Status, ActionSucceeded)
}

func TestStopAndWait(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1)),
		stage("Build", noop("a", 1, namespace("A", "v")), noop("b", 1), noop("c", 2)),
		stage("Deploy", noop("deploy", 1)),
	)
	h := newHarness(t, decl)
	e := h.start(nil)
	h.succeed(e, "src", nil)
	h.tick(time.Minute)

	d := h.do(Stop{ExecutionID: e.ID, Reason: "hold on"})
	wantSlice(t, "stop events", evs(d.Events), []string{"pipeline STOPPING", "stage Build STOPPING"})
	wantEqual(t, "execution", e.Status, ExecutionStopping)
	wantEqual(t, "stage", stageOf(t, e, "Build").Status, StageStopping)
	wantEqual(t, "stop mode", e.StopMode, StopAndWait)
	if len(d.Cancel) != 0 || len(d.Jobs) != 0 {
		t.Errorf("stop-and-wait cancelled %v / offered %v", d.Cancel, d.Jobs)
	}
	wantEqual(t, "a still running", act(t, e, "a").Status, ActionInProgress)

	// Stopping again the same way is refused; the execution is already stopping.
	_, err := h.try(Stop{ExecutionID: e.ID})
	wantErrCode(t, err, "Conflict")

	// A running action finishes and its result is recorded.
	d = h.succeed(e, "a", map[string]string{"v": "1"})
	wantEqual(t, "a", act(t, e, "a").Status, ActionSucceeded)
	wantEqual(t, "a output", act(t, e, "a").OutputVariables["v"], "1")
	wantEqual(t, "execution after a", e.Status, ExecutionStopping)
	wantSlice(t, "events after a", evs(d.Events), []string{"action Build/a SUCCEEDED"})

	// The last one finishes: no new runOrder group starts, the stage and execution stop.
	d = h.succeed(e, "b", nil)
	if len(d.Jobs) != 0 {
		t.Errorf("jobs offered while stopping: %v", jobActions(d.Jobs))
	}
	wantEqual(t, "c", act(t, e, "c").Status, ActionNotStarted)
	wantEqual(t, "b", act(t, e, "b").Status, ActionSucceeded)
	wantEqual(t, "stage", stageOf(t, e, "Build").Status, StageStopped)
	wantEqual(t, "Deploy", stageOf(t, e, "Deploy").Status, StageNotStarted)
	wantEqual(t, "execution", e.Status, ExecutionStopped)
	wantEqual(t, "summary", e.Summary, "hold on")
	wantSlice(t, "final events", evs(d.Events), []string{"action Build/b SUCCEEDED", "stage Build STOPPED", "pipeline STOPPED"})

	// Stopping a stopped execution is refused.
	_, err = h.try(Stop{ExecutionID: e.ID})
	wantErrCode(t, err, "Conflict")
}

func TestStopAndWaitWithFailure(t *testing.T) {
	// An action failing while the execution stops: the execution still ends Stopped.
	decl := newPipeline(pipeline.Superseded, stage("Build", noop("a", 1), noop("b", 1)))
	h := newHarness(t, decl)
	e := h.start(nil)
	h.do(Stop{ExecutionID: e.ID})
	h.fail(e, "a", "boom")
	wantEqual(t, "execution", e.Status, ExecutionStopping)
	h.succeed(e, "b", nil)
	wantEqual(t, "execution", e.Status, ExecutionStopped)
	wantEqual(t, "stage", e.Stages[0].Status, StageStopped)
	wantEqual(t, "a", act(t, e, "a").Status, ActionFailed)
	wantEqual(t, "a summary", act(t, e, "a").Summary, "boom")
}

func TestStopWaitingExecution(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    pipeline.ExecutionMode
		disable bool
		abandon bool
	}{
		{"at a disabled transition", pipeline.Superseded, true, false},
		{"at a disabled transition, abandon", pipeline.Superseded, true, true},
		{"queued behind another", pipeline.Queued, false, false},
		{"waiting behind another in SUPERSEDED", pipeline.Superseded, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, linear(tc.mode))
			if tc.disable {
				h.p.Disabled["Build"] = ""
			}
			first := h.start(nil)
			var e *Execution
			if tc.disable {
				e = first
			} else {
				h.succeed(first, "src", nil) // first is in Build
				e = h.start(nil)
			}
			h.succeed(e, "src", nil) // e waits for Build
			if !e.Waiting {
				t.Fatalf("execution is not waiting: %+v", e)
			}
			d := h.do(Stop{ExecutionID: e.ID, Abandon: tc.abandon, Reason: "not now"})
			wantEqual(t, "status", e.Status, ExecutionStopped)
			wantEqual(t, "waiting", e.Waiting, false)
			wantEqual(t, "summary", e.Summary, "not now")
			wantSlice(t, "events", eventsOf(d.Events, e.ID), []string{"pipeline STOPPING", "pipeline STOPPED"})
			if len(d.Jobs) != 0 || len(d.Cancel) != 0 {
				t.Errorf("jobs %v cancel %v", d.Jobs, d.Cancel)
			}
			wantEqual(t, "Build", stageOf(t, e, "Build").Status, StageNotStarted)
		})
	}
}

func TestStopRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(h *harness, e *Execution)
	}{
		{"succeeded", func(h *harness, e *Execution) { h.drain() }},
		{"failed", func(h *harness, e *Execution) { h.fail(e, "src", "no") }},
		{"stopped", func(h *harness, e *Execution) { h.do(Stop{ExecutionID: e.ID, Abandon: true}) }},
		{"superseded", func(h *harness, e *Execution) {
			h.p.Disabled["Build"] = ""
			h.succeed(e, "src", nil)
			newer := h.start(nil)
			h.succeed(newer, "src", nil)
			if e.Status != ExecutionSuperseded {
				h.tb.Fatalf("status %s, want Superseded", e.Status)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, linear(pipeline.Superseded))
			e := h.start(nil)
			tc.end(h, e)
			status := e.Status
			for _, abandon := range []bool{false, true} {
				_, err := h.try(Stop{ExecutionID: e.ID, Abandon: abandon})
				wantErrCode(t, err, "Conflict")
			}
			wantEqual(t, "status unchanged", e.Status, status)
		})
	}
	t.Run("unknown execution", func(t *testing.T) {
		h := newHarness(t, linear(pipeline.Superseded))
		h.start(nil)
		_, err := h.try(Stop{ExecutionID: "nope"})
		wantErrCode(t, err, "NotFound")
		_, err = h.try(Retry{ExecutionID: "nope", Stage: "Source"})
		wantErrCode(t, err, "NotFound")
	})
}

func TestAbandon(t *testing.T) {
	for _, tc := range []struct {
		name    string
		upgrade bool // stop-and-wait first, then abandon
	}{
		{"abandon", false},
		{"stop-and-wait upgraded to abandon", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decl := newPipeline(pipeline.Superseded,
				stage("Source", noop("src", 1)),
				stage("Build", noop("a", 1), noop("b", 1), noop("c", 1), noop("d", 2)),
				stage("Deploy", noop("deploy", 1)),
			)
			h := newHarness(t, decl)
			h.allExecutions = true // a late result must be refused even if the service passes the stopped execution
			e := h.start(nil)
			h.succeed(e, "src", nil)
			h.succeed(e, "c", nil)
			ja, jb := h.job(e, "a"), h.job(e, "b")
			if tc.upgrade {
				h.do(Stop{ExecutionID: e.ID, Reason: "wait"})
				wantEqual(t, "status", e.Status, ExecutionStopping)
			}
			d := h.do(Stop{ExecutionID: e.ID, Abandon: true, Reason: "bad commit"})
			wantEqual(t, "status", e.Status, ExecutionStopped)
			wantEqual(t, "stop mode", e.StopMode, StopAndAbandon)
			wantEqual(t, "stage", stageOf(t, e, "Build").Status, StageStopped)
			wantEqual(t, "a", act(t, e, "a").Status, ActionAbandoned)
			wantEqual(t, "b", act(t, e, "b").Status, ActionAbandoned)
			wantEqual(t, "c keeps its success", act(t, e, "c").Status, ActionSucceeded)
			wantEqual(t, "d", act(t, e, "d").Status, ActionNotStarted)
			wantContains(t, "a summary", act(t, e, "a").Summary, "bad commit")
			var cancelled []string
			for _, c := range d.Cancel {
				cancelled = append(cancelled, c.JobID)
			}
			wantSlice(t, "cancelled jobs", cancelled, []string{ja.ID, jb.ID})
			if len(d.Jobs) != 0 {
				t.Errorf("jobs offered: %v", jobActions(d.Jobs))
			}
			want := []string{"pipeline STOPPING", "stage Build STOPPING"}
			if tc.upgrade {
				want = nil
			}
			want = append(want, "action Build/a ABANDONED", "action Build/b ABANDONED", "stage Build STOPPED", "pipeline STOPPED")
			wantSlice(t, "events", evs(d.Events), want)

			// Late reports for abandoned jobs are dropped.
			for _, hp := range []Happening{
				JobSucceeded{JobID: ja.ID, Summary: "done anyway"},
				JobFailed{JobID: jb.ID, Message: "killed"},
				JobLost{JobID: ja.ID},
				JobTimedOut{JobID: jb.ID},
			} {
				if _, err := h.try(hp); !errors.Is(err, ErrUnknownJob) {
					t.Errorf("%T after abandon: err %v, want ErrUnknownJob", hp, err)
				}
			}
			wantEqual(t, "a after late report", act(t, e, "a").Status, ActionAbandoned)
		})
	}
}

func TestAbandonLateResultWithoutTerminalExecutions(t *testing.T) {
	// As the service does it: terminal executions are not passed to Decide.
	h := newHarness(t, linear(pipeline.Superseded))
	e := h.start(nil)
	j := h.job(e, "src")
	h.do(Stop{ExecutionID: e.ID, Abandon: true})
	if _, err := h.try(JobSucceeded{JobID: j.ID}); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("err %v, want ErrUnknownJob", err)
	}
}
