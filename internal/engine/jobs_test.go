package engine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

func TestJobDeadline(t *testing.T) {
	for _, tc := range []struct {
		name    string
		minutes int
		want    time.Duration
	}{
		{"default", 0, DefaultTimeout},
		{"declared", 15, 15 * time.Minute},
		{"long", 8 * 60, 8 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decl := newPipeline(pipeline.Superseded,
				stage("Source", noop("src", 1)),
				stage("Build", noop("build", 1, timeoutMinutes(tc.minutes))),
			)
			h := newHarness(t, decl)
			e := h.start(nil)
			h.tick(7 * time.Minute)
			h.succeed(e, "src", nil)
			started := h.now
			j := h.job(e, "build")
			wantEqual(t, "timeout", j.Timeout, tc.want)
			wantEqual(t, "deadline", j.Deadline, started.Add(tc.want))
			wantEqual(t, "created", j.CreatedAt, started)
			wantEqual(t, "action start", act(t, e, "build").StartTime, started)
		})
	}
	if DefaultTimeout != 60*time.Minute {
		t.Errorf("DefaultTimeout = %v, want 60 minutes", DefaultTimeout)
	}
}

func TestJobTimedOut(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Build", noop("slow", 1, timeoutMinutes(15)), noop("fast", 1)),
		stage("Deploy", noop("deploy", 1)),
	)
	h := newHarness(t, decl)
	e := h.start(nil)
	slow := h.job(e, "slow")
	h.tick(15 * time.Minute)
	d := h.do(JobTimedOut{JobID: slow.ID})
	if len(d.Cancel) != 1 || d.Cancel[0].JobID != slow.ID {
		t.Errorf("cancel %+v, want job %s", d.Cancel, slow.ID)
	}
	a := act(t, e, "slow")
	wantEqual(t, "action", a.Status, ActionFailed)
	wantContains(t, "action summary", a.Summary, "timed out", "15 minutes")
	wantSlice(t, "events", evs(d.Events), []string{"action Build/slow FAILED"})
	wantEqual(t, "stage waits for its sibling", e.Stages[0].Status, StageInProgress)

	// The worker's late report is dropped.
	if _, err := h.try(JobSucceeded{JobID: slow.ID}); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("late success: %v, want ErrUnknownJob", err)
	}
	h.succeed(e, "fast", nil)
	wantEqual(t, "execution", e.Status, ExecutionFailed)
	wantContains(t, "statusSummary", e.Summary, "slow", "timed out")
	wantEqual(t, "Deploy", e.Stages[1].Status, StageNotStarted)
}

func TestJobLost(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxAttempts int
		offers      int // jobs offered before the action fails
	}{
		{"default", 0, DefaultMaxAttempts},
		{"one attempt", 1, 1},
		{"three attempts", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decl := newPipeline(pipeline.Superseded,
				stage("Build", noop("build", 1, maxAttempts(tc.maxAttempts), timeoutMinutes(30))),
				stage("Deploy", noop("deploy", 1)),
			)
			h := newHarness(t, decl)
			e := h.start(nil)
			first := h.job(e, "build")
			prev := first
			for n := 1; n <= tc.offers; n++ {
				wantEqual(t, fmt.Sprintf("offer %d attempt", n), prev.Attempt, n)
				wantEqual(t, fmt.Sprintf("offer %d deadline", n), prev.Deadline, first.Deadline)
				h.tick(2 * time.Minute)
				d := h.do(JobLost{JobID: prev.ID})
				if len(d.Cancel) != 1 || d.Cancel[0].JobID != prev.ID {
					t.Errorf("offer %d: cancel %+v, want %s", n, d.Cancel, prev.ID)
				}
				if n < tc.offers {
					// Offered again under a new id, without a second STARTED event.
					if len(d.Jobs) != 1 {
						t.Fatalf("offer %d lost: jobs %v, want one", n, jobActions(d.Jobs))
					}
					next := d.Jobs[0]
					if next.ID == prev.ID {
						t.Errorf("re-offered job reuses id %s", prev.ID)
					}
					if len(d.Events) != 0 {
						t.Errorf("events on re-offer: %v", evs(d.Events))
					}
					wantEqual(t, "action while re-offered", act(t, e, "build").Status, ActionInProgress)
					// The lost job's late report is dropped.
					if _, err := h.try(JobSucceeded{JobID: prev.ID}); !errors.Is(err, ErrUnknownJob) {
						t.Errorf("report of lost job: %v, want ErrUnknownJob", err)
					}
					prev = next
					continue
				}
				if len(d.Jobs) != 0 {
					t.Errorf("jobs after the last attempt: %v", jobActions(d.Jobs))
				}
			}
			a := act(t, e, "build")
			wantEqual(t, "action", a.Status, ActionFailed)
			wantContains(t, "action summary", a.Summary, "stopped renewing its lease")
			wantEqual(t, "attempt", a.Attempt, tc.offers)
			wantEqual(t, "execution", e.Status, ExecutionFailed)
			wantContains(t, "statusSummary", e.Summary, "build", "lease")
		})
	}
}

func TestJobLostThenSucceeds(t *testing.T) {
	h := newHarness(t, linear(pipeline.Superseded))
	e := h.start(nil)
	j1 := h.job(e, "src")
	d := h.do(JobLost{JobID: j1.ID})
	j2 := d.Jobs[0]
	wantEqual(t, "attempt", j2.Attempt, 2)
	d = h.do(JobSucceeded{JobID: j2.ID})
	wantEqual(t, "src", act(t, e, "src").Status, ActionSucceeded)
	wantSlice(t, "jobs", jobActions(d.Jobs), []string{"build"})
	wantEqual(t, "next action attempt", d.Jobs[0].Attempt, 1)
	// The attempt bound counts per action: the next one has its own.
	j3 := h.job(e, "build")
	d = h.do(JobLost{JobID: j3.ID})
	wantEqual(t, "build re-offered", len(d.Jobs), 1)
	h.drain()
	wantEqual(t, "status", e.Status, ExecutionSucceeded)
}

func TestJobLostBoundResetsOnRetry(t *testing.T) {
	decl := newPipeline(pipeline.Superseded, stage("Build", noop("build", 1)))
	h := newHarness(t, decl)
	e := h.start(nil)
	h.do(JobLost{JobID: h.job(e, "build").ID})
	h.do(JobLost{JobID: h.job(e, "build").ID})
	wantEqual(t, "failed", e.Status, ExecutionFailed)
	d := h.do(Retry{ExecutionID: e.ID, Stage: "Build"})
	wantEqual(t, "retried job attempt", d.Jobs[0].Attempt, 3)
	d = h.do(JobLost{JobID: d.Jobs[0].ID})
	if len(d.Jobs) != 1 || d.Jobs[0].Attempt != 4 {
		t.Fatalf("after retry the action gets a fresh bound; jobs %+v", d.Jobs)
	}
	h.drain()
	wantEqual(t, "status", e.Status, ExecutionSucceeded)
}

func TestJobLostWhileStopping(t *testing.T) {
	decl := newPipeline(pipeline.Superseded, stage("Build", noop("a", 1), noop("b", 1)))
	h := newHarness(t, decl)
	e := h.start(nil)
	h.do(Stop{ExecutionID: e.ID})
	d := h.do(JobLost{JobID: h.job(e, "a").ID})
	if len(d.Jobs) != 0 {
		t.Errorf("job re-offered while stopping: %v", jobActions(d.Jobs))
	}
	wantEqual(t, "a", act(t, e, "a").Status, ActionAbandoned)
	wantSlice(t, "events", evs(d.Events), []string{"action Build/a ABANDONED"})
	h.succeed(e, "b", nil)
	wantEqual(t, "execution", e.Status, ExecutionStopped)
}
