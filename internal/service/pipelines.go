package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/depgraph"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// PipelineInfo is a stored pipeline with its declaration decoded.
type PipelineInfo struct {
	Declaration *pipeline.Pipeline
	Version     int
	Created     time.Time
	Updated     time.Time
	Transitions map[string]Transition
}

// ApplyResult says what an apply did.
type ApplyResult struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Created bool   `json:"created"`
	Changed bool   `json:"changed"`
}

// ApplyPipeline creates decl or stores it as the pipeline's next version. An apply
// that changes nothing keeps the version. decl must already be valid.
func (s *Service) ApplyPipeline(ctx context.Context, decl *pipeline.Pipeline) (ApplyResult, error) {
	if errs := decl.Validate(); len(errs) > 0 {
		return ApplyResult{}, &Error{Code: CodeInvalid, Msg: errs.Error()}
	}
	if err := s.checkRegions(ctx, decl); err != nil {
		return ApplyResult{}, err
	}
	canon := decl.Canonical()
	res := ApplyResult{Name: decl.Name}
	err := s.store.Update(ctx, decl.Name, func(tx store.Tx) error {
		now := s.now()
		cur, err := tx.Pipeline(ctx)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := s.CheckDependencies(ctx, decl); err != nil {
				return err
			}
			res.Created, res.Changed, res.Version = true, true, 1
			return tx.PutPipeline(ctx, store.Pipeline{Name: decl.Name, Version: 1, Declaration: canon, Created: now, Updated: now, PipelineSummary: summaryOf(decl)})
		case err != nil:
			return err
		}
		res.Version = cur.Version
		if bytes.Equal(cur.Declaration, canon) {
			return nil
		}
		if err := s.CheckDependencies(ctx, decl); err != nil {
			return err
		}
		// Transitions of stages that no longer exist are forgotten.
		trans, err := decodeTransitions(cur.Transitions)
		if err != nil {
			return err
		}
		kept := transitions{}
		for _, st := range decl.Stages {
			if t, ok := trans[st.Name]; ok {
				kept[st.Name] = t
			}
		}
		raw, err := json.Marshal(kept)
		if err != nil {
			return err
		}
		res.Changed, res.Version = true, cur.Version+1
		return tx.PutPipeline(ctx, store.Pipeline{
			Name: decl.Name, Version: res.Version, Declaration: canon, Transitions: raw, Created: cur.Created, Updated: now,
			PipelineSummary: summaryOf(decl),
		})
	})
	if err != nil {
		return ApplyResult{}, err
	}
	if res.Changed {
		s.declared.broadcast()
		// A new version may change the execution mode: let waiting executions move.
		if err := s.decide(ctx, decl.Name, "", func(store.Tx, *engine.State) (engine.Happening, error) {
			return engine.Reconcile{}, nil
		}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// CheckDependencies refuses decl when, stored in place of the pipeline of its
// name, it would close a cycle of starts: pipelines that start one another
// through pipeline triggers or invoke actions, so that one execution would
// start executions forever (or wait on itself). The error, CodeInvalid, names
// decl's field and the cycle. Gates in a cycle only wait, and are allowed;
// names holding #{...} are known only at run time and are not followed.
//
// ApplyPipeline calls it inside its write transaction, where SQLite's single
// writer guarantees that no other apply commits between this read and the
// write; anything else that stores a declaration must call it too.
func (s *Service) CheckDependencies(ctx context.Context, decl *pipeline.Pipeline) error {
	rows, err := s.store.Pipelines(ctx)
	if err != nil {
		return err
	}
	decls := []*pipeline.Pipeline{decl}
	for _, r := range rows {
		if r.Name == decl.Name {
			continue
		}
		d, err := decodeDeclaration(r.Name, r.Declaration)
		if err != nil {
			return err
		}
		decls = append(decls, d)
	}
	if c := depgraph.CycleThrough(decls, decl.Name); c != nil {
		e := Errorf(CodeInvalid, "%s: pipeline %s cycle: %s", c.Field(decl.Name), c.Kinds(), c)
		e.Field = c.Field(decl.Name)
		return e
	}
	return lockedInvokes(decls, decl.Name)
}

// lockedInvokes refuses an invoke that could never finish: an action that
// holds lock L (its pipeline's, or its stage's) while it starts and waits for
// a pipeline that needs L too. Only pairs involving the pipeline named name
// are checked, so that an apply is refused for what it changes.
func lockedInvokes(decls []*pipeline.Pipeline, name string) error {
	byName := map[string]*pipeline.Pipeline{}
	for _, d := range decls {
		byName[d.Name] = d
	}
	needs := func(p *pipeline.Pipeline, lock string) bool {
		if p.Lock == lock {
			return true
		}
		for _, st := range p.Stages {
			if st.Lock == lock {
				return true
			}
		}
		return false
	}
	for _, d := range decls {
		for si, st := range d.Stages {
			for ai, a := range st.Actions {
				if a.ActionTypeID.Provider != pipeline.ProviderPipeline {
					continue
				}
				child := byName[a.Configuration[pipeline.ConfigPipelineName]]
				if child == nil || (d.Name != name && child.Name != name) {
					continue
				}
				for _, held := range []string{d.Lock, st.Lock} {
					if held != "" && needs(child, held) {
						e := Errorf(CodeInvalid, "stages[%d].actions[%d]: pipeline %s would wait for itself: its action %s/%s holds lock %s while it invokes pipeline %s, which needs the same lock",
							si, ai, d.Name, st.Name, a.Name, held, child.Name)
						if d.Name == name {
							e.Field = fmt.Sprintf("stages[%d].actions[%d]", si, ai)
						}
						return e
					}
				}
			}
		}
	}
	return nil
}

// Pipeline returns one pipeline.
func (s *Service) Pipeline(ctx context.Context, name string) (PipelineInfo, error) {
	row, err := s.store.Pipeline(ctx, name)
	if err != nil {
		return PipelineInfo{}, pipelineNotFound(name, err)
	}
	return toPipelineInfo(row)
}

// Declaration returns pipeline name's declaration and version as stored
// now. It is decoded once per stored declaration and shared: the caller must
// never change it.
func (s *Service) Declaration(ctx context.Context, name string) (*pipeline.Pipeline, int, error) {
	row, err := s.store.Pipeline(ctx, name)
	if err != nil {
		return nil, 0, pipelineNotFound(name, err)
	}
	decl, err := s.decisionDeclaration(name, row.Declaration)
	return decl, row.Version, err
}

func toPipelineInfo(row store.Pipeline) (PipelineInfo, error) {
	decl, err := decodeDeclaration(row.Name, row.Declaration)
	if err != nil {
		return PipelineInfo{}, err
	}
	trans, err := decodeTransitions(row.Transitions)
	if err != nil {
		return PipelineInfo{}, err
	}
	return PipelineInfo{Declaration: decl, Version: row.Version, Created: row.Created, Updated: row.Updated, Transitions: trans}, nil
}

// Pipelines lists every pipeline.
func (s *Service) Pipelines(ctx context.Context) ([]PipelineInfo, error) {
	rows, err := s.store.Pipelines(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PipelineInfo, 0, len(rows))
	for _, r := range rows {
		info, err := toPipelineInfo(r)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// PipelineSummary is what a list shows of a pipeline, read from the
// store's columns without decoding its declaration.
type PipelineSummary struct {
	Name          string
	Version       int
	ExecutionMode pipeline.ExecutionMode // as declared: "" is SUPERSEDED
	PipelineType  string
	Stages        int // how many
	Created       time.Time
	Updated       time.Time
}

// PipelineSummaries lists every pipeline's summary, in name order.
func (s *Service) PipelineSummaries(ctx context.Context) ([]PipelineSummary, error) {
	ps, _, err := s.PipelinePage(ctx, "", 1<<30)
	return ps, err
}

// summaryOf is what the store keeps beside decl for lists.
func summaryOf(decl *pipeline.Pipeline) store.PipelineSummary {
	return store.PipelineSummary{ExecutionMode: string(decl.ExecutionMode), PipelineType: decl.PipelineType, Stages: len(decl.Stages)}
}

// PipelinePage returns at most limit pipelines whose names sort after after,
// in name order, and the name to pass as after for the next page ("" when
// this page is the last). It reads only the page, not every pipeline, and
// of each only its summary.
func (s *Service) PipelinePage(ctx context.Context, after string, limit int) ([]PipelineSummary, string, error) {
	rows, err := s.store.PipelinePage(ctx, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].Name
	}
	out := make([]PipelineSummary, len(rows))
	for i, r := range rows {
		out[i] = PipelineSummary{Name: r.Name, Version: r.Version, ExecutionMode: pipeline.ExecutionMode(r.ExecutionMode),
			PipelineType: r.PipelineType, Stages: r.Stages, Created: r.Created, Updated: r.Updated}
	}
	return out, next, nil
}

// DeletePipeline deletes a pipeline with its executions; running jobs are
// cancelled, so their workers kill them.
func (s *Service) DeletePipeline(ctx context.Context, name string) error {
	var decl *pipeline.Pipeline
	err := s.store.Update(ctx, name, func(tx store.Tx) error {
		row, err := tx.Pipeline(ctx)
		if err != nil {
			return err
		}
		if decl, err = decodeDeclaration(name, row.Declaration); err != nil {
			return err
		}
		return tx.DeletePipeline(ctx)
	})
	if err != nil {
		return pipelineNotFound(name, err)
	}
	s.changed.broadcast()
	s.declared.broadcast()
	// Its executions held or waited for locks: the next in line goes on.
	var errs []error
	for _, l := range append([]string{decl.Lock}, stageLocks(decl)...) {
		if l != "" {
			errs = append(errs, s.wakeLockWaiters(ctx, l))
		}
	}
	return errors.Join(errs...)
}

func stageLocks(decl *pipeline.Pipeline) []string {
	var out []string
	for _, st := range decl.Stages {
		out = append(out, st.Lock)
	}
	return out
}

func pipelineNotFound(name string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		e := Errorf(CodeNotFound, "pipeline %s not found", name)
		e.MissingPipeline = name
		return e
	}
	return err
}

// SuggestPipeline returns ` (did you mean "app"?)` when a stored pipeline's
// name is a plausible typo of name, else "". It reads the pipelines only on
// this error path; the API asks only for callers allowed to list them.
func (s *Service) SuggestPipeline(ctx context.Context, name string) string {
	rows, err := s.store.Pipelines(ctx)
	if err != nil {
		return ""
	}
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.Name
	}
	return didYouMean(name, names)
}

// didYouMean is ` (did you mean "x"?)` for the candidate closest to word, or
// "" when none is a plausible typo of it.
func didYouMean(word string, candidates []string) string {
	var h yamlnode.Hints
	return h.DidYouMean(word, candidates)
}

// stageNotFound is the error for a stage name that pipeline has none of.
func stageNotFound(pipeline, stage string, stages []string) error {
	return Errorf(CodeNotFound, "stage %q not found in pipeline %s%s", stage, pipeline, didYouMean(stage, stages))
}

// SetTransition enables or disables the inbound transition of a stage. Executions
// arriving at a disabled transition wait; enabling it lets them in as the
// execution mode allows.
func (s *Service) SetTransition(ctx context.Context, name, stage string, enabled bool, reason, principal string) error {
	err := s.decide(ctx, name, "", func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		row, err := tx.Pipeline(ctx)
		if err != nil {
			return nil, err
		}
		decl, err := decodeDeclaration(name, row.Declaration)
		if err != nil {
			return nil, err
		}
		idx := -1
		for i, s := range decl.Stages {
			if s.Name == stage {
				idx = i
			}
		}
		switch {
		case idx < 0:
			var names []string
			for _, s := range decl.Stages {
				names = append(names, s.Name)
			}
			return nil, stageNotFound(name, stage, names)
		case idx == 0:
			return nil, Errorf(CodeInvalid, "stage %s is the first stage of pipeline %s; it has no inbound transition", stage, name)
		case !enabled && reason == "":
			return nil, Errorf(CodeInvalid, "reason: a reason is required to disable a transition")
		case len(reason) > 300:
			return nil, Errorf(CodeInvalid, "reason: at most 300 characters")
		}
		trans, err := decodeTransitions(row.Transitions)
		if err != nil {
			return nil, err
		}
		if enabled {
			delete(trans, stage)
			delete(st.Pipeline.Disabled, stage)
		} else {
			trans[stage] = Transition{Enabled: false, DisabledReason: reason, DisabledBy: principal, LastChangedAt: s.now()}
			st.Pipeline.Disabled[stage] = reason
		}
		raw, err := json.Marshal(trans)
		if err != nil {
			return nil, err
		}
		if err := tx.SetTransitions(ctx, raw); err != nil {
			return nil, err
		}
		// CodePipeline emits nothing here; sluice does, so that consoles and
		// rules see a transition change as it happens.
		state := "ENABLED"
		if !enabled {
			state = "DISABLED"
		}
		doc, err := json.Marshal(EventDetail{Pipeline: name, Version: row.Version, Stage: stage, State: state,
			Summary: reason, Region: s.region})
		if err != nil {
			return nil, err
		}
		if err := tx.InsertEvent(ctx, store.Event{Time: s.now(), Type: TransitionEvent, Pipeline: name, Document: doc}); err != nil {
			return nil, err
		}
		return engine.Reconcile{}, nil
	})
	if err == nil {
		s.changed.broadcast()
	}
	return pipelineNotFound(name, err)
}

// TransitionEvent is the detail type of a stage's inbound transition being
// enabled or disabled.
const TransitionEvent = "sluice Stage Transition Change"

// validateName reports a request field that cannot name anything stored.
func validateName(field, v string) error {
	if v == "" {
		return Errorf(CodeInvalid, "%s: required", field)
	}
	if len(v) > 100 {
		return Errorf(CodeInvalid, "%s: at most 100 characters", field)
	}
	return nil
}
