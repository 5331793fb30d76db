package service

import (
	"context"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// Kinds of Waiting.
const (
	WaitLock       = "lock"       // queued for a lock another execution holds
	WaitGate       = "gate"       // a PipelineGate action waits on another pipeline
	WaitApproval   = "approval"   // a Manual action waits for an answer
	WaitInvoke     = "invoke"     // a Pipeline action follows the execution it started
	WaitTransition = "transition" // the transition into the next stage is disabled
	WaitStage      = "stage"      // the next stage is occupied, or others are queued ahead
	WaitRegion     = "region"     // an action's job waits for a worker of its region
)

// Waiting says what an execution in progress waits for, when it waits for
// something outside its own actions' work: it is "InProgress" in every list,
// and this says why nothing moves. The API, the CLI, the graph and the
// console all show this one answer.
type Waiting struct {
	Kind string // one of the Wait* kinds
	// Name is what is waited for: the lock, the gated pipeline, the invoked
	// pipeline, the stage (for an approval, STAGE/ACTION).
	Name string
	// Stage is the stage the execution waits to enter or waits in; Action
	// is STAGE/ACTION for a gate, an approval or an invoke.
	Stage  string
	Action string
	// Position in the lock's queue (1: next), the pipeline holding the
	// lock, and the pipelines ahead (the holder first), for a lock.
	Position int
	HeldBy   string
	Ahead    []string
	// Condition is a gate's (Succeeded, Idle).
	Condition string
	Detail    string // the whole sentence, when the engine gave one
	// Also lists what else the execution waits for at the same time (two
	// approvals of one stage).
	Also []*Waiting
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
	case WaitRegion:
		return "waiting for a worker in region " + w.Name
	}
	return "waiting"
}

// WaitingOf says what e waits for, given the locks' holders and queues, or
// nil when it is not in progress or waits for nothing but its own actions'
// work. Actions of the stage that run beside a gate or an approval do not
// hide it. Names in a gate's or an invoke's configuration are resolved with
// the execution's variables.
func WaitingOf(e *engine.Execution, locks []LockState) *Waiting {
	if e == nil || e.Status != engine.ExecutionInProgress || e.Current < 0 || e.Current >= len(e.Stages) {
		return nil
	}
	st := &e.Stages[e.Current]
	for _, l := range locks {
		i := slices.IndexFunc(l.Queue, func(h engine.LockHolder) bool { return h.ExecutionID == e.ID })
		if i < 0 {
			continue
		}
		w := &Waiting{Kind: WaitLock, Name: l.Name, Stage: st.Name, Position: i + 1, Detail: e.WaitingFor}
		if l.Holder != nil {
			w.HeldBy = l.Holder.Pipeline
			w.Ahead = append(w.Ahead, l.Holder.Pipeline)
		}
		for _, q := range l.Queue[:i] {
			w.Ahead = append(w.Ahead, q.Pipeline)
		}
		return w
	}
	if e.Waiting {
		if e.WaitingFor == "" {
			return nil
		}
		kind := WaitStage
		if strings.HasPrefix(e.WaitingFor, "transition to stage") {
			kind = WaitTransition
		}
		return &Waiting{Kind: kind, Name: st.Name, Stage: st.Name, Detail: e.WaitingFor}
	}
	var first *Waiting
	for _, a := range st.Actions {
		if a.Status != engine.ActionInProgress {
			continue
		}
		where := st.Name + "/" + a.Decl.Name
		cfg := func(k string) string { return engine.ResolveNow(e, a.Decl.Configuration[k]) }
		var this *Waiting
		switch id := a.Decl.ActionTypeID; {
		case id.Provider == pipeline.ProviderManual:
			this = &Waiting{Kind: WaitApproval, Name: where}
		case id.Provider == pipeline.ProviderPipelineGate:
			cond := cfg("Condition")
			if cond == "" {
				cond = "Succeeded"
			}
			this = &Waiting{Kind: WaitGate, Name: cfg("PipelineName"), Condition: cond}
		case id.Provider == pipeline.ProviderPipeline && id.Category == pipeline.CategoryInvoke:
			this = &Waiting{Kind: WaitInvoke, Name: cfg("PipelineName")}
		default:
			continue // work in progress, not waiting
		}
		this.Stage, this.Action, this.Detail = st.Name, where, a.Summary
		if first == nil {
			first = this
		} else {
			first.Also = append(first.Also, this)
		}
	}
	return first
}

// ExecutionWaiting says what each of es waits for (nil entries for those
// that wait for nothing), reading the locks once.
func (s *Service) ExecutionWaiting(ctx context.Context, es ...*engine.Execution) ([]*Waiting, error) {
	out := make([]*Waiting, len(es))
	var locks []LockState
	read := false
	for i, e := range es {
		if e == nil || e.Status != engine.ExecutionInProgress {
			continue
		}
		if !read {
			var err error
			if locks, err = s.Locks(ctx); err != nil {
				return nil, err
			}
			read = true
		}
		if out[i] = WaitingOf(e, locks); out[i] == nil {
			w, err := s.regionWaiting(ctx, e)
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
	}
	return out, nil
}

// regionWaiting says which action of e's current stage waits for a worker
// of its region (its job still queued there), or nil: the home region's
// queue is work like any other, another region's may have no worker at all.
func (s *Service) regionWaiting(ctx context.Context, e *engine.Execution) (*Waiting, error) {
	if e.Current < 0 || e.Current >= len(e.Stages) {
		return nil, nil
	}
	st := &e.Stages[e.Current]
	for _, a := range st.Actions {
		if a.Status != engine.ActionInProgress || !s.regions.Remote(a.Decl.Region) {
			continue
		}
		jobs, err := s.store.JobsOfAction(ctx, e.ID, st.Name, a.Decl.Name)
		if err != nil {
			return nil, err
		}
		if n := len(jobs); n > 0 && jobs[n-1].Status == store.JobQueued {
			return &Waiting{Kind: WaitRegion, Name: a.Decl.Region, Stage: st.Name, Action: st.Name + "/" + a.Decl.Name}, nil
		}
	}
	return nil, nil
}

// LatestExecutions returns each named pipeline's latest execution (nil for
// one that never ran, and for an empty name), read in one query. An
// execution still active is whole; an ended one carries only what a list
// shows of it, from the store's columns: its ID, pipeline, seq, status,
// trigger, start and last update (to the millisecond), not its stages.
func (s *Service) LatestExecutions(ctx context.Context, names []string) ([]*engine.Execution, error) {
	out := make([]*engine.Execution, len(names))
	asked := make([]string, 0, len(names))
	for _, name := range names {
		if name != "" {
			asked = append(asked, name)
		}
	}
	rows, err := s.store.LatestExecutions(ctx, asked)
	if err != nil {
		return nil, err
	}
	j := 0
	for i, name := range names {
		if name == "" {
			continue
		}
		row := rows[j]
		j++
		switch {
		case row.ID == "":
		case row.Active:
			if out[i], err = decodeExecution(row); err != nil {
				return nil, err
			}
		default:
			out[i] = &engine.Execution{ID: row.ID, Pipeline: row.Pipeline, Seq: row.Seq, Status: engine.ExecutionStatus(row.Status),
				Trigger: engine.Trigger{Type: row.TriggerType, Detail: row.TriggerDetail}, StartTime: row.Started, LastUpdate: row.Updated}
		}
	}
	return out, nil
}
