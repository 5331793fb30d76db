package service

import (
	"context"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Meter receives what the server's metrics count (package metrics is one).
// Its methods must not wait: they run after each decision's commit.
type Meter interface {
	// ExecutionStatus counts an execution reaching a status.
	ExecutionStatus(pipeline, status string)
	// ActionEnded records how long an action ran before its end status.
	ActionEnded(provider, status string, d time.Duration)
	// JobClaimed records how long a job waited for a worker.
	JobClaimed(provider string, waited time.Duration)
	// Waited records a wait on a gate or a lock (kind "gate" or "lock").
	Waited(kind string, d time.Duration)
}

type noMeter struct{}

func (noMeter) ExecutionStatus(string, string)            {}
func (noMeter) ActionEnded(string, string, time.Duration) {}
func (noMeter) JobClaimed(string, time.Duration)          {}
func (noMeter) Waited(string, time.Duration)              {}

// SetMeter makes the service report to m.
func (s *Service) SetMeter(m Meter) {
	if m == nil {
		m = noMeter{}
	}
	s.meter = m
}

// lockQueueTimes notes when each execution joined each lock's queue, before
// a decision takes it off the queue: the wait is measured when it acquires.
func lockQueueTimes(locks map[string]*engine.Lock) map[[2]string]time.Time {
	var out map[[2]string]time.Time
	for name, l := range locks {
		for _, q := range l.Queue {
			if out == nil {
				out = map[[2]string]time.Time{}
			}
			out[[2]string{name, q.ExecutionID}] = q.Since
		}
	}
	return out
}

// measure reports a committed decision's events to the meter.
func (s *Service) measure(dec engine.Decision, queued map[[2]string]time.Time) {
	if _, off := s.meter.(noMeter); off {
		return
	}
	for _, ev := range dec.Events {
		switch ev.DetailType {
		case engine.PipelineEvent:
			s.meter.ExecutionStatus(ev.Pipeline, ev.State)
		case engine.ActionEvent:
			if ev.State != "SUCCEEDED" && ev.State != "FAILED" && ev.State != "ABANDONED" {
				continue
			}
			start := actionStart(dec.Changed, ev)
			if start.IsZero() {
				continue
			}
			provider := ""
			if ev.ActionType != nil {
				provider = ev.ActionType.Provider
			}
			s.meter.ActionEnded(provider, ev.State, ev.Time.Sub(start))
			if provider == pipeline.ProviderPipelineGate {
				s.meter.Waited("gate", ev.Time.Sub(start))
			}
		case engine.LockEvent:
			if ev.State != "ACQUIRED" {
				continue
			}
			var waited time.Duration
			if since, ok := queued[[2]string{ev.Lock, ev.ExecutionID}]; ok {
				waited = ev.Time.Sub(since)
			}
			s.meter.Waited("lock", waited)
		}
	}
}

// actionStart finds when the action an event is about started.
func actionStart(changed []*engine.Execution, ev engine.Event) time.Time {
	for _, e := range changed {
		if e.ID != ev.ExecutionID {
			continue
		}
		for _, st := range e.Stages {
			if st.Name != ev.Stage {
				continue
			}
			for _, a := range st.Actions {
				if a.Decl.Name == ev.Action {
					return a.StartTime
				}
			}
		}
	}
	return time.Time{}
}

// QueueDepth counts the jobs of the built-in providers that workers run,
// queued and not yet claimed (the sluice_jobs_queued gauge).
func (s *Service) QueueDepth(ctx context.Context) (int, error) {
	var providers []string
	for _, p := range pipeline.Providers() {
		if !pipeline.IsHeld(p) {
			providers = append(providers, p)
		}
	}
	jobs, err := s.store.QueuedJobs(ctx, providers)
	return len(jobs), err
}
