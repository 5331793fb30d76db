package engine

import (
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// stop applies a Stop: the execution goes Stopping, and with an abandon its
// running actions are marked Abandoned and their jobs cancelled at once; advance
// ends it Stopped once nothing runs.
func (d *decider) stop(h Stop) error {
	e, err := d.find(h.ExecutionID)
	if err != nil {
		return err
	}
	switch {
	case e.Status == ExecutionInProgress:
	case e.Status == ExecutionStopping && h.Abandon:
		// Upgrading a stop-and-wait to an abandon is allowed, as in CodePipeline.
	default:
		return conflict("execution %s is %s; only an execution in progress can be stopped", e.ID, e.Status)
	}
	e.StopReason = h.Reason
	d.touch(e)
	if h.Abandon {
		e.StopMode = StopAndAbandon
	} else {
		e.StopMode = StopAndWait
	}
	if e.Status != ExecutionStopping {
		e.Status = ExecutionStopping
		d.emit(e, PipelineEvent, "", nil, "STOPPING", h.Reason)
	}
	if !e.Waiting && e.Current < len(e.Stages) {
		st := &e.Stages[e.Current]
		if st.Status == StageInProgress {
			st.Status = StageStopping
			d.emit(e, StageEvent, st.Name, nil, "STOPPING", h.Reason)
		}
		for i := range st.Actions {
			a := &st.Actions[i]
			// An approval or a gate has no work in progress to wait for: a
			// stop-and-wait ends them at once, as an abandon does.
			if a.Status != ActionInProgress || !(h.Abandon || waitsOnly(a.Decl)) {
				continue
			}
			a.Status = ActionAbandoned
			a.Summary = "abandoned: " + orDefault(h.Reason, "the execution was stopped")
			a.LastUpdate = d.env.Now
			d.cancel = append(d.cancel, CancelJob{JobID: a.JobID, Reason: "abandoned"})
			d.emitAction(e, a, "ABANDONED", a.Summary)
		}
	}
	return nil
}

// retry applies a Retry: the stage's failed, abandoned and unstarted actions (or
// all of them) go back to NotStarted and the execution is InProgress again, for
// advance to run them.
func (d *decider) retry(h Retry) error {
	e, err := d.find(h.ExecutionID)
	if err != nil {
		return err
	}
	if e.Status != ExecutionFailed && e.Status != ExecutionStopped {
		return conflict("execution %s is %s; only a failed or stopped execution can be retried", e.ID, e.Status)
	}
	if e.Waiting || e.Current >= len(e.Stages) || e.Stages[e.Current].Name != h.Stage {
		return conflict("stage %s of execution %s did not fail or stop; nothing to retry there", h.Stage, e.ID)
	}
	st := &e.Stages[e.Current]
	if st.Status != StageFailed && st.Status != StageStopped {
		return conflict("stage %s of execution %s is %s; only a failed or stopped stage can be retried", h.Stage, e.ID, st.Status)
	}
	if e.Version != d.p.Version {
		return conflict("pipeline %s was updated to version %d after execution %s started on version %d; start a new execution instead", d.p.Name, d.p.Version, e.ID, e.Version)
	}
	if d.p.Mode != pipeline.Parallel {
		if other := d.occupant(st.Name, e); other != nil {
			return conflict("stage %s is occupied by execution %s; retry once it has left the stage", st.Name, other.ID)
		}
	}
	for _, name := range locksFor(e, st) {
		l := d.lock(name)
		switch {
		case l.Holder != nil && l.Holder.ExecutionID != e.ID:
			return conflict("lock %s is held by execution %s of pipeline %s; retry once it is released", name, l.Holder.ExecutionID, l.Holder.Pipeline)
		case l.Holder == nil && len(l.Queue) > 0 && l.Queue[0].ExecutionID != e.ID:
			return conflict("lock %s is next promised to execution %s of pipeline %s; retry once it has had it", name, l.Queue[0].ExecutionID, l.Queue[0].Pipeline)
		}
	}
	// Actions not started yet count as work to retry: a stage stopped between
	// runOrder groups has no failed action but still has actions to run.
	reset := 0
	for i := range st.Actions {
		a := &st.Actions[i]
		if h.All || a.Status == ActionFailed || a.Status == ActionAbandoned || a.Status == ActionNotStarted {
			reset++
			a.Status = ActionNotStarted
			a.Summary = ""
			a.OutputVariables = nil
			a.OutputArtifacts = nil
		}
	}
	if reset == 0 {
		return conflict("stage %s of execution %s has no failed or unfinished action to retry; retry all actions instead", h.Stage, e.ID)
	}
	e.Status = ExecutionInProgress
	e.StopMode = ""
	e.StopReason = ""
	e.Summary = ""
	st.Status = StageInProgress
	st.Attempt++
	st.AutoRetries = 0
	if wait := d.acquire(e, st); wait != "" {
		return conflict("%s", wait) // checked free above; kept as a guard
	}
	d.touch(e)
	d.emit(e, PipelineEvent, "", nil, "RESUMED", "")
	d.emit(e, StageEvent, st.Name, nil, "RESUMED", "")
	return nil
}

// waitsOnly reports whether an action only waits (for a person or another
// pipeline) and has nothing running that a stop-and-wait should let finish.
func waitsOnly(a pipeline.Action) bool {
	p := a.ActionTypeID.Provider
	return p == pipeline.ProviderManual || p == pipeline.ProviderPipelineGate
}
