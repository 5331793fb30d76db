package wire

import "time"

// ConditionState is the latest evaluation of one kind of a stage's
// conditions (GetPipelineState's beforeEntryConditionState,
// onSuccessConditionState, onFailureConditionState), with each rule's
// result: its rules are shown as actions of category Rule.
type ConditionState struct {
	Status string `json:"status"`
	// Result is the result that engaged (FAIL, SKIP, ROLLBACK, RETRY).
	Result         string            `json:"result,omitempty"`
	Summary        string            `json:"summary,omitempty"`
	StageAttempt   int               `json:"stageAttempt,omitempty"`
	OverriddenBy   string            `json:"overriddenBy,omitempty"`
	LastUpdateTime time.Time         `json:"lastUpdateTime"`
	RuleExecutions []ActionExecution `json:"ruleExecutions"`
}

// RollbackMetadata names the execution a rollback returns a stage to.
type RollbackMetadata struct {
	RollbackTargetPipelineExecutionID string `json:"rollbackTargetPipelineExecutionId"`
}

// RollbackRequest is RollbackStage's request.
type RollbackRequest struct {
	StageName string `json:"stageName"`
	// TargetPipelineExecutionID is the execution to return the stage to;
	// empty is the newest one that succeeded through it.
	TargetPipelineExecutionID string `json:"targetPipelineExecutionId,omitempty"`
}

// OverrideConditionRequest is OverrideStageCondition's request.
type OverrideConditionRequest struct {
	StageName     string `json:"stageName"`
	ConditionType string `json:"conditionType"` // BEFORE_ENTRY or ON_SUCCESS
}

// RuleExecution is one rule's evaluation, as CodePipeline's
// ListRuleExecutions gives it.
type RuleExecution struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
	// RuleExecutionID is the job that ran the rule, or, for a rule decided
	// without one, EXECUTION/STAGE/KIND/RULE.
	RuleExecutionID string            `json:"ruleExecutionId"`
	PipelineVersion int               `json:"pipelineVersion"`
	StageName       string            `json:"stageName"`
	ConditionType   string            `json:"conditionType"` // BEFORE_ENTRY, ON_SUCCESS or ON_FAILURE
	RuleName        string            `json:"ruleName"`
	RuleTypeID      ActionTypeID      `json:"ruleTypeId"`
	Configuration   map[string]string `json:"configuration,omitempty"`
	Status          string            `json:"status"`
	Summary         string            `json:"summary,omitempty"`
	Attempt         int               `json:"attempt"`
	StartTime       *time.Time        `json:"startTime,omitempty"`
	LastUpdateTime  *time.Time        `json:"lastUpdateTime,omitempty"`
}

// RuleExecutionList is ListRuleExecutions' answer.
type RuleExecutionList struct {
	RuleExecutionDetails []RuleExecution `json:"ruleExecutionDetails"`
}
