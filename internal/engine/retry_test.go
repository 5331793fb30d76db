package engine

import (
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// retryPipeline has a Build stage with two parallel actions producing artifacts and
// variables and a third one consuming them.
func retryPipeline(mode pipeline.ExecutionMode) *pipeline.Pipeline {
	return newPipeline(mode,
		stage("Source", noop("src", 1)),
		stage("Build",
			noop("a", 1, namespace("A", "v"), outputs("ArtA")),
			noop("b", 1, outputs("ArtB")),
			noop("c", 2, inputs("ArtA", "ArtB")),
		),
		stage("Deploy", noop("deploy", 1)),
	)
}

func TestRetryFailedActions(t *testing.T) {
	h := newHarness(t, retryPipeline(pipeline.Superseded))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	h.succeed(e, "a", map[string]string{"v": "1"})
	aKey := act(t, e, "a").OutputArtifacts[0].Key
	bJob1 := h.job(e, "b")
	h.fail(e, "b", "flaky test")
	wantEqual(t, "status", e.Status, ExecutionFailed)

	d := h.do(Retry{ExecutionID: e.ID, Stage: "Build"})
	wantEqual(t, "status", e.Status, ExecutionInProgress)
	wantEqual(t, "summary", e.Summary, "")
	wantEqual(t, "stage", stageOf(t, e, "Build").Status, StageInProgress)
	wantEqual(t, "stage attempt", stageOf(t, e, "Build").Attempt, 2)
	wantSlice(t, "events", evs(d.Events), []string{"pipeline RESUMED", "stage Build RESUMED", "action Build/b STARTED"})
	// Only the failed action runs again; the succeeded one keeps its outputs.
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"b"})
	bJob2 := d.Jobs[0]
	wantEqual(t, "b attempt", bJob2.Attempt, 2)
	if bJob2.ID == bJob1.ID {
		t.Errorf("retried job reuses id %s", bJob1.ID)
	}
	a := act(t, e, "a")
	wantEqual(t, "a status", a.Status, ActionSucceeded)
	wantEqual(t, "a attempt", a.Attempt, 1)
	wantEqual(t, "a variable", a.OutputVariables["v"], "1")
	wantEqual(t, "a artifact key", a.OutputArtifacts[0].Key, aKey)

	d = h.succeed(e, "b", nil)
	wantSlice(t, "jobs after b", jobActions(d.Jobs), []string{"c"})
	c := d.Jobs[0]
	wantEqual(t, "c input ArtA", c.InputArtifacts[0].Key, aKey)
	wantEqual(t, "c input ArtB", c.InputArtifacts[1].Key, ArtifactKey(e.ID, "ArtB", bJob2.ID))

	// The execution continues to the later stages and succeeds.
	h.drain()
	wantEqual(t, "final status", e.Status, ExecutionSucceeded)
	wantEqual(t, "Deploy", stageOf(t, e, "Deploy").Status, StageSucceeded)
}

func TestRetryAllActions(t *testing.T) {
	h := newHarness(t, retryPipeline(pipeline.Superseded))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	h.succeed(e, "a", map[string]string{"v": "1"})
	h.fail(e, "b", "boom")

	d := h.do(Retry{ExecutionID: e.ID, Stage: "Build", All: true})
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"a", "b"})
	for _, j := range d.Jobs {
		wantEqual(t, j.Action+" attempt", j.Attempt, 2)
	}
	wantEqual(t, "a outputs cleared", len(act(t, e, "a").OutputVariables), 0)
	wantEqual(t, "source untouched", act(t, e, "src").Attempt, 1)

	// Fail again and retry again: the counters keep going up.
	h.succeed(e, "a", map[string]string{"v": "2"})
	h.fail(e, "b", "boom again")
	h.do(Retry{ExecutionID: e.ID, Stage: "Build", All: true})
	wantEqual(t, "stage attempt", stageOf(t, e, "Build").Attempt, 3)
	wantEqual(t, "a attempt", h.job(e, "a").Attempt, 3)
	wantEqual(t, "b attempt", h.job(e, "b").Attempt, 3)
	h.drain()
	wantEqual(t, "status", e.Status, ExecutionSucceeded)
	wantEqual(t, "c attempt", act(t, e, "c").Attempt, 1)
}

func TestRetryStopped(t *testing.T) {
	t.Run("abandoned", func(t *testing.T) {
		h := newHarness(t, retryPipeline(pipeline.Superseded))
		e := h.start(nil)
		h.succeed(e, "src", nil)
		h.succeed(e, "a", nil)
		h.do(Stop{ExecutionID: e.ID, Abandon: true, Reason: "oops"})
		d := h.do(Retry{ExecutionID: e.ID, Stage: "Build"})
		wantSlice(t, "jobs", jobActions(d.Jobs), []string{"b"})
		wantEqual(t, "stop mode cleared", e.StopMode, StopMode(""))
		h.drain()
		wantEqual(t, "status", e.Status, ExecutionSucceeded)
	})
	t.Run("stopped between runOrder groups", func(t *testing.T) {
		// Stop-and-wait lets a and b finish and keeps c from starting; retrying the
		// stopped stage runs what is left.
		h := newHarness(t, retryPipeline(pipeline.Superseded))
		e := h.start(nil)
		h.succeed(e, "src", nil)
		h.do(Stop{ExecutionID: e.ID})
		h.succeed(e, "a", nil)
		h.succeed(e, "b", nil)
		wantEqual(t, "status", e.Status, ExecutionStopped)
		wantEqual(t, "c", act(t, e, "c").Status, ActionNotStarted)
		d := h.do(Retry{ExecutionID: e.ID, Stage: "Build"})
		wantSlice(t, "jobs", jobActions(d.Jobs), []string{"c"})
		wantEqual(t, "a keeps its success", act(t, e, "a").Status, ActionSucceeded)
		h.drain()
		wantEqual(t, "status", e.Status, ExecutionSucceeded)
	})
	t.Run("stopped after every action succeeded, all", func(t *testing.T) {
		decl := newPipeline(pipeline.Superseded, stage("Source", noop("src", 1)), stage("Build", noop("a", 1)), stage("Deploy", noop("deploy", 1)))
		h := newHarness(t, decl)
		e := h.start(nil)
		h.succeed(e, "src", nil)
		h.do(Stop{ExecutionID: e.ID})
		h.succeed(e, "a", nil)
		wantEqual(t, "status", e.Status, ExecutionStopped)
		wantEqual(t, "stage", stageOf(t, e, "Build").Status, StageStopped)
		// Nothing failed and nothing is left: only retrying all actions re-runs it.
		_, err := h.try(Retry{ExecutionID: e.ID, Stage: "Build"})
		wantErrCode(t, err, "Conflict")
		d := h.do(Retry{ExecutionID: e.ID, Stage: "Build", All: true})
		wantSlice(t, "jobs", jobActions(d.Jobs), []string{"a"})
		h.drain()
		wantEqual(t, "status", e.Status, ExecutionSucceeded)
	})
}

func TestRetryRefused(t *testing.T) {
	type setup func(h *harness) *Execution
	failedInBuild := func(h *harness) *Execution {
		e := h.start(nil)
		h.succeed(e, "src", nil)
		h.succeed(e, "a", nil)
		h.fail(e, "b", "boom")
		return e
	}
	for _, tc := range []struct {
		name  string
		mode  pipeline.ExecutionMode
		setup setup
		retry func(e *Execution) Retry
		want  string // error code
	}{
		{
			name:  "execution in progress",
			setup: func(h *harness) *Execution { e := h.start(nil); h.succeed(e, "src", nil); return e },
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Build"} },
			want:  "Conflict",
		},
		{
			name:  "execution succeeded",
			setup: func(h *harness) *Execution { e := h.start(nil); h.drain(); return e },
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Deploy", All: true} },
			want:  "Conflict",
		},
		{
			name:  "stage that succeeded",
			setup: failedInBuild,
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Source", All: true} },
			want:  "Conflict",
		},
		{
			name:  "stage not reached",
			setup: failedInBuild,
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Deploy"} },
			want:  "Conflict",
		},
		{
			name:  "unknown stage",
			setup: failedInBuild,
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Nope"} },
			want:  "Conflict",
		},
		{
			name: "pipeline updated since",
			setup: func(h *harness) *Execution {
				e := failedInBuild(h)
				h.p.Version = 2
				return e
			},
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Build"} },
			want:  "Conflict",
		},
		{
			name: "superseded execution",
			setup: func(h *harness) *Execution {
				h.p.Disabled["Build"] = ""
				e := h.start(nil)
				h.succeed(e, "src", nil)
				newer := h.start(nil)
				h.succeed(newer, "src", nil)
				return e
			},
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Build"} },
			want:  "Conflict",
		},
		{
			name: "stage occupied, SUPERSEDED",
			mode: pipeline.Superseded,
			setup: func(h *harness) *Execution {
				e := failedInBuild(h)
				other := h.start(nil)
				h.succeed(other, "src", nil) // other is now inside Build
				return e
			},
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Build"} },
			want:  "Conflict",
		},
		{
			name: "stage occupied, QUEUED",
			mode: pipeline.Queued,
			setup: func(h *harness) *Execution {
				e := failedInBuild(h)
				other := h.start(nil)
				h.succeed(other, "src", nil)
				return e
			},
			retry: func(e *Execution) Retry { return Retry{ExecutionID: e.ID, Stage: "Build", All: true} },
			want:  "Conflict",
		},
		{
			name:  "unknown execution",
			setup: failedInBuild,
			retry: func(e *Execution) Retry { return Retry{ExecutionID: "exec-99", Stage: "Build"} },
			want:  "NotFound",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mode := tc.mode
			if mode == "" {
				mode = pipeline.Superseded
			}
			h := newHarness(t, retryPipeline(mode))
			e := tc.setup(h)
			status, current := e.Status, e.Current
			attempts := stageOf(t, e, "Build").Attempt
			d, err := h.try(tc.retry(e))
			if err == nil {
				t.Fatalf("retry accepted: %+v", d)
			}
			wantErrCode(t, err, tc.want)
			if err.Error() == "" {
				t.Error("empty error message")
			}
			wantEqual(t, "status unchanged", e.Status, status)
			wantEqual(t, "current unchanged", e.Current, current)
			wantEqual(t, "attempt unchanged", stageOf(t, e, "Build").Attempt, attempts)
		})
	}
}

func TestRetryRefusalMessages(t *testing.T) {
	h := newHarness(t, retryPipeline(pipeline.Superseded))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	h.succeed(e, "a", nil)
	h.fail(e, "b", "boom")
	other := h.start(nil)
	h.succeed(other, "src", nil)
	_, err := h.try(Retry{ExecutionID: e.ID, Stage: "Build"})
	wantContains(t, "occupied", err.Error(), "Build", other.ID)
	h.p.Version = 3
	_, err = h.try(Retry{ExecutionID: e.ID, Stage: "Build"})
	wantContains(t, "version", err.Error(), "version 3", "version 1")
}

func TestRetryWhileOccupiedInParallelMode(t *testing.T) {
	h := newHarness(t, retryPipeline(pipeline.Parallel))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	h.succeed(e, "a", nil)
	h.fail(e, "b", "boom")
	other := h.start(nil)
	h.succeed(other, "src", nil)
	d := h.do(Retry{ExecutionID: e.ID, Stage: "Build"})
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"b"})
	h.drain()
	wantEqual(t, "retried", e.Status, ExecutionSucceeded)
	wantEqual(t, "other", other.Status, ExecutionSucceeded)
}

func TestRetryThenOthersWait(t *testing.T) {
	// After a retry the execution holds its stage again: a newer one waits.
	h := newHarness(t, retryPipeline(pipeline.Queued))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	h.succeed(e, "a", nil)
	h.fail(e, "b", "boom")
	h.do(Retry{ExecutionID: e.ID, Stage: "Build"})
	other := h.start(nil)
	h.succeed(other, "src", nil)
	if !other.Waiting {
		t.Fatalf("newer execution entered the stage held by the retried one")
	}
	wantContains(t, "waitingFor", other.WaitingFor, "Build", e.ID)
	h.drain()
	wantEqual(t, "retried", e.Status, ExecutionSucceeded)
	wantEqual(t, "other", other.Status, ExecutionSucceeded)
}

func TestTransitions(t *testing.T) {
	for _, tc := range []struct {
		name       string
		reason     string
		wantReason []string
	}{
		{"with a reason", "change freeze until Monday", []string{"Deploy", "disabled", "change freeze until Monday"}},
		{"without a reason", "", []string{"Deploy", "disabled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, linear(pipeline.Superseded))
			h.p.Disabled["Deploy"] = tc.reason
			e := h.start(nil)
			h.succeed(e, "src", nil)
			d := h.succeed(e, "build", nil)
			wantSlice(t, "events", evs(d.Events), []string{"action Build/build SUCCEEDED", "stage Build SUCCEEDED"})
			if len(d.Jobs) != 0 {
				t.Errorf("jobs offered behind a disabled transition: %v", jobActions(d.Jobs))
			}
			wantEqual(t, "waiting", e.Waiting, true)
			wantEqual(t, "current", e.Current, 2)
			wantEqual(t, "status", e.Status, ExecutionInProgress)
			wantContains(t, "waitingFor", e.WaitingFor, tc.wantReason...)
			if strings.HasSuffix(e.WaitingFor, " ") || strings.HasSuffix(e.WaitingFor, ":") {
				t.Errorf("waitingFor %q ends in a separator", e.WaitingFor)
			}

			// Reconcile while still disabled changes nothing.
			d = h.do(Reconcile{})
			if len(d.Changed)+len(d.Jobs)+len(d.Events) != 0 {
				t.Errorf("Reconcile while disabled decided %+v", d)
			}

			delete(h.p.Disabled, "Deploy")
			d = h.do(Reconcile{})
			wantSlice(t, "events after enabling", evs(d.Events), []string{"stage Deploy STARTED", "action Deploy/deploy STARTED"})
			wantSlice(t, "jobs after enabling", jobActions(d.Jobs), []string{"deploy"})
			wantEqual(t, "waiting", e.Waiting, false)
			wantEqual(t, "waitingFor", e.WaitingFor, "")
			h.drain()
			wantEqual(t, "status", e.Status, ExecutionSucceeded)
		})
	}
}

func TestFirstStageCannotBeBlocked(t *testing.T) {
	h := newHarness(t, linear(pipeline.Superseded))
	h.p.Disabled["Source"] = "no"
	e := h.start(nil)
	wantSlice(t, "jobs", jobActions(h.decisions[0].Jobs), []string{"src"})
	wantEqual(t, "waiting", e.Waiting, false)
}

// A failed attempt's uploaded outputs are kept on the action for download,
// never given to a later action, and dropped when a retry succeeds.
func TestFailedAttemptArtifacts(t *testing.T) {
	h := newHarness(t, retryPipeline(pipeline.Superseded))
	e := h.start(nil)
	h.succeed(e, "src", nil)
	h.succeed(e, "a", nil)
	bJob1 := h.job(e, "b")
	// Names the action does not declare are ignored.
	h.do(JobFailed{JobID: bJob1.ID, Message: "tests failed", Artifacts: []string{"ArtB", "Other"}})
	wantEqual(t, "status", e.Status, ExecutionFailed)
	b := act(t, e, "b")
	if len(b.FailedArtifacts) != 1 || b.FailedArtifacts[0] != (ArtifactRef{Name: "ArtB", Key: ArtifactKey(e.ID, "ArtB", bJob1.ID)}) {
		t.Fatalf("failed artifacts = %+v", b.FailedArtifacts)
	}
	wantEqual(t, "failed attempt", b.FailedAttempt, 1)
	if len(b.OutputArtifacts) != 0 {
		t.Errorf("a failed attempt's artifact is an output: %+v", b.OutputArtifacts)
	}
	if _, ok := findArtifact(e, "ArtB"); ok {
		t.Error("a failed attempt's artifact can be found as an input")
	}

	d := h.do(Retry{ExecutionID: e.ID, Stage: "Build"})
	// Until the retry ends, the failed attempt's artifact stays downloadable.
	wantEqual(t, "failed artifacts during the retry", len(act(t, e, "b").FailedArtifacts), 1)
	bJob2 := d.Jobs[0]
	d = h.succeed(e, "b", nil)
	c := d.Jobs[0]
	wantEqual(t, "c input ArtB", c.InputArtifacts[1].Key, ArtifactKey(e.ID, "ArtB", bJob2.ID))
	b = act(t, e, "b")
	if len(b.FailedArtifacts) != 0 || b.FailedAttempt != 0 {
		t.Errorf("after a successful retry: failed artifacts %+v (attempt %d)", b.FailedArtifacts, b.FailedAttempt)
	}
}
