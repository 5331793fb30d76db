package engine

import (
	"fmt"
	"slices"
	"time"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// A rollback execution (CodePipeline's RollbackStage, or an automatic one
// from a condition's ROLLBACK result) runs one stage again with what an
// earlier execution that succeeded through it used: the same source
// revisions, variables, and the artifacts and output variables of the
// stages before it. It is an execution like any other (it queues for the
// stage, holds its locks, can be stopped), of type ROLLBACK, and it ends once
// that stage has run. Its stage's conditions are not evaluated, so that a
// rollback never asks for another one.

// NewRollback builds a rollback execution of stage of target, which must
// have succeeded through it, for version of the pipeline whose stages decl
// declares. It refuses when the pipeline's structure changed since target
// ran: its stages, or the actions of the stages up to the one rolled back.
func NewRollback(target *Execution, decl *pipeline.Pipeline, version int, stage, id string, trigger Trigger, now time.Time) (*Execution, error) {
	idx := -1
	for i, st := range target.Stages {
		if st.Name == stage {
			idx = i
		}
	}
	if idx < 0 {
		return nil, errcode.Errorf(errcode.Invalid, "stageName: execution %s has no stage %s", target.ID, stage)
	}
	if target.ExecutionType == ExecutionRollback {
		return nil, errcode.Errorf(errcode.Invalid, "targetPipelineExecutionId: execution %s is itself a rollback; name the execution it rolled back to, %s", target.ID, target.Rollback.TargetExecutionID)
	}
	if target.Stages[idx].Status != StageSucceeded {
		return nil, errcode.Errorf(errcode.Conflict, "execution %s did not succeed through stage %s (it is %s there); a rollback needs one that did", target.ID, stage, target.Stages[idx].Status)
	}
	if why := structureChanged(target, decl, idx); why != "" {
		return nil, errcode.Errorf(errcode.Conflict, "the pipeline's structure changed since execution %s ran (%s); it cannot be rolled back to", target.ID, why)
	}
	e := &Execution{
		ID:              id,
		Pipeline:        target.Pipeline,
		Version:         version,
		Status:          ExecutionInProgress,
		Trigger:         trigger,
		Variables:       target.Variables,
		SourceRevisions: slices.Clone(target.SourceRevisions),
		Current:         idx,
		Waiting:         true,
		Lock:            decl.Lock,
		Upstream:        target.Upstream,
		ExecutionType:   ExecutionRollback,
		Rollback:        &RollbackMetadata{TargetExecutionID: target.ID, Stage: idx},
		StartTime:       now,
		LastUpdate:      now,
	}
	for i, st := range target.Stages {
		c := Stage{Name: st.Name, Status: StageNotStarted, Lock: st.Lock}
		if i < idx {
			// What the earlier stages made, as the target made it.
			c.Status = st.Status
			c.Actions = slices.Clone(st.Actions)
		} else {
			for _, a := range st.Actions {
				c.Actions = append(c.Actions, Action{Decl: a.Decl, Status: ActionNotStarted})
			}
		}
		e.Stages = append(e.Stages, c)
	}
	return e, nil
}

// structureChanged says how decl differs from what target ran, as far as a
// rollback of stage idx cares: the stage names, and the actions (name,
// type, artifacts, namespace) of stages up to idx; "" when it does not.
func structureChanged(target *Execution, decl *pipeline.Pipeline, idx int) string {
	if len(decl.Stages) != len(target.Stages) {
		return fmt.Sprintf("it had %d stages, it has %d now", len(target.Stages), len(decl.Stages))
	}
	for i, st := range decl.Stages {
		if st.Name != target.Stages[i].Name {
			return fmt.Sprintf("stage %d was %s, it is %s now", i+1, target.Stages[i].Name, st.Name)
		}
		if i > idx {
			continue
		}
		was := target.Stages[i].Actions
		if len(was) != len(st.Actions) {
			return fmt.Sprintf("stage %s had %d actions, it has %d now", st.Name, len(was), len(st.Actions))
		}
		for ai, a := range st.Actions {
			w := was[ai].Decl
			if a.Name != w.Name || a.ActionTypeID.Provider != w.ActionTypeID.Provider || a.Namespace != w.Namespace ||
				!slices.Equal(a.InputArtifacts, w.InputArtifacts) || !sameOutputs(a.OutputArtifacts, w.OutputArtifacts) {
				return fmt.Sprintf("action %s of stage %s changed", w.Name, st.Name)
			}
		}
	}
	return ""
}

func sameOutputs(a, b []pipeline.OutputArtifact) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}
