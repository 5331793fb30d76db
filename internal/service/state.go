package service

import (
	"context"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// PipelineState is the read model of a pipeline's state: per stage, its
// inbound transition, the latest execution to enter it, and who waits to
// enter it; and the newest executions. The API's GetPipelineState and the
// console's pipeline page both show it.
type PipelineState struct {
	Name    string
	Version int
	// Declaration is the pipeline as applied (its mode, lock, variables).
	Declaration *pipeline.Pipeline
	Stages      []StageState
	// Recent are the newest executions, newest first (at most
	// RecentInState); Running those among the executions read that have not
	// ended, newest first.
	Recent  []*engine.Execution
	Running []*engine.Execution
}

// StageState is one stage of a PipelineState.
type StageState struct {
	Name    string
	Index   int // of the stage within Latest.Stages
	Actions []string
	// Declared is the stage as declared: its lock, and the actions to show
	// while no execution has entered it.
	Declared   pipeline.Stage
	Transition Transition
	Latest     *engine.Execution
	Waiting    []*engine.Execution
}

// Retryable reports whether the stage failed or stopped in the latest
// execution to enter it, which ended so: then it may be retried.
func (ss StageState) Retryable() bool {
	return ss.Latest != nil && StageRetryable(ss.Latest, ss.Index)
}

// StageRetryable reports whether stage i of e failed or stopped and e ended
// so: RetryStageExecution would take it.
func StageRetryable(e *engine.Execution, i int) bool {
	st := e.Stages[i].Status
	return (st == engine.StageFailed || st == engine.StageStopped) &&
		(e.Status == engine.ExecutionFailed || e.Status == engine.ExecutionStopped)
}

// recentForState bounds how far back the latest execution of each stage is
// looked for; older stages show as not yet run. stateBatch is how many
// executions are read at a time: the newest are read a few at a time until
// every stage has found the latest execution to enter it (usually in the
// first batch), so that a long history costs nothing. An execution waiting
// to enter a stage is newer than the latest to enter it (none overtakes
// it), so it is read before the scan stops.
const (
	recentForState = 200
	stateBatch     = 10
	// RecentInState is how many of the newest executions PipelineState
	// returns in Recent.
	RecentInState = 10
)

// PipelineState returns the state of every stage of a pipeline.
func (s *Service) PipelineState(ctx context.Context, name string) (PipelineState, error) {
	p, err := s.Pipeline(ctx, name)
	if err != nil {
		return PipelineState{}, err
	}
	d := p.Declaration
	out := PipelineState{Name: name, Version: p.Version, Declaration: d}
	for i, st := range d.Stages {
		ss := StageState{Name: st.Name, Declared: st, Transition: Transition{Enabled: true}}
		if t, ok := p.Transitions[st.Name]; ok && i > 0 {
			ss.Transition = t
		}
		for _, a := range st.Actions {
			ss.Actions = append(ss.Actions, a.Name)
		}
		out.Stages = append(out.Stages, ss)
	}
	missing := len(out.Stages)
	var before int64
	for scanned := 0; scanned < recentForState && (missing > 0 || scanned == 0); {
		batch, err := s.Executions(ctx, name, before, stateBatch)
		if err != nil {
			return PipelineState{}, err
		}
		// Newest first: the first execution that entered a stage is its latest.
		for _, e := range batch {
			if len(out.Recent) < RecentInState {
				out.Recent = append(out.Recent, e)
			}
			if !e.Status.Terminal() {
				out.Running = append(out.Running, e)
			}
			for i := range out.Stages {
				ss := &out.Stages[i]
				for j, es := range e.Stages {
					if es.Name != ss.Name {
						continue
					}
					if e.Waiting && e.Current == j && !e.Status.Terminal() {
						ss.Waiting = append([]*engine.Execution{e}, ss.Waiting...)
					}
					if e.Rollback != nil && j != e.Rollback.Stage {
						// A rollback carries the stages before its own as
						// its target ran them; it did not enter them.
						continue
					}
					if ss.Latest == nil && es.Status != engine.StageNotStarted {
						ss.Latest, ss.Index = e, j
						missing--
					}
				}
			}
		}
		scanned += len(batch)
		if len(batch) < stateBatch {
			break
		}
		before = batch[len(batch)-1].Seq
	}
	return out, nil
}
