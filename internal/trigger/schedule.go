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

// Run fires schedule triggers until ctx ends, looking every interval
// (a second is fine: the state that decides is in the store).
func (sc *Scheduler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := sc.Once(ctx); err != nil && ctx.Err() == nil {
			sc.svc.Logger().Warn("schedule triggers", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once starts every pipeline whose schedule has a tick due. Each trigger
// keeps, in the store, when it was first seen (the anchor of rate expressions)
// and the last tick it fired, written with the start itself: a tick fires once,
// even across restarts. Ticks missed while the server was down fire once, as
// the latest of them, rather than in a burst.
func (sc *Scheduler) Once(ctx context.Context) error {
	infos, err := sc.svc.Pipelines(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, info := range infos {
		for i, t := range info.Declaration.Triggers {
			if t.ProviderType != pipeline.TriggerSchedule {
				continue
			}
			if err := sc.fire(ctx, info.Declaration.Name, i, t); err != nil {
				errs = append(errs, fmt.Errorf("pipeline %s trigger %d: %w", info.Declaration.Name, i, err))
			}
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
