package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/logctx"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// RollbackRequest asks for a rollback execution of one stage
// (CodePipeline's RollbackStage).
type RollbackRequest struct {
	Pipeline string
	Stage    string
	// Target is the execution to roll back to; "" is the newest one that
	// succeeded through the stage.
	Target string
	// By is who asked (a principal), or, for an automatic rollback, the
	// execution whose condition asked.
	By        string
	Automatic bool
	// IdempotencyKey, when set, makes the rollback start at most once.
	IdempotencyKey string
}

// rollbackSearch bounds how far back a rollback looks for a target.
const rollbackSearch = 200

// RollbackStage starts a rollback execution: stage runs again with the
// source revisions, variables and artifacts of the target execution. It
// refuses when no earlier execution succeeded through the stage, or the
// pipeline's structure changed since the target ran.
func (s *Service) RollbackStage(ctx context.Context, req RollbackRequest) (*engine.Execution, error) {
	if err := validateName("pipelineName", req.Pipeline); err != nil {
		return nil, err
	}
	if req.Stage == "" {
		return nil, Errorf(CodeInvalid, "stageName: required")
	}
	target, err := s.rollbackTarget(ctx, req)
	if err != nil {
		return nil, err
	}
	trigger := engine.Trigger{Type: "ManualRollback", Detail: req.By}
	if req.Automatic {
		trigger.Type = "AutomatedRollback"
	}
	var started *engine.Execution
	id := newID()
	err = s.decide(ctx, req.Pipeline, id, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		row, err := tx.Pipeline(ctx)
		if err != nil {
			return nil, err
		}
		decl, err := decodeDeclaration(req.Pipeline, row.Declaration)
		if err != nil {
			return nil, err
		}
		e, err := engine.NewRollback(target, decl, row.Version, req.Stage, id, trigger, s.now())
		if err != nil {
			return nil, err
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
		started = e
		return engine.Start{Execution: e}, nil
	})
	if err != nil {
		return nil, pipelineNotFound(req.Pipeline, err)
	}
	return started, nil
}

// rollbackTarget finds the execution req rolls back to.
func (s *Service) rollbackTarget(ctx context.Context, req RollbackRequest) (*engine.Execution, error) {
	if _, err := s.store.Pipeline(ctx, req.Pipeline); err != nil {
		return nil, pipelineNotFound(req.Pipeline, err)
	}
	if req.Target != "" {
		e, err := s.Execution(ctx, req.Pipeline, req.Target)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	rows, err := s.store.Executions(ctx, req.Pipeline, 0, rollbackSearch)
	if err != nil {
		return nil, err
	}
	hasStage := false
	for _, r := range rows {
		e, err := decodeExecution(r)
		if err != nil {
			return nil, err
		}
		for _, st := range e.Stages {
			if st.Name != req.Stage {
				continue
			}
			hasStage = true
			if st.Status == engine.StageSucceeded && e.ExecutionType != engine.ExecutionRollback {
				return e, nil
			}
		}
	}
	if !hasStage && len(rows) > 0 {
		return nil, Errorf(CodeNotFound, "stageName: pipeline %s has no stage %s", req.Pipeline, req.Stage)
	}
	return nil, Errorf(CodeConflict, "no execution of pipeline %s succeeded through stage %s; there is nothing to roll back to", req.Pipeline, req.Stage)
}

// rollbackFor starts the rollback a condition's ROLLBACK result asked for,
// once: the reactor calls it for the event the engine wrote.
func (s *Service) rollbackFor(ctx context.Context, d EventDetail) error {
	_, err := s.RollbackStage(ctx, RollbackRequest{
		Pipeline: d.Pipeline, Stage: d.Stage, By: "execution " + d.ExecutionID, Automatic: true,
		IdempotencyKey: "rollback/" + d.ExecutionID + "/" + d.Stage,
	})
	switch {
	case err == nil, errors.Is(err, ErrAlreadyStarted):
		return nil
	case ErrorCode(err) == CodeConflict || ErrorCode(err) == CodeNotFound || ErrorCode(err) == CodeInvalid:
		// Nothing to roll back to: the execution stays Failed, as it would
		// without the condition. Say so in the log; retrying cannot help.
		s.log.WarnContext(ctx, "automatic rollback not started", logctx.Pipeline, d.Pipeline, logctx.Stage, d.Stage, logctx.Execution, d.ExecutionID, "reason", err.Error())
		return nil
	}
	return fmt.Errorf("roll back stage %s of %s: %w", d.Stage, d.Pipeline, err)
}

// OverrideStageCondition ends the evaluation of a stage's beforeEntry or
// onSuccess condition as if it were met (CodePipeline's
// OverrideStageCondition; conditionType BEFORE_ENTRY or ON_SUCCESS).
func (s *Service) OverrideStageCondition(ctx context.Context, name, stage, id, conditionType, by string) error {
	kind, ok := map[string]string{
		"BEFORE_ENTRY": pipeline.ConditionBeforeEntry, "ON_SUCCESS": pipeline.ConditionOnSuccess,
		pipeline.ConditionBeforeEntry: pipeline.ConditionBeforeEntry, pipeline.ConditionOnSuccess: pipeline.ConditionOnSuccess,
	}[conditionType]
	if !ok {
		return Errorf(CodeInvalid, "conditionType: %q is not BEFORE_ENTRY or ON_SUCCESS", conditionType)
	}
	err := s.decide(ctx, name, id, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		if err := s.includeExecution(ctx, tx, st, name, id); err != nil {
			return nil, err
		}
		return engine.OverrideCondition{ExecutionID: id, Stage: stage, Kind: kind, By: by}, nil
	})
	return pipelineNotFound(name, err)
}
