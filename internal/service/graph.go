package service

import (
	"context"

	"github.com/sluice-ci/sluice/internal/depgraph"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Graph draws how the stored pipelines depend on one another (gates,
// pipeline triggers, invoke actions, locks), with the status of each
// pipeline's latest execution ("" for one that never ran).
func (s *Service) Graph(ctx context.Context) (*depgraph.Graph, error) {
	rows, err := s.store.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	decls := make([]*pipeline.Pipeline, 0, len(rows))
	status := map[string]string{}
	for _, r := range rows {
		d, err := decodeDeclaration(r.Name, r.Declaration)
		if err != nil {
			return nil, err
		}
		decls = append(decls, d)
		latest, err := s.store.Executions(ctx, r.Name, 0, 1)
		if err != nil {
			return nil, err
		}
		if len(latest) > 0 {
			status[r.Name] = latest[0].Status
		}
	}
	g := depgraph.Build(decls)
	g.SetStatus(status)
	return g, nil
}
