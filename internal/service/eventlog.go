package service

import (
	"context"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// WaitEvents returns the events matching f, waiting up to wait for the first
// one to be written when there is none yet: the long poll under the event
// stream.
func (s *Service) WaitEvents(ctx context.Context, f store.EventFilter, wait time.Duration) ([]Event, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ch := s.changed.wait()
		evs, err := s.Events(ctx, f)
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		if done, err := s.sleep(ctx, ch, deadline.C); done || err != nil {
			return nil, err
		}
	}
}

// RunEventPruner deletes events and delivered notifications older than
// retention, every interval, until ctx ends. Events that the reactor or a rule
// has not read yet are kept, and so are dead letters.
func (s *Service) RunEventPruner(ctx context.Context, retention, interval time.Duration) {
	if retention <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := s.store.PruneEvents(ctx, s.now().Add(-retention), 1000)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("prune events", "err", err)
				}
				break
			}
			if n < 1000 {
				break
			}
		}
		// Deliveries that got through go with the events that caused them;
		// dead letters stay.
		for {
			n, err := s.store.PruneDeliveries(ctx, s.now().Add(-retention), 1000)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("prune deliveries", "err", err)
				}
				break
			}
			if n < 1000 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
