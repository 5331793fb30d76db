package engine

import (
	"fmt"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// reconcile advances every execution, oldest first, until none can move: one
// execution leaving a stage may let another one in.
func (d *decider) reconcile() {
	defer d.syncLocks()
	for range 4 * (len(d.execs) + 1) * (maxStages(d.execs) + 2) {
		d.syncLocks()
		moved := false
		for _, e := range d.execs {
			if d.advance(e) {
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

func maxStages(execs []*Execution) int {
	n := 0
	for _, e := range execs {
		n = max(n, len(e.Stages))
	}
	return n
}

// advance makes one step of progress for e, if it can, and reports whether it did.
func (d *decider) advance(e *Execution) bool {
	if e.Status.Terminal() {
		return false
	}
	if e.Waiting {
		if e.Status == ExecutionStopping {
			e.Status = ExecutionStopped
			e.Waiting = false
			e.WaitingFor = ""
			e.Summary = orDefault(e.StopReason, "stopped")
			d.touch(e)
			d.emit(e, PipelineEvent, "", nil, "STOPPED", e.StopReason)
			return true
		}
		return d.tryEnter(e)
	}
	st := &e.Stages[e.Current]
	var running, failed, notStarted, abandoned int
	for _, a := range st.Actions {
		switch a.Status {
		case ActionInProgress:
			running++
		case ActionFailed:
			failed++
		case ActionNotStarted:
			notStarted++
		case ActionAbandoned:
			abandoned++
		}
	}
	if handled, moved := d.stageAdvance(e, st, running, failed, notStarted, abandoned); handled {
		return moved
	}
	switch {
	case running > 0:
		return false
	case e.Status == ExecutionStopping:
		st.Status = StageStopped
		e.Status = ExecutionStopped
		e.Summary = orDefault(e.StopReason, "stopped")
		d.touch(e)
		d.emit(e, StageEvent, st.Name, nil, "STOPPED", e.StopReason)
		d.emit(e, PipelineEvent, "", nil, "STOPPED", e.StopReason)
		return true
	case failed > 0 || abandoned > 0:
		st.Status = StageFailed
		e.Status = ExecutionFailed
		e.Summary = failureSummary(st)
		d.touch(e)
		d.emit(e, StageEvent, st.Name, nil, "FAILED", e.Summary)
		d.emit(e, PipelineEvent, "", nil, "FAILED", e.Summary)
		return true
	case notStarted > 0:
		d.startNextGroup(e, st)
		return true
	}
	st.Status = StageSucceeded
	d.touch(e)
	d.emit(e, StageEvent, st.Name, nil, "SUCCEEDED", "")
	d.leaveStage(e)
	return true
}

// tryEnter lets a waiting execution into its next stage when the transition is
// enabled and the execution mode allows it.
func (d *decider) tryEnter(e *Execution) bool {
	st := &e.Stages[e.Current]
	waitingFor := ""
	if reason, disabled := d.p.Disabled[st.Name]; disabled && e.Current > 0 {
		waitingFor = fmt.Sprintf("transition to stage %s is disabled", st.Name)
		if reason != "" {
			waitingFor += ": " + reason
		}
	} else if d.p.Mode != pipeline.Parallel {
		if other := d.occupant(st.Name, e); other != nil {
			waitingFor = fmt.Sprintf("stage %s is occupied by execution %s", st.Name, other.ID)
		} else if d.p.Mode == pipeline.Queued {
			if first := d.firstWaiting(st.Name); first != nil && first != e {
				waitingFor = fmt.Sprintf("queued behind execution %s for stage %s", first.ID, st.Name)
			}
		}
	}
	if waitingFor == "" {
		waitingFor = d.acquire(e, st)
	}
	if waitingFor != "" {
		if e.WaitingFor != waitingFor {
			e.WaitingFor = waitingFor
			d.touch(e)
		}
		return false
	}
	e.Waiting = false
	e.WaitingFor = ""
	st.Status = StageInProgress
	if st.Attempt == 0 {
		st.Attempt = 1
	}
	d.touch(e)
	d.emit(e, StageEvent, st.Name, nil, "STARTED", "")
	return true
}

// occupant returns the execution other than e that is inside the stage named name.
func (d *decider) occupant(name string, e *Execution) *Execution {
	for _, o := range d.execs {
		if o == e || o.Status.Terminal() || o.Waiting || o.Current >= len(o.Stages) {
			continue
		}
		if o.Stages[o.Current].Name == name {
			return o
		}
	}
	return nil
}

func (d *decider) firstWaiting(name string) *Execution {
	for _, o := range d.execs { // sorted by Seq
		if !o.Status.Terminal() && o.Waiting && o.Stages[o.Current].Name == name {
			return o
		}
	}
	return nil
}

// supersedeWaiting applies SUPERSEDED mode when e starts waiting for a stage: only
// the newest execution waits at a stage, older ones end Superseded.
func (d *decider) supersedeWaiting(e *Execution) {
	if d.p.Mode != pipeline.Superseded {
		return
	}
	name := e.Stages[e.Current].Name
	var newest *Execution
	for _, o := range d.execs {
		if !o.Status.Terminal() && o.Waiting && o.Stages[o.Current].Name == name {
			if newest == nil || o.Seq > newest.Seq {
				newest = o
			}
		}
	}
	for _, o := range d.execs {
		if o == newest || o.Status.Terminal() || !o.Waiting || o.Stages[o.Current].Name != name {
			continue
		}
		if o.Status == ExecutionStopping {
			continue // it is about to stop on its own
		}
		o.Status = ExecutionSuperseded
		o.Waiting = false
		o.WaitingFor = ""
		o.Summary = fmt.Sprintf("superseded by execution %s", newest.ID)
		d.touch(o)
		d.emit(o, PipelineEvent, "", nil, "SUPERSEDED", o.Summary)
	}
}

// startNextGroup starts every not-started action of the lowest runOrder that has any.
func (d *decider) startNextGroup(e *Execution, st *Stage) {
	order, found := 0, false
	for _, a := range st.Actions {
		if a.Status == ActionNotStarted && (!found || runOrderOf(a.Decl) < order) {
			order, found = runOrderOf(a.Decl), true
		}
	}
	for i := range st.Actions {
		a := &st.Actions[i]
		if a.Status == ActionNotStarted && runOrderOf(a.Decl) == order {
			a.RunAttempts = 0
			d.offer(e, st, a)
		}
	}
}
