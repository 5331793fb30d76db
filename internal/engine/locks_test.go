package engine

import (
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// lockedPipeline is a pipeline named name with one stage holding lock at
// the level given: "pipeline" or "stage".
func lockedPipeline(name, lock, level string) *pipeline.Pipeline {
	p := newPipeline(pipeline.Parallel,
		stage("Prepare", noop("prep", 1)),
		stage("Deploy", noop("deploy", 1)),
		stage("Verify", noop("verify", 1)),
	)
	p.Name = name
	switch level {
	case "pipeline":
		p.Lock = lock
	case "stage":
		p.Stages[1].Lock = lock
	}
	return p
}

func TestLockSharedByThreePipelines(t *testing.T) {
	locks := map[string]*Lock{}
	var hs []*harness
	var es []*Execution
	for _, name := range []string{"infra", "app", "data"} {
		h := newHarness(t, lockedPipeline(name, "deploy", "stage"))
		h.locks, h.prefix = locks, name+"-"
		hs = append(hs, h)
		e := h.start(nil)
		h.succeed(e, "prep", nil)
		es = append(es, e)
	}
	l := locks["deploy"]
	wantEqual(t, "holder", l.Holder.ExecutionID, es[0].ID)
	if len(l.Queue) != 2 || l.Queue[0].Pipeline != "app" || l.Queue[1].Pipeline != "data" {
		t.Fatalf("queue %+v, want app then data", l.Queue)
	}
	wantContains(t, "app waits", es[1].WaitingFor, "waiting for lock deploy, held by execution "+es[0].ID+" of pipeline infra")
	wantContains(t, "data waits", es[2].WaitingFor, "with 1 ahead in the queue")

	// infra leaves the locked stage: the lock is released, app is told.
	d := hs[0].succeed(es[0], "deploy", nil)
	if l.Holder != nil {
		t.Fatalf("holder %+v after release", l.Holder)
	}
	if _, ok := d.Locks["deploy"]; !ok {
		t.Fatal("the release is not in the decision's locks")
	}
	wantSlice(t, "lock events", lockEvents(d.Events), []string{"RELEASED deploy next: execution " + es[1].ID + " of pipeline app"})

	// data's pipeline reconciles first, but the lock is promised to app.
	hs[2].do(Reconcile{})
	if l.Holder != nil || !es[2].Waiting {
		t.Fatal("data jumped the queue")
	}
	wantContains(t, "data waits", es[2].WaitingFor, "next to execution "+es[1].ID+" of pipeline app")
	hs[1].do(Reconcile{})
	wantEqual(t, "holder", l.Holder.ExecutionID, es[1].ID)
	if es[1].Waiting {
		t.Fatal("app still waits")
	}

	// app fails in the locked stage: the lock is released with it.
	hs[1].fail(es[1], "deploy", "boom")
	wantEqual(t, "app", es[1].Status, ExecutionFailed)
	if l.Holder != nil {
		t.Fatal("a failed execution kept its lock")
	}
	hs[2].do(Reconcile{})
	wantEqual(t, "holder", l.Holder.ExecutionID, es[2].ID)

	// A retry of app's failed stage needs the lock, now data's.
	_, err := hs[1].try(Retry{ExecutionID: es[1].ID, Stage: "Deploy"})
	wantErrCode(t, err, "Conflict")
	wantContains(t, "retry refusal", err.Error(), "lock deploy is held by execution "+es[2].ID+" of pipeline data")
	hs[2].drain()
	hs[1].do(Retry{ExecutionID: es[1].ID, Stage: "Deploy"})
	wantEqual(t, "holder after retry", l.Holder.ExecutionID, es[1].ID)
	hs[1].drain()
	if l.Holder != nil || len(l.Queue) != 0 {
		t.Fatalf("lock %+v after everything ended", l)
	}
}

func TestPipelineLockHeldUntilTheEnd(t *testing.T) {
	locks := map[string]*Lock{}
	a := newHarness(t, lockedPipeline("a", "env", "pipeline"))
	b := newHarness(t, lockedPipeline("b", "env", "pipeline"))
	a.locks, b.locks = locks, locks
	a.prefix, b.prefix = "a-", "b-"
	ea := a.start(nil)
	eb := b.start(nil)
	if !eb.Waiting || eb.Current != 0 {
		t.Fatal("b entered its first stage while a holds the lock")
	}
	a.succeed(ea, "prep", nil)
	a.succeed(ea, "deploy", nil)
	wantEqual(t, "holder between stages", locks["env"].Holder.ExecutionID, ea.ID)
	a.do(Stop{ExecutionID: ea.ID, Abandon: true, Reason: "enough"})
	wantEqual(t, "a", ea.Status, ExecutionStopped)
	if locks["env"].Holder != nil {
		t.Fatal("a stopped execution kept its lock")
	}
	b.do(Reconcile{})
	wantEqual(t, "holder", locks["env"].Holder.ExecutionID, eb.ID)
}

func TestLockQueueLeftWhenSuperseded(t *testing.T) {
	locks := map[string]*Lock{}
	holder := newHarness(t, lockedPipeline("holder", "l", "pipeline"))
	holder.locks, holder.prefix = locks, "h-"
	holder.start(nil)
	decl := lockedPipeline("waiter", "l", "pipeline")
	decl.ExecutionMode = pipeline.Superseded
	w := newHarness(t, decl)
	w.locks = locks
	first := w.start(nil)
	wantEqual(t, "queue", len(locks["l"].Queue), 1)
	second := w.start(nil)
	wantEqual(t, "first", first.Status, ExecutionSuperseded)
	if q := locks["l"].Queue; len(q) != 1 || q[0].ExecutionID != second.ID {
		t.Fatalf("queue %+v, want only the newest waiter", q)
	}
}

func lockEvents(events []Event) []string {
	var out []string
	for _, e := range events {
		if e.DetailType == LockEvent {
			out = append(out, e.State+" "+e.Lock+" "+e.Summary)
		}
	}
	return out
}
