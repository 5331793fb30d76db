package engine

import (
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

var (
	manualType   = pipeline.ActionTypeID{Category: pipeline.CategoryApproval, Owner: pipeline.OwnerAWS, Provider: "Manual", Version: "1"}
	gateType     = pipeline.ActionTypeID{Category: pipeline.CategoryApproval, Owner: pipeline.OwnerAWS, Provider: "PipelineGate", Version: "1"}
	functionType = pipeline.ActionTypeID{Category: pipeline.CategoryInvoke, Owner: pipeline.OwnerAWS, Provider: "Function", Version: "1"}
)

func held(name string, typ pipeline.ActionTypeID, opts ...actionOpt) pipeline.Action {
	a := pipeline.Action{Name: name, ActionTypeID: typ, RunOrder: 1}
	for _, o := range opts {
		o(&a)
	}
	return a
}

func approvalPipeline() *pipeline.Pipeline {
	return newPipeline(pipeline.Superseded,
		stage("Build", noop("build", 1)),
		stage("Approve", held("Review", manualType)),
		stage("Deploy", noop("deploy", 1)),
	)
}

func TestApproval(t *testing.T) {
	tests := []struct {
		name       string
		approved   bool
		wantStatus ExecutionStatus
		wantSum    string
	}{
		{"approved", true, ExecutionSucceeded, "approved by alice: ship it"},
		{"rejected", false, ExecutionFailed, "rejected by alice: ship it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, approvalPipeline())
			e := h.start(nil)
			h.succeed(e, "build", nil)
			j := h.job(e, "Review")
			wantEqual(t, "approval deadline", j.Deadline, act(t, e, "Review").StartTime.Add(7*24*time.Hour))
			if got := lastOf(h.events, ApprovalEvent); got == nil || got.State != "WAITING" || got.JobID != j.ID {
				t.Fatalf("approval waiting event %+v", got)
			}
			h.tick(time.Minute)
			h.do(ApprovalAnswer{JobID: j.ID, Approved: tt.approved, By: "alice", Comment: "ship it"})
			if got := lastOf(h.events, ApprovalEvent); got == nil || got.State != map[bool]string{true: "APPROVED", false: "REJECTED"}[tt.approved] || got.Summary != tt.wantSum {
				t.Fatalf("approval answered event %+v", got)
			}
			a := act(t, e, "Review")
			wantEqual(t, "summary", a.Summary, tt.wantSum)
			if a.Approval == nil || a.Approval.By != "alice" || a.Approval.Summary != "ship it" || !a.Approval.Time.Equal(t0.Add(time.Minute)) {
				t.Fatalf("approval record %+v", a.Approval)
			}
			h.drain()
			wantEqual(t, "status", e.Status, tt.wantStatus)
			if !tt.approved {
				wantContains(t, "execution summary", e.Summary, "stage Approve failed", "rejected by alice")
			}
			// A second answer finds nothing to answer.
			if _, err := h.try(ApprovalAnswer{JobID: j.ID, Approved: true, By: "bob"}); err != ErrUnknownJob {
				t.Fatalf("second answer: %v, want ErrUnknownJob", err)
			}
		})
	}
}

func TestHeldTimeouts(t *testing.T) {
	tests := []struct {
		action pipeline.Action
		want   string
	}{
		{held("Review", manualType), "approval timed out after 7 days without an answer"},
		{held("Review", manualType, timeoutMinutes(90)), "approval timed out after 90 minutes without an answer"},
		{held("Review", gateType, config("PipelineName", "infra")), "gate timed out after 7 days still waiting for pipeline infra"},
		{held("Review", functionType, config("FunctionName", "f"), timeoutMinutes(120)), "function f did not answer within 2 hours"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			h := newHarness(t, newPipeline(pipeline.Superseded, stage("Wait", tt.action)))
			e := h.start(nil)
			h.do(JobTimedOut{JobID: h.job(e, "Review").ID})
			wantEqual(t, "summary", act(t, e, "Review").Summary, tt.want)
			wantEqual(t, "status", e.Status, ExecutionFailed)
		})
	}
}

func TestActionProgress(t *testing.T) {
	h := newHarness(t, newPipeline(pipeline.Superseded, stage("Wait", held("Gate", gateType, config("PipelineName", "infra")))))
	e := h.start(nil)
	j := h.job(e, "Gate")
	d := h.do(ActionProgress{JobID: j.ID, Summary: "waiting for infra execution 1a2b (InProgress)", ExternalID: "1a2b"})
	if len(d.Changed) != 1 || len(d.Events) != 1 || d.Events[0].DetailType != GateEvent || d.Events[0].State != "WAITING" ||
		d.Events[0].Summary != "waiting for infra execution 1a2b (InProgress)" {
		t.Fatalf("progress changed %d executions and emitted %v", len(d.Changed), evs(d.Events))
	}
	a := act(t, e, "Gate")
	wantEqual(t, "summary", a.Summary, "waiting for infra execution 1a2b (InProgress)")
	wantEqual(t, "external id", a.ExternalID, "1a2b")
	wantEqual(t, "status", a.Status, ActionInProgress)
	if d := h.do(ActionProgress{JobID: j.ID, Summary: a.Summary}); len(d.Changed) != 0 || len(d.Events) != 0 {
		t.Fatal("the same progress again changed the execution")
	}
	d = h.do(JobSucceeded{JobID: j.ID, Summary: "infra is idle"})
	if got := evs(d.Events); len(got) == 0 || d.Events[0].DetailType != GateEvent || d.Events[0].State != "RELEASED" {
		t.Fatalf("release events %v", got)
	}
}

func TestJobContinued(t *testing.T) {
	h := newHarness(t, newPipeline(pipeline.Superseded, stage("Invoke", held("Fn", functionType, config("FunctionName", "f"), maxAttempts(1)))))
	e := h.start(nil)
	first := h.job(e, "Fn")
	h.tick(10 * time.Second)
	h.do(JobContinued{JobID: first.ID, Token: "step-2", After: 30 * time.Second})
	second := h.job(e, "Fn")
	if second.ID == first.ID {
		t.Fatal("the continuation reused the job")
	}
	wantEqual(t, "token", second.ContinuationToken, "step-2")
	wantEqual(t, "not before", second.NotBefore, t0.Add(40*time.Second))
	wantEqual(t, "deadline kept from the first invocation", second.Deadline, first.Deadline)
	wantEqual(t, "attempt", second.Attempt, 2)
	// Continuations do not use up maxAttempts: a lost worker may still retry once.
	h.do(JobContinued{JobID: second.ID, Token: "step-3"})
	h.do(JobLost{JobID: h.job(e, "Fn").ID})
	wantEqual(t, "status after a lost worker", act(t, e, "Fn").Status, ActionFailed)
	h2 := newHarness(t, newPipeline(pipeline.Superseded, stage("Invoke", held("Fn", functionType, config("FunctionName", "f")))))
	e2 := h2.start(nil)
	h2.do(JobContinued{JobID: h2.job(e2, "Fn").ID, Token: "t"})
	h2.do(JobLost{JobID: h2.job(e2, "Fn").ID})
	wantEqual(t, "a lost worker after a continuation is offered again", act(t, e2, "Fn").Status, ActionInProgress)
	h2.succeed(e2, "Fn", map[string]string{"k": "v"})
	wantEqual(t, "status", e2.Status, ExecutionSucceeded)
}

func TestRestart(t *testing.T) {
	decl := newPipeline(pipeline.Superseded,
		stage("Source", noop("src", 1)),
		stage("Update", noop("update", 1), noop("slow", 1)),
		stage("Deploy", noop("deploy", 1)),
	)
	h := newHarness(t, decl)
	e := h.start(map[string]string{})
	h.succeed(e, "src", nil)
	h.p.Version = 2
	next, err := NewExecution(decl, 2, "exec-next", e.Variables, nil, Trigger{Type: "PipelineUpdate", Detail: e.ID}, h.now)
	if err != nil {
		t.Fatal(err)
	}
	next.Seq = 99
	slow := h.job(e, "slow")
	d := h.do(Restart{JobID: h.job(e, "update").ID, Summary: "updated pipeline app to version 2", Next: next})
	wantEqual(t, "old status", e.Status, ExecutionSuperseded)
	wantContains(t, "old summary", e.Summary, "superseded by execution exec-next on pipeline version 2")
	wantEqual(t, "slow abandoned", act(t, e, "slow").Status, ActionAbandoned)
	if len(d.Cancel) != 1 || d.Cancel[0].JobID != slow.ID {
		t.Fatalf("cancel %v, want the slow job", d.Cancel)
	}
	wantEqual(t, "next status", next.Status, ExecutionInProgress)
	if !h.hasJob(next, "src") {
		t.Fatalf("the new execution did not start: open %v", h.openNames())
	}
}

func lastOf(events []Event, kind string) *Event {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].DetailType == kind {
			return &events[i]
		}
	}
	return nil
}

func TestStopAndWaitEndsApprovalsAndGatesAtOnce(t *testing.T) {
	h := newHarness(t, newPipeline(pipeline.Superseded, stage("Wait",
		held("Review", manualType), held("Gate", gateType, config("PipelineName", "infra")), noop("work", 1))))
	e := h.start(nil)
	work := h.job(e, "work")
	d := h.do(Stop{ExecutionID: e.ID, Reason: "not now"})
	if len(d.Cancel) != 2 {
		t.Fatalf("cancelled %v, want the approval's and the gate's jobs", d.Cancel)
	}
	wantEqual(t, "review", act(t, e, "Review").Status, ActionAbandoned)
	wantEqual(t, "gate", act(t, e, "Gate").Status, ActionAbandoned)
	wantEqual(t, "work still runs", act(t, e, "work").Status, ActionInProgress)
	wantEqual(t, "execution", e.Status, ExecutionStopping)
	h.do(JobSucceeded{JobID: work.ID})
	wantEqual(t, "execution", e.Status, ExecutionStopped)
}
