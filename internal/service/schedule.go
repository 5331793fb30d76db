package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/schedule"
	"github.com/sluice-ci/sluice/internal/store"
)

// RunScheduler fires schedule triggers until ctx ends, looking every interval
// (a second is fine: the state that decides is in the store).
func (s *Service) RunScheduler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.ScheduleOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("schedule triggers", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ScheduleOnce starts every pipeline whose schedule has a tick due. Each trigger
// keeps, in the store, when it was first seen (the anchor of rate expressions)
// and the last tick it fired, written with the start itself: a tick fires once,
// even across restarts. Ticks missed while the server was down fire once, as
// the latest of them, rather than in a burst.
func (s *Service) ScheduleOnce(ctx context.Context) error {
	infos, err := s.Pipelines(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, info := range infos {
		for i, t := range info.Declaration.Triggers {
			if t.ProviderType != pipeline.TriggerSchedule {
				continue
			}
			if err := s.scheduleTrigger(ctx, info.Declaration.Name, i, t); err != nil {
				errs = append(errs, fmt.Errorf("pipeline %s trigger %d: %w", info.Declaration.Name, i, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) scheduleTrigger(ctx context.Context, name string, index int, t pipeline.Trigger) error {
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
	raw, err := s.store.TriggerState(ctx, key)
	if err != nil {
		return err
	}
	now := s.now()
	anchor, last, ok := parseTicks(raw)
	if !ok {
		return s.store.Update(ctx, name, func(tx store.Tx) error {
			return tx.SetTriggerState(ctx, key, formatTicks(now, now), now)
		})
	}
	next := func(after time.Time) time.Time {
		if _, isRate := sched.Rate(); isRate {
			return sched.NextRate(anchor, after)
		}
		return sched.Next(after, loc)
	}
	tick := next(last)
	if tick.IsZero() || tick.After(now) {
		return nil
	}
	for range 100000 {
		n := next(tick)
		if n.IsZero() || n.After(now) {
			break
		}
		tick = n
	}
	detail := fmt.Sprintf("schedule %s, tick %s", t.Schedule, tick.In(loc).Format(time.RFC3339))
	return s.start(ctx, StartRequest{
		Pipeline:       name,
		Trigger:        engine.Trigger{Type: TriggerSchedule, Detail: detail},
		IdempotencyKey: fmt.Sprintf("schedule/%s/%d/%d", name, index, tick.UnixMilli()),
		TriggerState:   map[string]string{key: formatTicks(anchor, tick)},
		Note:           &TriggerNote{Type: TriggerSchedule, Detail: detail},
	})
}

func formatTicks(anchor, last time.Time) string {
	return strconv.FormatInt(anchor.UnixMilli(), 10) + ":" + strconv.FormatInt(last.UnixMilli(), 10)
}

func parseTicks(v string) (anchor, last time.Time, ok bool) {
	a, l, found := strings.Cut(v, ":")
	if !found {
		return
	}
	am, err1 := strconv.ParseInt(a, 10, 64)
	lm, err2 := strconv.ParseInt(l, 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	return time.UnixMilli(am).UTC(), time.UnixMilli(lm).UTC(), true
}
