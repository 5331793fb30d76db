package service

import (
	"context"

	"github.com/sluice-ci/sluice/internal/engine"
)

// PipelineState is what GetPipelineState shows: per stage, its inbound transition,
// the latest execution to enter it, and who waits to enter it.
type PipelineState struct {
	Name    string
	Version int
	Stages  []StageState
}

// StageState is one stage of a PipelineState.
type StageState struct {
	Name       string
	Index      int // of the stage within Latest.Stages
	Actions    []string
	Transition Transition
	Latest     *engine.Execution
	Waiting    []*engine.Execution
}

// recentForState bounds how far back the latest execution of each stage is looked
// for; older stages show as not yet run.
const recentForState = 200

// PipelineState returns the state of every stage of a pipeline.
func (s *Service) PipelineState(ctx context.Context, name string) (PipelineState, error) {
	p, err := s.Pipeline(ctx, name)
	if err != nil {
		return PipelineState{}, err
	}
	recent, err := s.Executions(ctx, name, 0, recentForState)
	if err != nil {
		return PipelineState{}, err
	}
	out := PipelineState{Name: name, Version: p.Version}
	for i, st := range p.Declaration.Stages {
		ss := StageState{Name: st.Name, Transition: Transition{Enabled: true}}
		if t, ok := p.Transitions[st.Name]; ok {
			ss.Transition = t
		}
		if i == 0 {
			ss.Transition = Transition{Enabled: true}
		}
		for _, a := range st.Actions {
			ss.Actions = append(ss.Actions, a.Name)
		}
		// Newest first: the first execution that entered the stage is the latest.
		for _, e := range recent {
			for j, es := range e.Stages {
				if es.Name != st.Name {
					continue
				}
				if e.Waiting && e.Current == j && !e.Status.Terminal() {
					ss.Waiting = append([]*engine.Execution{e}, ss.Waiting...)
				}
				if ss.Latest == nil && es.Status != engine.StageNotStarted {
					ss.Latest, ss.Index = e, j
				}
			}
		}
		out.Stages = append(out.Stages, ss)
	}
	return out, nil
}
