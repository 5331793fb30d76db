package service

import (
	"context"
	"errors"
	"io"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Build caches are kept per project in the artifact store, one zip each,
// replaced by every successful build that has cache paths.

func cacheKey(project string) string { return "cache/" + project + "/cache.zip" }

// buildProjectOf returns the project a held Build job runs.
func (s *Service) buildProjectOf(ctx context.Context, jobID, worker string) (string, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return "", err
	}
	if !pipeline.IsBuild(j.ActionType.Provider) {
		return "", Errorf(CodeInvalid, "job %s is not a build: it has no cache", jobID)
	}
	name := j.Configuration["ProjectName"]
	if _, err := s.Project(ctx, name); err != nil {
		return "", err
	}
	return name, nil
}

// OpenCache opens the cache of the project a held build job runs, or returns a
// NotFound error when there is none yet.
func (s *Service) OpenCache(ctx context.Context, jobID, worker string) (io.ReadCloser, error) {
	project, err := s.buildProjectOf(ctx, jobID, worker)
	if err != nil {
		return nil, err
	}
	rc, err := s.artifacts.Get(ctx, cacheKey(project))
	if errors.Is(err, artifact.ErrNotFound) {
		return nil, Errorf(CodeNotFound, "project %s has no cache yet", project)
	}
	return rc, err
}

// PutCache replaces the cache of the project a held build job runs.
func (s *Service) PutCache(ctx context.Context, jobID, worker string, r io.Reader) error {
	project, err := s.buildProjectOf(ctx, jobID, worker)
	if err != nil {
		return err
	}
	_, err = s.artifacts.Put(ctx, cacheKey(project), r)
	return err
}
