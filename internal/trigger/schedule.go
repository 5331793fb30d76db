package trigger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/schedule"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// Scheduler fires the Schedule triggers of pipelines.
type Scheduler struct{ svc Service }

// NewScheduler returns the scheduler over svc.
func NewScheduler(svc Service) *Scheduler { return &Scheduler{svc: svc} }

// scheduleRefresh bounds how long the scheduler trusts what it read of the
// pipelines' schedule triggers without a change notification: declarations
// another replica stored reach it within this time.
const scheduleRefresh = time.Minute

// Run fires schedule triggers until ctx ends, looking every interval (a
// second is fine: the state that decides is in the store). It reads the
// pipelines only when a declaration changes (when the service tells) and
// every scheduleRefresh, not at every look: with no schedule trigger declared
// it sleeps until one may be, so an idle server spends nothing here.
func (sc *Scheduler) Run(ctx context.Context, interval time.Duration) {
	type changes interface{ PipelinesChanged() <-chan struct{} }
	n, _ := sc.svc.(changes)
	for {
		var changed <-chan struct{}
		if n != nil {
			changed = n.PipelinesChanged() // before reading: a change in between is not missed
		}
		triggers, err := sc.scheduled(ctx)
		if err != nil && ctx.Err() == nil {
			sc.svc.Logger().Warn("schedule triggers", "err", err)
		}
		refresh := time.Now().Add(scheduleRefresh)
		if err != nil || n == nil {
			refresh = time.Now() // read again at the next look
		}
		for {
			if len(triggers) > 0 {
				if err := sc.fireAll(ctx, triggers); err != nil && ctx.Err() == nil {
					sc.svc.Logger().Warn("schedule triggers", "err", err)
				}
			}
			// With triggers, look every interval; without, sleep until the
			// next read (never sooner than interval).
			wait := interval
			if len(triggers) == 0 {
				wait = max(time.Until(refresh), interval)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-changed:
				t.Stop()
			case <-t.C:
				if time.Now().Before(refresh) {
					continue
				}
			}
			break
		}
	}
}

// scheduledTrigger is one Schedule trigger of a pipeline: the trigger and
// its index among the pipeline's triggers.
type scheduledTrigger struct {
	pipeline string
	index    int
	trigger  pipeline.Trigger
}

// scheduled reads the Schedule triggers of every pipeline.
func (sc *Scheduler) scheduled(ctx context.Context) ([]scheduledTrigger, error) {
	infos, err := sc.svc.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	var out []scheduledTrigger
	for _, info := range infos {
		for i, t := range info.Declaration.Triggers {
			if t.ProviderType == pipeline.TriggerSchedule {
				out = append(out, scheduledTrigger{info.Declaration.Name, i, t})
			}
		}
	}
	return out, nil
}

// Once starts every pipeline whose schedule has a tick due. Each trigger
// keeps, in the store, when it was first seen (the anchor of rate expressions)
// and the last tick it fired, written with the start itself: a tick fires once,
// even across restarts. Ticks missed while the server was down fire once, as
// the latest of them, rather than in a burst.
func (sc *Scheduler) Once(ctx context.Context) error {
	triggers, err := sc.scheduled(ctx)
	if err != nil {
		return err
	}
	return sc.fireAll(ctx, triggers)
}

// fireAll fires each of triggers whose tick is due.
func (sc *Scheduler) fireAll(ctx context.Context, triggers []scheduledTrigger) error {
	var errs []error
	for _, t := range triggers {
		if err := sc.fire(ctx, t.pipeline, t.index, t.trigger); err != nil {
			errs = append(errs, fmt.Errorf("pipeline %s trigger %d: %w", t.pipeline, t.index, err))
		}
	}
	return errors.Join(errs...)
}

func (sc *Scheduler) fire(ctx context.Context, name string, index int, t pipeline.Trigger) error {
	sched, err := schedule.Parse(t.Schedule)
	if err != nil {
		return err // validation refused it at apply; only an old version could hold one
	}
	loc, err := schedule.LoadLocation(t.TimeZone)
	if err != nil {
		return err
	}
	// The expression and zone are part of the key: changing them starts afresh.
	key := fmt.Sprintf("%s/schedule/%d/%s@%s", name, index, t.Schedule, t.TimeZone)
	raw, err := sc.svc.Store().TriggerState(ctx, key)
	if err != nil {
		return err
	}
	now := sc.svc.Now()
	anchor, last, ok := schedule.ParseTicks(raw)
	if !ok {
		return sc.svc.Store().Update(ctx, name, func(tx store.Tx) error {
			return tx.SetTriggerState(ctx, key, schedule.FormatTicks(now, now), now)
		})
	}
	tick := sched.Due(anchor, last, now, loc)
	if tick.IsZero() {
		return nil
	}
	detail := fmt.Sprintf("schedule %s, tick %s", t.Schedule, tick.In(loc).Format(time.RFC3339))
	return start(ctx, sc.svc, service.StartRequest{
		Pipeline:       name,
		Trigger:        engine.Trigger{Type: service.TriggerSchedule, Detail: detail},
		IdempotencyKey: fmt.Sprintf("schedule/%s/%d/%d", name, index, tick.UnixMilli()),
		TriggerState:   map[string]string{key: schedule.FormatTicks(anchor, tick)},
		Note:           &service.TriggerNote{Type: service.TriggerSchedule, Detail: detail},
	})
}
