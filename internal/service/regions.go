package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/region"
	"github.com/sluice-ci/sluice/internal/store"
)

// Regions: a server declares a home region and may declare others, each with
// an artifact store of its own (package region). An action's `region` that
// names another declared region routes its job to that region's workers; its
// input artifacts are copied into that region's store, and checked, before
// the job is given to one of them, and the job reads them there. Outputs go
// to the home store, where every later action finds them.
//
// An action's region that names no declared region keeps what it meant before
// regions existed: the AWS region an action's aws connection is picked by
// (see regionConnection); its job runs at home. Once a server declares
// regions, apply refuses a region that is neither declared nor the region of
// an aws connection, so a misspelt region is not silently run at home.

// Regions is the server's declared regions.
func (s *Service) Regions() *region.Set { return s.regions }

// jobRegion is the region whose workers j is for: "" for the home region
// (which is how jobs of the home region are stored), else a declared one.
func (s *Service) jobRegion(j engine.Job) string {
	if s.regions.Remote(j.Region) {
		return j.Region
	}
	return ""
}

// JobRegion is the name of the region j runs in, as its job carries it.
func (s *Service) JobRegion(j engine.Job) string {
	if r := s.jobRegion(j); r != "" {
		return r
	}
	return s.region
}

// claimRegion checks a worker's region and returns it as jobs store it.
func (s *Service) claimRegion(name string) (string, error) {
	switch {
	case name == "" || name == s.regions.Home():
		return "", nil
	case s.regions.Remote(name):
		return name, nil
	}
	return "", Errorf(CodeInvalid, "region: %q is not a region of this server (it declares %s)%s",
		name, strings.Join(s.regions.Names(), ", "), didYouMean(name, s.regions.Names()))
}

// stageInputs copies the inputs of job row (just claimed by a worker of its
// region) into that region's store and renews its lease. When they cannot
// be, the job fails with the reason (the region, its store and the
// artifact) and the row returned is no longer in progress.
func (s *Service) stageInputs(ctx context.Context, row store.Job, j engine.Job) (store.Job, error) {
	keys := make([]string, 0, len(j.InputArtifacts))
	for _, in := range j.InputArtifacts {
		keys = append(keys, in.Key)
	}
	err := s.regions.Stage(ctx, row.Region, keys)
	if err == nil {
		// The copy may have taken a good part of the lease.
		renewed, err := s.store.Heartbeat(ctx, row.ID, row.Worker, s.now().Add(s.lease))
		if errors.Is(err, store.ErrConflict) {
			return store.Job{}, nil // stopped meanwhile: not this worker's any more
		}
		return renewed, err
	}
	if ctx.Err() != nil {
		return store.Job{}, ctx.Err()
	}
	s.log.Warn("input artifacts not staged", "job", row.ID, "region", row.Region, "err", err)
	res := JobResult{Message: "input artifacts could not be copied to the action's region: " + err.Error()}
	if len(res.Message) > 8192 {
		res.Message = res.Message[:8192]
	}
	if err := s.CompleteJob(ctx, row.ID, row.Worker, res); err != nil && ErrorCode(err) != CodeConflict {
		return store.Job{}, fmt.Errorf("fail job %s: %w", row.ID, err)
	}
	return store.Job{}, nil
}

// checkRegions refuses a declaration whose artifactStores or action regions
// name a region the server cannot run: with the field and, where one is
// close, the region meant. A server that declares no region besides its home
// one checks nothing, as before regions existed.
func (s *Service) checkRegions(ctx context.Context, decl *pipeline.Pipeline) error {
	names := s.regions.Names()
	if len(names) == 1 {
		return nil
	}
	// The home region also answers to the AWS region the server's ARNs
	// carry: CodePipeline's pipeline region.
	home := func(r string) bool { return r == s.region || r == s.aws.Region }
	for _, r := range slices.Sorted(maps.Keys(decl.ArtifactStores)) {
		if !home(r) && !s.regions.Remote(r) {
			return regionError("artifactStores."+r, "artifactStores", r, names)
		}
	}
	var connRegions []string
	for si, st := range decl.Stages {
		for ai, a := range st.Actions {
			if a.Region == "" || home(a.Region) || s.regions.Remote(a.Region) {
				continue
			}
			if connRegions == nil {
				all, err := s.Connections(ctx)
				if err != nil {
					return err
				}
				connRegions = []string{}
				for _, c := range all {
					if c.Connection.Kind == connection.KindAWS && c.Connection.Region != "" {
						connRegions = append(connRegions, c.Connection.Region)
					}
				}
			}
			if slices.Contains(connRegions, a.Region) {
				continue // the AWS region its connection is picked by
			}
			return regionError(fmt.Sprintf("stages[%d].actions[%d].region", si, ai), "region", a.Region, names)
		}
	}
	return nil
}

func regionError(field, what, name string, declared []string) error {
	e := Errorf(CodeInvalid, "%s: %s %q is not a region this server declares (it declares %s; sluice server --region NAME=STORE declares one)%s",
		field, what, name, strings.Join(declared, ", "), didYouMean(name, declared))
	e.Field = field
	return e
}
