package service

import (
	"context"

	"github.com/sluice-ci/sluice/internal/depgraph"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Graph draws how the stored pipelines depend on one another (gates,
// pipeline triggers, invoke actions, locks), with the status of each
// pipeline's latest execution ("" for one that never ran), what it waits for,
// and who holds each lock and who is queued for it.
func (s *Service) Graph(ctx context.Context) (*depgraph.Graph, error) {
	rows, err := s.store.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	decls := make([]*pipeline.Pipeline, 0, len(rows))
	names := make([]string, 0, len(rows))
	for _, r := range rows {
		d, err := decodeDeclaration(r.Name, r.Declaration)
		if err != nil {
			return nil, err
		}
		decls = append(decls, d)
		names = append(names, r.Name)
	}
	latest, err := s.LatestExecutions(ctx, names)
	if err != nil {
		return nil, err
	}
	waits, err := s.ExecutionWaiting(ctx, latest...)
	if err != nil {
		return nil, err
	}
	status, waiting := map[string]string{}, map[string]string{}
	for i, e := range latest {
		if e != nil {
			status[names[i]] = string(e.Status)
			waiting[names[i]] = waits[i].Label()
		}
	}
	locks, err := s.Locks(ctx)
	if err != nil {
		return nil, err
	}
	lockStates := map[string]depgraph.LockState{}
	for _, l := range locks {
		var st depgraph.LockState
		if l.Holder != nil {
			st.Holder = &depgraph.LockUser{Pipeline: l.Holder.Pipeline, ExecutionID: l.Holder.ExecutionID}
		}
		for _, q := range l.Queue {
			st.Queue = append(st.Queue, depgraph.LockUser{Pipeline: q.Pipeline, ExecutionID: q.ExecutionID})
		}
		lockStates[l.Name] = st
	}
	g := depgraph.Build(decls)
	g.SetStatus(status)
	g.SetWaiting(waiting)
	g.SetLocks(lockStates)
	return g, nil
}
