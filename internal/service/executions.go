package service

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// StartRequest asks for a new execution.
type StartRequest struct {
	Pipeline  string
	Variables map[string]string
	// SourceRevisions pins source actions to commits: action name → commit id.
	SourceRevisions map[string]string
	// Overrides are typed source revisions, as CodePipeline's
	// StartPipelineExecution takes them; they pin after SourceRevisions.
	Overrides []RevisionOverride
	Trigger   engine.Trigger
	// IdempotencyKey, when set, makes the start happen at most once: a second
	// start with the same key starts nothing and returns ErrAlreadyStarted. Push,
	// webhook and schedule triggers use it so that a replay after a crash does
	// not start a pipeline twice.
	IdempotencyKey string
	// ExecutionID, when set, is the new execution's id (a UUID), rather than
	// a random one: a start made idempotent by a client's request token
	// (CodePipeline's clientRequestToken) derives it from the token, so that
	// a repeated start answers with the execution the first one started.
	ExecutionID string
	// TriggerState is written in the same transaction as the start: the revision
	// a poll saw, the tick a schedule fired (key → value).
	TriggerState map[string]string
	// Note, when set, is recorded as what the trigger did last.
	Note *TriggerNote
	// Upstream and Parent are recorded on the execution: the execution whose
	// end started it, the action that invoked it.
	Upstream *engine.Upstream
	Parent   *engine.Parent
	// TriggerVariables are recorded on the execution, readable as
	// #{trigger.NAME} (pipeline.TriggerVariables).
	TriggerVariables map[string]string
}

// RevisionOverride is a typed source revision of a start (CodePipeline's
// SourceRevisionOverride).
type RevisionOverride = engine.RevisionOverride

// ErrAlreadyStarted is returned for a start whose idempotency key was used.
var ErrAlreadyStarted = errors.New("already started for this key")

// StartExecution starts an execution of the pipeline's current version and returns it.
func (s *Service) StartExecution(ctx context.Context, req StartRequest) (*engine.Execution, error) {
	if err := validateName("pipelineName", req.Pipeline); err != nil {
		return nil, err
	}
	if req.Trigger.Type == "" {
		req.Trigger.Type = "StartPipelineExecution"
	}
	var started *engine.Execution
	id := newID()
	if req.ExecutionID != "" {
		id = req.ExecutionID
	}
	err := s.decide(ctx, req.Pipeline, id, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		row, err := tx.Pipeline(ctx)
		if err != nil {
			return nil, err
		}
		decl, err := decodeDeclaration(req.Pipeline, row.Declaration)
		if err != nil {
			return nil, err
		}
		overrides := append(engine.Overrides(req.SourceRevisions), req.Overrides...)
		e, err := engine.NewExecutionWith(decl, row.Version, id, req.Variables, overrides, req.Trigger, s.now())
		if err != nil {
			return nil, err
		}
		e.Upstream, e.Parent = req.Upstream, req.Parent
		if len(req.TriggerVariables) > 0 {
			e.TriggerVariables = req.TriggerVariables
		}
		if req.IdempotencyKey != "" {
			fresh, err := tx.UseKey(ctx, req.IdempotencyKey, id, s.now())
			if err != nil {
				return nil, err
			}
			if !fresh {
				return nil, ErrAlreadyStarted
			}
		}
		if e.Seq, err = tx.NextSeq(ctx); err != nil {
			return nil, err
		}
		for k, v := range req.TriggerState {
			if err := tx.SetTriggerState(ctx, k, v, s.now()); err != nil {
				return nil, err
			}
		}
		if req.Note != nil {
			note := *req.Note
			note.Started, note.ExecutionID, note.Reason = true, id, ""
			if err := s.writeNote(ctx, tx, note); err != nil {
				return nil, err
			}
		}
		started = e
		return engine.Start{Execution: e}, nil
	})
	if err != nil {
		return nil, pipelineNotFound(req.Pipeline, err)
	}
	return started, nil
}

// StopExecution stops an execution: running actions finish (or, with abandon, are
// killed and marked Abandoned), nothing new starts, and it ends Stopped.
func (s *Service) StopExecution(ctx context.Context, name, id string, abandon bool, reason string) error {
	if len(reason) > 200 {
		return Errorf(CodeInvalid, "reason: at most 200 characters")
	}
	err := s.decide(ctx, name, id, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		if err := s.includeExecution(ctx, tx, st, name, id); err != nil {
			return nil, err
		}
		return engine.Stop{ExecutionID: id, Abandon: abandon, Reason: reason}, nil
	})
	return pipelineNotFound(name, err)
}

// RetryStage re-runs the failed actions (or all actions) of a failed or stopped
// stage in the same execution, which then continues.
func (s *Service) RetryStage(ctx context.Context, name, id, stage string, all bool) error {
	err := s.decide(ctx, name, id, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		if err := s.includeExecution(ctx, tx, st, name, id); err != nil {
			return nil, err
		}
		if err := s.requireLatestInStage(ctx, name, id, stage); err != nil {
			return nil, err
		}
		return engine.Retry{ExecutionID: id, Stage: stage, All: all}, nil
	})
	return pipelineNotFound(name, err)
}

// includeExecution makes sure the engine sees execution id, even when it has
// ended and so is not among the active ones, so that it can say why a request
// does not fit it rather than that it does not exist.
func (s *Service) includeExecution(ctx context.Context, tx store.Tx, st *engine.State, name, id string) error {
	row, err := tx.Execution(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "execution %s of pipeline %s not found", id, name)
	}
	if err != nil {
		return err
	}
	if !row.Active {
		e, err := decodeExecution(row)
		if err != nil {
			return err
		}
		st.Executions = append(st.Executions, e)
	}
	return nil
}

// requireLatestInStage refuses to retry a stage that a newer execution has
// entered since, as CodePipeline does: the older revision would otherwise follow
// the newer one and could be deployed after it.
func (s *Service) requireLatestInStage(ctx context.Context, name, id, stage string) error {
	row, err := s.store.Execution(ctx, id)
	if err != nil {
		return err
	}
	// A stage the execution does not have is not found, not "did not fail".
	this, err := decodeExecution(row)
	if err != nil {
		return err
	}
	var stages []string
	for _, st := range this.Stages {
		stages = append(stages, st.Name)
	}
	if !slices.Contains(stages, stage) {
		return stageNotFound(name, stage, stages)
	}
	newer, err := s.store.Executions(ctx, name, 0, recentForState)
	if err != nil {
		return err
	}
	for _, r := range newer {
		if r.Seq <= row.Seq {
			break
		}
		e, err := decodeExecution(r)
		if err != nil {
			return err
		}
		for j, st := range e.Stages {
			if e.Rollback != nil && j != e.Rollback.Stage {
				continue // carried over from its target, not entered
			}
			if st.Name == stage && st.Status != engine.StageNotStarted {
				return Errorf(CodeConflict, "execution %s entered stage %s after execution %s; only the latest execution in a stage can be retried", e.ID, stage, id)
			}
		}
	}
	return nil
}

// Execution returns one execution of a pipeline.
func (s *Service) Execution(ctx context.Context, name, id string) (*engine.Execution, error) {
	row, err := s.store.Execution(ctx, id)
	if err != nil || row.Pipeline != name {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			return nil, Errorf(CodeNotFound, "execution %s of pipeline %s not found", id, name)
		}
		return nil, err
	}
	return decodeExecution(row)
}

// defaultFollowInterval is Config.FollowInterval's default.
const defaultFollowInterval = 50 * time.Millisecond

// WaitExecution returns the execution once it was updated after since, or when
// wait has passed, whichever comes first.
//
// A follower (`sluice start --wait`) asks again as soon as it is answered,
// with since the update it was given. While the execution runs, a change
// within Config.FollowInterval of such a request is held until the interval ends,
// and answered then with whatever changed meanwhile: a pipeline of short
// actions changes every millisecond or two, and each answer (read, decode,
// encode, and the follower's decoding) costs CPU its actions wait for. The
// end of the execution is answered at once.
func (s *Service) WaitExecution(ctx context.Context, name, id string, since time.Time, wait time.Duration) (*engine.Execution, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	interval := s.followInterval
	if interval == 0 {
		interval = defaultFollowInterval
	}
	holdUntil := time.Now().Add(interval)
	// Woken by decisions on this execution alone (or any change another
	// replica announced), not by every execution's.
	wake := s.decidedWake.Listen()
	defer wake.Close()
	ids := []string{id}
	var e *engine.Execution
	var doc []byte // e's document: woken by another change, the same bytes need no decoding again
	for {
		ch := wake.Wait(ids)
		row, err := s.store.Execution(ctx, id)
		if err != nil || row.Pipeline != name {
			if err == nil || errors.Is(err, store.ErrNotFound) {
				return nil, Errorf(CodeNotFound, "execution %s of pipeline %s not found", id, name)
			}
			return nil, err
		}
		due := false // the wait is over: answer with what there is
		if hold := time.Until(holdUntil); !since.IsZero() && row.Active && hold > 0 {
			// Not even decoded: whether it changed is seen once the
			// hold is over, or the execution has ended.
			done, err := s.sleepFor(ctx, ch, deadline.C, hold)
			if err != nil {
				return nil, err
			}
			if !done {
				continue
			}
			due = true
		}
		if e == nil || !bytes.Equal(row.Document, doc) {
			if e, err = decodeExecution(row); err != nil {
				return nil, err
			}
			doc = row.Document
		}
		if due || e.LastUpdate.After(since) {
			return e, nil
		}
		if done, err := s.sleep(ctx, ch, deadline.C); done || err != nil {
			return e, err
		}
	}
}

// sleep waits for ch, the deadline or a second, whichever comes first; the second
// is there for changes made by another replica. It reports whether the deadline
// passed.
func (s *Service) sleep(ctx context.Context, ch <-chan struct{}, deadline <-chan time.Time) (bool, error) {
	return s.sleepFor(ctx, ch, deadline, time.Second)
}

// sleepFor is sleep for at most d.
func (s *Service) sleepFor(ctx context.Context, ch <-chan struct{}, deadline <-chan time.Time, d time.Duration) (bool, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return true, ctx.Err()
	case <-deadline:
		return true, nil
	case <-s.stopping:
		return true, nil
	case <-ch:
	case <-t.C:
	}
	return false, nil
}

// Executions lists a pipeline's executions, newest first.
func (s *Service) Executions(ctx context.Context, name string, before int64, limit int) ([]*engine.Execution, error) {
	if _, err := s.store.Pipeline(ctx, name); err != nil {
		return nil, pipelineNotFound(name, err)
	}
	rows, err := s.store.Executions(ctx, name, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*engine.Execution, 0, len(rows))
	for _, r := range rows {
		e, err := decodeExecution(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
