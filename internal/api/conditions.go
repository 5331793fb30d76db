package api

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// conditionView is the API's form of a condition's evaluation.
func conditionView(c *service.ConditionState) *wire.ConditionState {
	if c == nil {
		return nil
	}
	out := &wire.ConditionState{
		Status: string(c.Status), Result: c.Result, Summary: c.Summary, StageAttempt: c.StageAttempt,
		OverriddenBy: c.OverriddenBy, LastUpdateTime: c.LastUpdate, RuleExecutions: []wire.ActionExecution{},
	}
	for _, r := range c.Rules {
		out.RuleExecutions = append(out.RuleExecutions, actionView(r))
	}
	return out
}

// rollbackStage is CodePipeline's RollbackStage.
func (s *Server) rollbackStage(w http.ResponseWriter, r *http.Request) error {
	var req wire.RollbackRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.StageName == "" {
		return service.Errorf(service.CodeInvalid, "stageName: required")
	}
	e, err := s.svc.RollbackStage(r.Context(), service.RollbackRequest{
		Pipeline: r.PathValue("name"), Stage: req.StageName, Target: req.TargetPipelineExecutionID,
		By: Principal(r.Context()),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.StartResult{PipelineExecutionID: e.ID})
}

// overrideCondition is CodePipeline's OverrideStageCondition.
func (s *Server) overrideCondition(w http.ResponseWriter, r *http.Request) error {
	var req wire.OverrideConditionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.StageName == "" {
		return service.Errorf(service.CodeInvalid, "stageName: required")
	}
	if err := s.svc.OverrideStageCondition(r.Context(), r.PathValue("name"), req.StageName, r.PathValue("id"), req.ConditionType, Principal(r.Context())); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
