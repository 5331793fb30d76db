package service

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// maxDefinitionSize bounds the pipeline definition a PipelineUpdate reads.
const maxDefinitionSize = 1 << 20

// selfUpdate runs a PipelineUpdate action: it reads the pipeline's definition
// from the action's input artifact and, when it differs from the version the
// execution runs, stores it as the next version and restarts the execution on
// it, all in one transaction; the old execution ends Superseded. An invalid
// definition fails the action and changes nothing.
func (s *Service) selfUpdate(ctx context.Context, row store.Job, j engine.Job) error {
	fail := func(msg string) error {
		return s.answerHeld(ctx, row, store.JobFailed, engine.JobFailed{JobID: row.ID, Message: msg}, msg)
	}
	defPath := j.Configuration["DefinitionPath"]
	if len(j.InputArtifacts) == 0 {
		return fail("PipelineUpdate needs an input artifact holding the definition")
	}
	data, err := s.readFromArtifact(ctx, j.InputArtifacts[0], defPath)
	if err != nil {
		return fail(err.Error())
	}
	decl, err := pipeline.ParseWith(defPath, data, pipeline.RequireRunnable)
	if err != nil {
		return fail("invalid pipeline definition: " + err.Error())
	}
	if decl.Name != j.Pipeline {
		return fail(fmt.Sprintf("%s defines pipeline %s, not %s; a pipeline can update only itself", defPath, decl.Name, j.Pipeline))
	}
	// Code in the repository must not choose which secrets its pipeline gets:
	// the role stays what whoever applied the pipeline passed.
	if decl.Role, err = s.ResolveRole(ctx, decl.Role); err != nil {
		return fail(ErrorMessage(err))
	}
	if cur, err := s.Pipeline(ctx, j.Pipeline); err != nil {
		return fail(ErrorMessage(err))
	} else if cur.Declaration.Role != decl.Role {
		return fail(fmt.Sprintf("%s changes the pipeline's role from %q to %q; a definition in a repository cannot change its role: apply it with sluice pipeline apply",
			defPath, cur.Declaration.Role, decl.Role))
	}
	canon := decl.Canonical()
	err = s.decide(ctx, row.Pipeline, row.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		cur, err := tx.Job(ctx, row.ID)
		if err != nil {
			return nil, err
		}
		if cur.Status != store.JobQueued {
			return engine.Reconcile{}, nil
		}
		prow, err := tx.Pipeline(ctx)
		if err != nil {
			return nil, err
		}
		var old *engine.Execution
		for _, e := range st.Executions {
			if e.ID == row.ExecutionID {
				old = e
			}
		}
		if old == nil {
			return engine.Reconcile{}, nil
		}
		now := s.now()
		if bytes.Equal(prow.Declaration, canon) && old.Version == prow.Version {
			msg := fmt.Sprintf("the definition in %s is version %d, which this execution runs", defPath, prow.Version)
			if err := tx.FinishJob(ctx, store.FinishJobParams{ID: row.ID, Status: store.JobSucceeded, Message: msg, Now: now}); err != nil {
				return nil, err
			}
			return engine.JobSucceeded{JobID: row.ID, Summary: msg}, nil
		}
		version := prow.Version
		if !bytes.Equal(prow.Declaration, canon) {
			if err := s.CheckDependencies(ctx, decl); err != nil {
				return nil, err
			}
			version++
			if err := tx.PutPipeline(ctx, store.Pipeline{Name: decl.Name, Version: version, Declaration: canon,
				Transitions: prow.Transitions, Created: prow.Created, Updated: now, PipelineSummary: summaryOf(decl)}); err != nil {
				return nil, err
			}
		}
		next, err := restartOf(old, decl, version, now)
		if err != nil {
			return nil, err
		}
		if next.Seq, err = tx.NextSeq(ctx); err != nil {
			return nil, err
		}
		// The action that invoked this execution, if any, follows its replacement.
		old.Parent = nil
		msg := fmt.Sprintf("updated pipeline %s to version %d from %s; restarted as execution %s", decl.Name, version, defPath, next.ID)
		if err := tx.FinishJob(ctx, store.FinishJobParams{ID: row.ID, Status: store.JobSucceeded, Message: msg, Now: now}); err != nil {
			return nil, err
		}
		return engine.Restart{JobID: row.ID, Summary: msg, Next: next}, nil
	})
	s.declared.broadcast() // a restart may have stored a new version
	if err != nil && (ErrorCode(err) == CodeInvalid) {
		return fail(ErrorMessage(err))
	}
	if err != nil {
		return s.answerError(ctx, row, err)
	}
	return nil
}

// restartOf makes the execution that replaces old on a new version: the same
// variables (those the new version still declares) and source revisions.
func restartOf(old *engine.Execution, decl *pipeline.Pipeline, version int, now time.Time) (*engine.Execution, error) {
	vars := map[string]string{}
	for _, v := range decl.Variables {
		if val, ok := old.Variables[v.Name]; ok {
			vars[v.Name] = val
		}
	}
	sources := map[string]bool{}
	for _, a := range decl.Stages[0].Actions {
		if a.ActionTypeID.Category == pipeline.CategorySource {
			sources[a.Name] = true
		}
	}
	var kept []engine.SourceRevision
	for _, r := range old.SourceRevisions {
		if sources[r.ActionName] {
			kept = append(kept, r)
		}
	}
	trigger := engine.Trigger{Type: "PipelineUpdate", Detail: "restarted from execution " + old.ID}
	next, err := engine.NewExecutionWith(decl, version, newID(), vars, engine.OverridesOf(kept), trigger, now)
	if err != nil {
		return nil, err
	}
	next.Upstream, next.Parent = old.Upstream, old.Parent
	if next.Parent != nil {
		// The invoking action follows the execution that replaces this one.
		p := *next.Parent
		next.Parent = &p
	}
	return next, nil
}

// readFromArtifact reads one file out of a stored artifact (a zip).
func (s *Service) readFromArtifact(ctx context.Context, ref engine.ArtifactRef, name string) ([]byte, error) {
	rc, err := s.artifacts.Get(ctx, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("open artifact %s: %w", ref.Name, err)
	}
	defer rc.Close()
	// zip needs random access; the artifact is copied to a temporary file,
	// since it may be a whole source tree.
	f, err := os.CreateTemp("", "sluice-update-*.zip")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, rc)
	if err != nil {
		return nil, fmt.Errorf("read artifact %s: %w", ref.Name, err)
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, fmt.Errorf("artifact %s is not a zip: %w", ref.Name, err)
	}
	want := path.Clean(name)
	for _, zf := range zr.File {
		if path.Clean(zf.Name) != want {
			continue
		}
		r, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("read %s from artifact %s: %w", name, ref.Name, err)
		}
		defer r.Close()
		data, err := io.ReadAll(io.LimitReader(r, maxDefinitionSize+1))
		if err != nil {
			return nil, fmt.Errorf("read %s from artifact %s: %w", name, ref.Name, err)
		}
		if len(data) > maxDefinitionSize {
			return nil, fmt.Errorf("%s in artifact %s is larger than %d bytes", name, ref.Name, maxDefinitionSize)
		}
		return data, nil
	}
	return nil, fmt.Errorf("artifact %s has no file %s", ref.Name, name)
}
