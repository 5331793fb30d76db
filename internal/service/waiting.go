package service

import (
	"context"
	"strings"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Kinds of Waiting.
const (
	WaitLock       = "lock"       // queued for a lock another execution holds
	WaitGate       = "gate"       // a PipelineGate action waits on another pipeline
	WaitApproval   = "approval"   // a Manual action waits for an answer
	WaitInvoke     = "invoke"     // a Pipeline action follows the execution it started
	WaitTransition = "transition" // the transition into the next stage is disabled
	WaitStage      = "stage"      // the next stage is occupied, or others are queued ahead
)

// Waiting says what an execution in progress waits for, when it waits for
// something outside its own actions' work: it is "InProgress" in every list,
// and this says why nothing moves.
type Waiting struct {
	Kind string // one of the Wait* kinds
	// Name is what is waited for: the lock, the gated pipeline, the invoked
	// pipeline, the stage (for an approval, STAGE/ACTION).
	Name string
	// Position in the lock's queue (1: next) and the pipeline holding the
	// lock, for a lock.
	Position int
	HeldBy   string
	Detail   string // the whole sentence, when the engine gave one
}

// Label is the short form lists show after "InProgress": "waiting for lock
// prod-cluster", "waiting for gate: infra", "waiting for approval".
func (w *Waiting) Label() string {
	if w == nil {
		return ""
	}
	switch w.Kind {
	case WaitLock:
		return "waiting for lock " + w.Name
	case WaitGate:
		return "waiting for gate: " + w.Name
	case WaitApproval:
		return "waiting for approval"
	case WaitInvoke:
		return "waiting for invoked pipeline " + w.Name
	case WaitTransition:
		return "waiting for disabled transition to " + w.Name
	case WaitStage:
		return "waiting for stage " + w.Name
	}
	return "waiting"
}

// lockQueue is where an execution stands in a lock's queue.
type lockQueue struct {
	lock     string
	position int
	heldBy   string
}

// lockQueues indexes the lock queues by execution id.
func (s *Service) lockQueues(ctx context.Context) (map[string]lockQueue, error) {
	locks, err := s.Locks(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]lockQueue{}
	for _, l := range locks {
		heldBy := ""
		if l.Holder != nil {
			heldBy = l.Holder.Pipeline
		}
		for i, q := range l.Queue {
			if _, ok := out[q.ExecutionID]; !ok {
				out[q.ExecutionID] = lockQueue{lock: l.Name, position: i + 1, heldBy: heldBy}
			}
		}
	}
	return out, nil
}

// WaitingOf says what e waits for, or nil when it is not in progress or
// waits for nothing but its own actions' work.
func waitingOf(e *engine.Execution, queues map[string]lockQueue) *Waiting {
	if e == nil || e.Status != engine.ExecutionInProgress {
		return nil
	}
	if q, ok := queues[e.ID]; ok {
		return &Waiting{Kind: WaitLock, Name: q.lock, Position: q.position, HeldBy: q.heldBy, Detail: e.WaitingFor}
	}
	if e.Current < 0 || e.Current >= len(e.Stages) {
		return nil
	}
	st := &e.Stages[e.Current]
	if e.Waiting && e.WaitingFor != "" {
		kind := WaitStage
		if strings.HasPrefix(e.WaitingFor, "transition to stage") {
			kind = WaitTransition
		}
		return &Waiting{Kind: kind, Name: st.Name, Detail: e.WaitingFor}
	}
	if st.Status != engine.StageInProgress {
		return nil
	}
	// An action doing work (a build, a deploy) is progress, not waiting; an
	// approval, a gate or an invoke waits on someone else.
	var w *Waiting
	for _, a := range st.Actions {
		if a.Status != engine.ActionInProgress {
			continue
		}
		var this *Waiting
		switch a.Decl.ActionTypeID.Provider {
		case pipeline.ProviderManual:
			this = &Waiting{Kind: WaitApproval, Name: st.Name + "/" + a.Decl.Name, Detail: a.Summary}
		case pipeline.ProviderPipelineGate:
			this = &Waiting{Kind: WaitGate, Name: a.Decl.Configuration["PipelineName"], Detail: a.Summary}
		case pipeline.ProviderPipeline:
			this = &Waiting{Kind: WaitInvoke, Name: a.Decl.Configuration["PipelineName"], Detail: a.Summary}
		default:
			return nil // something runs: the execution is not (only) waiting
		}
		if w == nil {
			w = this
		}
	}
	return w
}

// ExecutionWaiting says what each of es waits for (nil entries for those
// that wait for nothing), reading the locks' queues once.
func (s *Service) ExecutionWaiting(ctx context.Context, es ...*engine.Execution) ([]*Waiting, error) {
	out := make([]*Waiting, len(es))
	var queues map[string]lockQueue
	for i, e := range es {
		if e == nil || e.Status != engine.ExecutionInProgress {
			continue
		}
		if queues == nil {
			var err error
			if queues, err = s.lockQueues(ctx); err != nil {
				return nil, err
			}
		}
		out[i] = waitingOf(e, queues)
	}
	return out, nil
}

// LatestExecutions returns each named pipeline's latest execution (nil for
// one that never ran, and for an empty name).
func (s *Service) LatestExecutions(ctx context.Context, names []string) ([]*engine.Execution, error) {
	out := make([]*engine.Execution, len(names))
	for i, name := range names {
		if name == "" {
			continue
		}
		rows, err := s.store.Executions(ctx, name, 0, 1)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			continue
		}
		if out[i], err = decodeExecution(rows[0]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
