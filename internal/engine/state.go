// Package engine decides how pipeline executions move. It is a deterministic state
// machine: given the executions of one pipeline and one happening (an execution
// started, a job succeeded or failed or lost its worker, a stop or a retry was
// asked, a transition changed), Decide returns the new states, the jobs to offer to
// workers, the jobs to cancel and the events to record. It does no I/O, reads no
// clock and starts no goroutine, so the service can apply a decision in one store
// transaction and tests can drive it without sleeps.
//
// States, as CodePipeline names them:
//
//	execution: InProgress ─► Succeeded | Failed | Superseded
//	           InProgress ─► Stopping ─► Stopped      (stop and wait)
//	           InProgress ─► Stopped                  (stop and abandon)
//	           Failed | Stopped ─► InProgress         (retry a stage)
//	stage:     NotStarted ─► InProgress ─► Succeeded | Failed | Stopping ─► Stopped
//	action:    NotStarted ─► InProgress ─► Succeeded | Failed | Abandoned
package engine

import (
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// ExecutionStatus is the status of a pipeline execution.
type ExecutionStatus string

const (
	ExecutionInProgress ExecutionStatus = "InProgress"
	ExecutionStopping   ExecutionStatus = "Stopping"
	ExecutionStopped    ExecutionStatus = "Stopped"
	ExecutionSucceeded  ExecutionStatus = "Succeeded"
	ExecutionSuperseded ExecutionStatus = "Superseded"
	ExecutionFailed     ExecutionStatus = "Failed"
)

// Terminal reports whether no further change happens to an execution in s on its
// own; a Failed or Stopped execution can still be resumed by a retry.
func (s ExecutionStatus) Terminal() bool {
	switch s {
	case ExecutionStopped, ExecutionSucceeded, ExecutionSuperseded, ExecutionFailed:
		return true
	}
	return false
}

// StageStatus is the status of one stage within one execution.
type StageStatus string

const (
	StageNotStarted StageStatus = "NotStarted"
	StageInProgress StageStatus = "InProgress"
	StageStopping   StageStatus = "Stopping"
	StageStopped    StageStatus = "Stopped"
	StageSucceeded  StageStatus = "Succeeded"
	StageFailed     StageStatus = "Failed"
)

// ActionStatus is the status of one action within one execution.
type ActionStatus string

const (
	ActionNotStarted ActionStatus = "NotStarted"
	ActionInProgress ActionStatus = "InProgress"
	ActionSucceeded  ActionStatus = "Succeeded"
	ActionFailed     ActionStatus = "Failed"
	ActionAbandoned  ActionStatus = "Abandoned"
)

// StopMode says how a stop was asked.
type StopMode string

const (
	StopAndWait    StopMode = "StopAndWait"
	StopAndAbandon StopMode = "Abandon"
)

// Trigger says what started an execution.
type Trigger struct {
	Type   string `json:"triggerType"`             // StartPipelineExecution, Webhook, PipelineTrigger, …
	Detail string `json:"triggerDetail,omitempty"` // who or what: a principal, a commit, an upstream execution
}

// ArtifactRef locates an artifact produced by an action of an execution.
type ArtifactRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Execution is one run of one pipeline version: the plan it runs (the stages and
// actions of that version) and how far it got. It is stored as one document.
type Execution struct {
	ID        string            `json:"pipelineExecutionId"`
	Pipeline  string            `json:"pipelineName"`
	Version   int               `json:"pipelineVersion"`
	Seq       int64             `json:"seq"` // creation order among the pipeline's executions
	Status    ExecutionStatus   `json:"status"`
	Summary   string            `json:"statusSummary,omitempty"`
	Trigger   Trigger           `json:"trigger"`
	Variables map[string]string `json:"variables"`
	Stages    []Stage           `json:"stages"`
	// Current is the index of the stage the execution is in, or waits to enter
	// when Waiting is set; len(Stages) once every stage succeeded.
	Current    int    `json:"current"`
	Waiting    bool   `json:"waiting,omitempty"`
	WaitingFor string `json:"waitingFor,omitempty"`
	// SourceRevisions are the revisions the source actions produce: pinned at
	// start by a push or the user, or recorded when the action succeeds.
	SourceRevisions []SourceRevision `json:"sourceRevisions,omitempty"`
	// Lock is the pipeline-level lock the execution holds from entering its
	// first stage until it ends.
	Lock string `json:"lock,omitempty"`
	// Upstream is the execution whose end started this one through a Pipeline
	// trigger; Parent the action that invoked it through a Pipeline action.
	Upstream *Upstream `json:"upstream,omitempty"`
	// TriggerVariables are what the git host event that started the
	// execution says (a pull request's number and branches), readable as
	// #{trigger.NAME}.
	TriggerVariables map[string]string `json:"triggerVariables,omitempty"`
	Parent           *Parent           `json:"parent,omitempty"`
	// ExecutionType is STANDARD, or ROLLBACK for an execution that runs one
	// stage again with what an earlier execution (Rollback's target) used.
	ExecutionType string            `json:"executionType,omitempty"`
	Rollback      *RollbackMetadata `json:"rollbackMetadata,omitempty"`
	StopMode      StopMode          `json:"stopMode,omitempty"`
	StopReason    string            `json:"stopReason,omitempty"`
	StartTime     time.Time         `json:"startTime"`
	LastUpdate    time.Time         `json:"lastUpdateTime"`
}

// Execution types, as CodePipeline names them.
const (
	ExecutionStandard = "STANDARD"
	ExecutionRollback = "ROLLBACK"
)

// RollbackMetadata says which execution a rollback execution returns a stage to.
type RollbackMetadata struct {
	TargetExecutionID string `json:"rollbackTargetPipelineExecutionId"`
	// Stage is the index of the stage rolled back; the execution ends once
	// it has run it.
	Stage int `json:"stageIndex"`
}

// Upstream is what a downstream execution knows of the upstream one that
// started it: readable as #{upstream.NAME}.
type Upstream struct {
	Pipeline        string            `json:"pipelineName"`
	ExecutionID     string            `json:"pipelineExecutionId"`
	Status          ExecutionStatus   `json:"status"`
	Variables       map[string]string `json:"variables,omitempty"`
	SourceRevisions []SourceRevision  `json:"sourceRevisions,omitempty"`
}

// Parent is the invoke action an execution was started by, which follows it.
type Parent struct {
	Pipeline    string `json:"pipelineName"`
	ExecutionID string `json:"pipelineExecutionId"`
	Stage       string `json:"stage"`
	Action      string `json:"action"`
	JobID       string `json:"jobId"`
}

// SourceRevision is the revision a source action of an execution produces.
type SourceRevision struct {
	ActionName string `json:"actionName"`
	RevisionID string `json:"revisionId"`
	// RevisionType is CodePipeline's type of RevisionID (COMMIT_ID,
	// IMAGE_DIGEST, S3_OBJECT_VERSION_ID), or S3_OBJECT_KEY while an S3
	// source pinned to a key alone has not read it yet.
	RevisionType string `json:"revisionType,omitempty"`
	// ObjectKey is the object an S3 source reads instead of its
	// S3ObjectKey, given by an S3_OBJECT_KEY override.
	ObjectKey       string `json:"objectKey,omitempty"`
	RevisionSummary string `json:"revisionSummary,omitempty"`
}

// Stage is the progress of one stage of an execution.
type Stage struct {
	Name    string      `json:"name"`
	Status  StageStatus `json:"status"`
	Attempt int         `json:"attempt,omitempty"` // goes up by one on every retry
	Actions []Action    `json:"actions"`
	// Lock is held by the execution while it is in the stage.
	Lock string `json:"lock,omitempty"`
	// The stage's conditions as declared, and the latest evaluation of each
	// kind (see conditions.go); AutoRetries counts the automatic retries an
	// onFailure RETRY made since the stage was entered or last retried by hand.
	BeforeEntry *pipeline.BeforeEntryConditions `json:"beforeEntry,omitempty"`
	OnSuccess   *pipeline.SuccessConditions     `json:"onSuccess,omitempty"`
	OnFailure   *pipeline.FailureConditions     `json:"onFailure,omitempty"`
	Entry       *ConditionState                 `json:"beforeEntryConditionState,omitempty"`
	Success     *ConditionState                 `json:"onSuccessConditionState,omitempty"`
	Failure     *ConditionState                 `json:"onFailureConditionState,omitempty"`
	AutoRetries int                             `json:"automaticRetries,omitempty"`
}

// Action is the progress of one action of an execution, with its declaration.
type Action struct {
	Decl    pipeline.Action `json:"declaration"`
	Status  ActionStatus    `json:"status"`
	Summary string          `json:"summary,omitempty"`
	// Attempt counts the jobs offered for this action in this execution; RunAttempts
	// counts those since the action last started, which MaxAttempts bounds.
	Attempt         int               `json:"attempt,omitempty"`
	RunAttempts     int               `json:"runAttempts,omitempty"`
	JobID           string            `json:"jobId,omitempty"`
	StartTime       time.Time         `json:"startTime,omitzero"`
	LastUpdate      time.Time         `json:"lastUpdateTime,omitzero"`
	OutputVariables map[string]string `json:"outputVariables,omitempty"`
	OutputArtifacts []ArtifactRef     `json:"outputArtifacts,omitempty"`
	// FailedArtifacts are the outputs the latest failed attempt (FailedAttempt)
	// uploaded anyway, as CodeBuild uploads artifacts after a failed build
	// phase. They are kept for people to download and debug with, and never
	// given to a later action as input; a retry that succeeds drops them.
	FailedArtifacts []ArtifactRef `json:"failedOutputArtifacts,omitempty"`
	FailedAttempt   int           `json:"failedAttempt,omitempty"`
	// ExternalID names what the action runs elsewhere: the execution a Pipeline
	// action started.
	ExternalID string `json:"externalExecutionId,omitempty"`
	// Approval is the answer a Manual action got.
	Approval *Approval `json:"approval,omitempty"`
}

// Approval records who answered a manual approval, how and when.
type Approval struct {
	Status  string    `json:"status"` // Approved or Rejected
	Summary string    `json:"summary,omitempty"`
	By      string    `json:"approvedBy"`
	Time    time.Time `json:"time"`
}

// Job is the work behind one attempt of one action, offered to workers.
type Job struct {
	ID              string                `json:"id"`
	ExecutionID     string                `json:"pipelineExecutionId"`
	Pipeline        string                `json:"pipelineName"`
	Stage           string                `json:"stage"`
	Action          string                `json:"action"`
	Attempt         int                   `json:"attempt"`
	ActionType      pipeline.ActionTypeID `json:"actionTypeId"`
	Configuration   map[string]string     `json:"configuration,omitempty"` // variables resolved
	Revision        string                `json:"revision,omitempty"`      // the commit a source action must produce
	Commands        []string              `json:"commands,omitempty"`      // variables resolved
	Variables       map[string]string     `json:"variables,omitempty"`     // the execution's pipeline variables
	InputArtifacts  []ArtifactRef         `json:"inputArtifacts,omitempty"`
	OutputArtifacts []OutputArtifact      `json:"outputArtifacts,omitempty"`
	OutputVariables []string              `json:"outputVariables,omitempty"`
	Timeout         time.Duration         `json:"timeout"`
	Deadline        time.Time             `json:"deadline"`
	CreatedAt       time.Time             `json:"createdAt"`
	// ContinuationToken is what a function gave when it asked to be invoked
	// again; NotBefore is when that next invocation may start.
	ContinuationToken string    `json:"continuationToken,omitempty"`
	NotBefore         time.Time `json:"notBefore,omitzero"`
	// Region is the action's declared region, as written ("" for none); the
	// service decides which of its regions that is.
	Region string `json:"region,omitempty"`
}

// OutputArtifact is an artifact a job must produce, and where to put it.
type OutputArtifact struct {
	Name  string   `json:"name"`
	Files []string `json:"files,omitempty"`
	Key   string   `json:"key"`
}

// Event kinds, with CodePipeline's EventBridge detail types.
const (
	PipelineEvent = "CodePipeline Pipeline Execution State Change"
	StageEvent    = "CodePipeline Stage Execution State Change"
	ActionEvent   = "CodePipeline Action Execution State Change"
	// sluice's own kinds: a lock taken, waited for or released; an approval
	// waiting or answered; a gate waiting or released.
	LockEvent     = "sluice Lock State Change"
	ApprovalEvent = "sluice Approval State Change"
	GateEvent     = "sluice Gate State Change"
)

// Event records one state change. State uses CodePipeline's event words
// (STARTED, SUCCEEDED, FAILED, STOPPING, STOPPED, SUPERSEDED, RESUMED, ABANDONED).
type Event struct {
	DetailType  string
	Time        time.Time
	Pipeline    string
	Version     int
	ExecutionID string
	Stage       string
	Action      string
	State       string
	ActionType  *pipeline.ActionTypeID
	Attempt     int
	Trigger     Trigger
	Summary     string
	JobID       string
	Lock        string // for a LockEvent
	// What CodePipeline's events also carry: when the execution started and
	// its attempt (1, plus one per retry of a stage); for an action, the
	// artifacts it reads (when it starts) or wrote (when it succeeds), what it
	// ran elsewhere, and why it failed (JobFailed, as CodePipeline's error-code).
	StartTime       time.Time
	ExecutionTry    int
	InputArtifacts  []ArtifactRef
	OutputArtifacts []ArtifactRef
	ExternalID      string
	ErrorCode       string
	ActionRegion    string // the action's declared region, "" for the pipeline's
}

// CancelJob asks that a job stop: a queued job is withdrawn, a running one is
// killed by its worker at its next heartbeat.
type CancelJob struct {
	JobID  string
	Reason string
}
