package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/buildproject"
	"github.com/sluice-ci/sluice/internal/store"
)

// Build projects are CodeBuild's: a buildspec, environment variables (some
// naming sluice secrets), a timeout and an isolation setting.

// ProjectInfo is a stored build project.
type ProjectInfo struct {
	Project buildproject.Project
	Created time.Time
	Updated time.Time
}

// PutProject creates or replaces a build project. Its PARAMETER_STORE and
// SECRETS_MANAGER variables must name existing secrets.
func (s *Service) PutProject(ctx context.Context, p *buildproject.Project) error {
	if err := p.Validate(); err != nil {
		return Errorf(CodeInvalid, "%v", err)
	}
	for i, v := range p.EnvironmentVariables {
		if !v.IsSecret() {
			continue
		}
		_, err := s.store.Definition(ctx, store.KindSecret, v.Value)
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeInvalid, "environmentVariables[%d]: variable %s (%s) names secret %s, which does not exist (create it with `sluice secret put %s`)",
				i, v.Name, v.Type, v.Value, v.Value)
		}
		if err != nil {
			return err
		}
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	now := s.now()
	created := now
	if old, err := s.store.Definition(ctx, store.KindProject, p.Name); err == nil {
		created = old.Created
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.store.PutDefinition(ctx, store.Definition{Kind: store.KindProject, Name: p.Name, Document: raw, Created: created, Updated: now})
}

// Projects lists the build projects by name.
func (s *Service) Projects(ctx context.Context) ([]ProjectInfo, error) {
	rows, err := s.store.Definitions(ctx, store.KindProject)
	if err != nil {
		return nil, err
	}
	out := make([]ProjectInfo, 0, len(rows))
	for _, r := range rows {
		p, err := decodeProject(r)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Project returns one build project.
func (s *Service) Project(ctx context.Context, name string) (ProjectInfo, error) {
	row, err := s.store.Definition(ctx, store.KindProject, name)
	if errors.Is(err, store.ErrNotFound) {
		return ProjectInfo{}, Errorf(CodeNotFound, "project %s not found", name)
	}
	if err != nil {
		return ProjectInfo{}, err
	}
	return decodeProject(row)
}

func decodeProject(r store.Definition) (ProjectInfo, error) {
	p := ProjectInfo{Created: r.Created, Updated: r.Updated}
	if err := json.Unmarshal(r.Document, &p.Project); err != nil {
		return p, fmt.Errorf("decode project %s: %w", r.Name, err)
	}
	return p, nil
}

// DeleteProject deletes a build project.
func (s *Service) DeleteProject(ctx context.Context, name string) error {
	if err := s.store.DeleteDefinition(ctx, store.KindProject, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "project %s not found", name)
		}
		return err
	}
	return nil
}
