package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// Custom action types are CodePipeline's way to run an action with a job
// worker of one's own: the type is declared (CreateCustomActionType), a
// pipeline's action names it with owner Custom, and a worker polls for its
// jobs and answers for them (package awsapi serves that protocol). Sluice's
// own workers never claim them: no provider of theirs has such a name.

// CustomActionType is a declared custom action type. Document is the
// declaration as the client sent it (settings, configuration properties,
// artifact details), kept to be shown back.
type CustomActionType struct {
	Category, Provider, Version string
	Document                    json.RawMessage
}

// Name is how the type is stored and named: CATEGORY/PROVIDER/VERSION.
func (t CustomActionType) Name() string { return t.Category + "/" + t.Provider + "/" + t.Version }

var customVersion = lazyregexp.New(`^[0-9A-Za-z_-]{1,9}$`)
var customProvider = lazyregexp.New(`^[0-9A-Za-z_-]{1,35}$`)

// PutCustomActionType declares a custom action type, or replaces its
// declaration.
func (s *Service) PutCustomActionType(ctx context.Context, t CustomActionType) error {
	switch {
	case !isCategory(t.Category):
		return Errorf(CodeInvalid, "category: %q is not one of CodePipeline's categories (Source, Build, Deploy, Test, Invoke, Approval, Compute)", t.Category)
	case !customProvider.MatchString(t.Provider):
		return Errorf(CodeInvalid, "provider: %q is not a provider name (1-35 of letters, digits, _ and -)", t.Provider)
	case !customVersion.MatchString(t.Version):
		return Errorf(CodeInvalid, "version: %q is not a version (1-9 of letters, digits, _ and -)", t.Version)
	case len(t.Document) > 64<<10:
		return Errorf(CodeInvalid, "the declaration is larger than 64 KiB")
	}
	if _, known := pipeline.LookupProvider(t.Provider); known {
		// Its jobs would be claimed by sluice's own workers.
		return Errorf(CodeInvalid, "provider: %s is one of sluice's own providers; give the custom action type another name", t.Provider)
	}
	// Workers claim jobs by provider: two types of one provider could not
	// be told apart.
	others, err := s.CustomActionTypes(ctx)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.Provider == t.Provider && o.Name() != t.Name() {
			return Errorf(CodeInvalid, "provider: custom action type %s has provider %s already; sluice keeps one custom action type per provider", o.Name(), t.Provider)
		}
	}
	now := s.now()
	return s.store.PutDefinition(ctx, store.Definition{Kind: store.KindActionType, Name: t.Name(), Document: t.Document, Created: now, Updated: now})
}

func isCategory(c string) bool {
	switch c {
	case "Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute":
		return true
	}
	return false
}

// CustomActionTypes lists the declared custom action types.
func (s *Service) CustomActionTypes(ctx context.Context) ([]CustomActionType, error) {
	rows, err := s.store.Definitions(ctx, store.KindActionType)
	if err != nil {
		return nil, err
	}
	out := make([]CustomActionType, 0, len(rows))
	for _, r := range rows {
		var t CustomActionType
		parts := splitName(r.Name)
		if len(parts) != 3 {
			continue
		}
		t.Category, t.Provider, t.Version, t.Document = parts[0], parts[1], parts[2], json.RawMessage(r.Document)
		out = append(out, t)
	}
	return out, nil
}

func splitName(name string) []string {
	var out []string
	start := 0
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			out = append(out, name[start:i])
			start = i + 1
		}
	}
	return append(out, name[start:])
}

// CustomActionType returns one declared custom action type.
func (s *Service) CustomActionType(ctx context.Context, category, provider, version string) (CustomActionType, error) {
	t := CustomActionType{Category: category, Provider: provider, Version: version}
	row, err := s.store.Definition(ctx, store.KindActionType, t.Name())
	if errors.Is(err, store.ErrNotFound) {
		return t, Errorf(CodeNotFound, "custom action type %s not found", t.Name())
	}
	if err != nil {
		return t, err
	}
	t.Document = json.RawMessage(row.Document)
	return t, nil
}

// DeleteCustomActionType forgets a custom action type.
func (s *Service) DeleteCustomActionType(ctx context.Context, category, provider, version string) error {
	t := CustomActionType{Category: category, Provider: provider, Version: version}
	err := s.store.DeleteDefinition(ctx, store.KindActionType, t.Name())
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "custom action type %s not found", t.Name())
	}
	return err
}

// Job is the work of one action attempt, as a worker is given it.
type Job = engine.Job

// JobDetails returns a job and whether it is still waiting for its answer
// (claimed, not ended).
func (s *Service) JobDetails(ctx context.Context, jobID string) (Job, bool, error) {
	row, err := s.store.Job(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
		return Job{}, false, Errorf(CodeNotFound, "job %s not found", jobID)
	}
	if err != nil {
		return Job{}, false, err
	}
	var j engine.Job
	if err := json.Unmarshal(row.Payload, &j); err != nil {
		return Job{}, false, fmt.Errorf("decode job %s: %w", jobID, err)
	}
	return j, row.Status == store.JobInProgress, nil
}
