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

// conditionTypes are CodePipeline's names of the condition kinds.
var conditionTypes = map[string]string{"beforeEntry": "BEFORE_ENTRY", "onSuccess": "ON_SUCCESS", "onFailure": "ON_FAILURE"}

// listRuleExecutions is CodePipeline's ListRuleExecutions: the rules of
// one execution (?pipelineExecutionId=), or of the newest ones, newest first.
func (s *Server) listRuleExecutions(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var es []*service.Execution
	if id := r.URL.Query().Get("pipelineExecutionId"); id != "" {
		e, err := s.svc.Execution(r.Context(), name, id)
		if err != nil {
			return err
		}
		es = []*service.Execution{e}
	} else {
		var err error
		if es, err = s.svc.Executions(r.Context(), name, 0, 50); err != nil {
			return err
		}
	}
	out := wire.RuleExecutionList{RuleExecutionDetails: []wire.RuleExecution{}}
	for _, e := range es {
		for _, st := range e.Stages {
			for _, c := range []*service.ConditionState{st.Entry, st.Success, st.Failure} {
				if c == nil {
					continue
				}
				for _, rule := range c.Rules {
					av := actionView(rule)
					id := rule.JobID
					if id == "" {
						id = e.ID + "/" + st.Name + "/" + c.Kind + "/" + rule.Decl.Name
					}
					provider := rule.Decl.ActionTypeID.Provider
					if provider == "Lambda" {
						provider = "LambdaInvoke" // the rule type it was declared as
					}
					out.RuleExecutionDetails = append(out.RuleExecutionDetails, wire.RuleExecution{
						PipelineExecutionID: e.ID, RuleExecutionID: id, PipelineVersion: e.Version,
						StageName: st.Name, ConditionType: conditionTypes[c.Kind], RuleName: rule.Decl.Name,
						RuleTypeID:    wire.ActionTypeID{Category: "Rule", Owner: "AWS", Provider: provider, Version: "1"},
						Configuration: rule.Decl.Configuration, Status: string(rule.Status), Summary: rule.Summary,
						Attempt: rule.Attempt, StartTime: av.StartTime, LastUpdateTime: av.LastUpdateTime,
					})
				}
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
