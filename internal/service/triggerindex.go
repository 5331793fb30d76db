package service

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// triggerRefresh bounds how long the reactor trusts its index of Pipeline
// triggers without a change notification: a declaration another replica
// stored whose announcement was lost reaches it within this time. (Replicas
// on PostgreSQL announce declarations to each other, see Wake, and a replica
// that may have missed announcements is woken for every kind.)
const triggerRefresh = time.Minute

// triggerIndex is which pipelines declare a Pipeline trigger on each
// pipeline: an execution's end looks its pipeline up here instead of reading
// and decoding every declaration, so it costs nothing for a pipeline nobody
// follows. It is built from the store at first use, again after every
// declaration stored or deleted (the service's declared notifier, which
// other replicas' announcements close too) and at least every
// triggerRefresh.
type triggerIndex struct {
	mu      sync.Mutex
	down    map[string][]string // upstream → downstream pipelines, in the store's order
	built   time.Time           // by the service's clock
	changed <-chan struct{}     // closed at the next declaration change after the build
}

// triggeredBy returns the pipelines that declare a Pipeline trigger on
// upstream, whatever states they follow. A declaration that cannot be
// decoded is an error, and the index is read again at the next call; the
// others are still returned.
func (s *Service) triggeredBy(ctx context.Context, upstream string) ([]string, error) {
	ix := &s.triggerIndex
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.down != nil && s.now().Sub(ix.built) < triggerRefresh && !closed(ix.changed) {
		return ix.down[upstream], nil
	}
	changed := s.declared.wait() // before reading: a change in between is not missed
	now := s.now()
	rows, err := s.store.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	down := map[string][]string{}
	var errs []error
	live := make(map[string]bool, len(rows))
	for _, r := range rows {
		live[r.Name] = true
		decl, err := s.triggerDecl(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if decl == nil {
			continue
		}
		for _, t := range decl.Triggers {
			if t.ProviderType != pipeline.TriggerPipeline || t.Pipeline == nil {
				continue
			}
			if l := down[t.Pipeline.Name]; !slices.Contains(l, r.Name) {
				down[t.Pipeline.Name] = append(l, r.Name)
			}
		}
	}
	s.forgetTriggerDecls(live)
	if len(errs) > 0 {
		ix.down = nil // read again next time, as before the index
		return down[upstream], errors.Join(errs...)
	}
	ix.down, ix.built, ix.changed = down, now, changed
	return down[upstream], nil
}

// forgetTriggerDecls drops the decoded declarations of pipelines that no
// longer exist.
func (s *Service) forgetTriggerDecls(live map[string]bool) {
	s.triggerCacheMu.Lock()
	defer s.triggerCacheMu.Unlock()
	for name := range s.triggerCache {
		if !live[name] {
			delete(s.triggerCache, name)
		}
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
