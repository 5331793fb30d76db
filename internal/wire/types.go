package wire

import (
	"encoding/json"
	"time"

	"github.com/sluice-ci/sluice/internal/errcode"
)

// ErrorBody is every error response: {"code": "...", "message": "..."}.
type ErrorBody = errcode.Body

// ApplyResult says what applying a pipeline did.
type ApplyResult struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Created bool   `json:"created"`
	Changed bool   `json:"changed"`
}

// PipelineSummary is a pipeline in a list.
type PipelineSummary struct {
	Name          string    `json:"name"`
	Version       int       `json:"version"`
	ExecutionMode string    `json:"executionMode"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
	// LatestExecution is the pipeline's latest execution, absent when it
	// never ran.
	LatestExecution *LatestExecution `json:"latestExecution,omitempty"`
}

// Trigger says what started an execution.
type Trigger struct {
	TriggerType   string `json:"triggerType"`
	TriggerDetail string `json:"triggerDetail,omitempty"`
}

// StartRequest starts an execution.
type StartRequest struct {
	Variables map[string]string `json:"variables,omitempty"`
	// SourceRevisions pins source actions to commits: action name → commit id.
	SourceRevisions map[string]string `json:"sourceRevisions,omitempty"`
	// SourceRevisionOverrides are typed ones, as CodePipeline's
	// StartPipelineExecution takes them (an S3 source's object key, say).
	SourceRevisionOverrides []RevisionOverride `json:"sourceRevisionOverrides,omitempty"`
}

// RevisionOverride is a typed source revision of a start: revisionType is
// COMMIT_ID, IMAGE_DIGEST, S3_OBJECT_VERSION_ID or S3_OBJECT_KEY, or empty
// for the type the action's provider pins by.
type RevisionOverride struct {
	ActionName    string `json:"actionName"`
	RevisionType  string `json:"revisionType,omitempty"`
	RevisionValue string `json:"revisionValue"`
}

// StartResult names the execution started.
type StartResult struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
}

// Execution is one execution with its stages and actions.
type Execution struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
	PipelineName        string `json:"pipelineName"`
	PipelineVersion     int    `json:"pipelineVersion"`
	Status              string `json:"status"`
	StatusSummary       string `json:"statusSummary,omitempty"`
	WaitingFor          string `json:"waitingFor,omitempty"`
	// Waiting says what an execution in progress waits for (a lock, a gate,
	// an approval…); absent when it waits for nothing.
	Waiting         *Waiting          `json:"waiting,omitempty"`
	Trigger         Trigger           `json:"trigger"`
	Variables       map[string]string `json:"variables"`
	SourceRevisions []SourceRevision  `json:"sourceRevisions"`
	StartTime       time.Time         `json:"startTime"`
	LastUpdateTime  time.Time         `json:"lastUpdateTime"`
	Stages          []StageExecution  `json:"stages"`
	// Lock is the pipeline-level lock the execution holds or waits for.
	Lock string `json:"lock,omitempty"`
	// Upstream is the execution whose end started this one (a Pipeline
	// trigger); Parent the action that invoked it.
	Upstream *ExecutionRef `json:"upstream,omitempty"`
	Parent   *ExecutionRef `json:"parent,omitempty"`
	// ExecutionType is STANDARD or ROLLBACK; a rollback names its target.
	ExecutionType    string            `json:"executionType,omitempty"`
	RollbackMetadata *RollbackMetadata `json:"rollbackMetadata,omitempty"`
}

// ExecutionRef points at an execution of another pipeline (and, for a
// parent, the action in it).
type ExecutionRef struct {
	PipelineName        string `json:"pipelineName"`
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Status              string `json:"status,omitempty"`
	Stage               string `json:"stage,omitempty"`
	Action              string `json:"action,omitempty"`
}

// SourceRevision is the revision a source action of an execution produced.
type SourceRevision struct {
	ActionName      string `json:"actionName"`
	RevisionID      string `json:"revisionId"`
	RevisionType    string `json:"revisionType,omitempty"` // COMMIT_ID, IMAGE_DIGEST, S3_OBJECT_VERSION_ID, S3_OBJECT_KEY
	ObjectKey       string `json:"objectKey,omitempty"`    // an S3 source's object key from an S3_OBJECT_KEY override
	RevisionSummary string `json:"revisionSummary,omitempty"`
}

// Terminal reports whether the execution has ended.
func (e *Execution) Terminal() bool {
	switch e.Status {
	case "Stopped", "Succeeded", "Superseded", "Failed":
		return true
	}
	return false
}

// StageExecution is a stage of an execution.
type StageExecution struct {
	Name    string            `json:"name"`
	Status  string            `json:"status"`
	Attempt int               `json:"attempt,omitempty"`
	Actions []ActionExecution `json:"actions"`
	Lock    string            `json:"lock,omitempty"`
	// The latest evaluation of each kind of the stage's conditions.
	BeforeEntryConditionState *ConditionState `json:"beforeEntryConditionState,omitempty"`
	OnSuccessConditionState   *ConditionState `json:"onSuccessConditionState,omitempty"`
	OnFailureConditionState   *ConditionState `json:"onFailureConditionState,omitempty"`
	// AutomaticRetries counts the retries an onFailure RETRY made.
	AutomaticRetries int `json:"automaticRetries,omitempty"`
}

// ActionExecution is an action of an execution.
type ActionExecution struct {
	Name            string            `json:"name"`
	Provider        string            `json:"provider"`
	Category        string            `json:"category"`
	RunOrder        int               `json:"runOrder"`
	Status          string            `json:"status"`
	Summary         string            `json:"summary,omitempty"`
	Attempt         int               `json:"attempt"`
	StartTime       *time.Time        `json:"startTime,omitempty"`
	LastUpdateTime  *time.Time        `json:"lastUpdateTime,omitempty"`
	OutputVariables map[string]string `json:"outputVariables,omitempty"`
	OutputArtifacts []string          `json:"outputArtifacts,omitempty"`
	// FailedArtifacts were uploaded by the failed attempt FailedAttempt: they
	// can be downloaded, and no later action receives them.
	FailedArtifacts []string `json:"failedOutputArtifacts,omitempty"`
	FailedAttempt   int      `json:"failedAttempt,omitempty"`
	// Token answers a waiting Manual action (PutApprovalResult); Approval is
	// the answer it got.
	Token    string    `json:"token,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
	// ExternalExecutionID names the execution a Pipeline action started.
	ExternalExecutionID string            `json:"externalExecutionId,omitempty"`
	Configuration       map[string]string `json:"configuration,omitempty"`
}

// Approval is the answer a manual approval got.
type Approval struct {
	Status     string    `json:"status"`
	Summary    string    `json:"summary,omitempty"`
	ApprovedBy string    `json:"approvedBy"`
	Time       time.Time `json:"time"`
}

// ApprovalResult is PutApprovalResult's request, in CodePipeline's shape.
type ApprovalResult struct {
	StageName  string `json:"stageName"`
	ActionName string `json:"actionName"`
	Token      string `json:"token"`
	Result     struct {
		Status  string `json:"status"` // Approved or Rejected
		Summary string `json:"summary,omitempty"`
	} `json:"result"`
}

// LockState is a lock with its holder and queue.
type LockState struct {
	Name   string         `json:"name"`
	Holder *ExecutionRef  `json:"holder,omitempty"`
	Since  *time.Time     `json:"since,omitempty"`
	Queue  []ExecutionRef `json:"queue"`
}

// ExecutionSummary is an execution in a list.
type ExecutionSummary struct {
	PipelineExecutionID string           `json:"pipelineExecutionId"`
	PipelineVersion     int              `json:"pipelineVersion"`
	Status              string           `json:"status"`
	StatusSummary       string           `json:"statusSummary,omitempty"`
	Trigger             Trigger          `json:"trigger"`
	SourceRevisions     []SourceRevision `json:"sourceRevisions"`
	StartTime           time.Time        `json:"startTime"`
	LastUpdateTime      time.Time        `json:"lastUpdateTime"`
	Waiting             *Waiting         `json:"waiting,omitempty"`
	// ExecutionType is STANDARD or ROLLBACK; a rollback names its target.
	ExecutionType    string            `json:"executionType,omitempty"`
	RollbackMetadata *RollbackMetadata `json:"rollbackMetadata,omitempty"`
}

// Waiting is what an execution in progress waits for: "InProgress" alone
// does not say whether it works or waits on something outside it.
type Waiting struct {
	// Kind is lock, gate, approval, invoke, transition or stage.
	Kind string `json:"kind"`
	// Name is the lock, the gated or invoked pipeline, the stage, or for an
	// approval STAGE/ACTION.
	Name string `json:"name,omitempty"`
	// Position in the lock's queue (1: next) and the pipeline holding it.
	Position int    `json:"position,omitempty"`
	HeldBy   string `json:"heldBy,omitempty"`
	// Label is the short form the lists show after the status: "waiting for
	// lock prod-cluster", "waiting for gate: infra", "waiting for approval".
	Label  string `json:"label"`
	Detail string `json:"detail,omitempty"` // the whole sentence, when there is one
}

// LatestExecution is a pipeline's latest execution, in the pipeline list.
type LatestExecution struct {
	PipelineExecutionID string    `json:"pipelineExecutionId"`
	Status              string    `json:"status"`
	StartTime           time.Time `json:"startTime"`
	LastUpdateTime      time.Time `json:"lastUpdateTime"`
	Waiting             *Waiting  `json:"waiting,omitempty"`
}

// StopRequest stops an execution.
type StopRequest struct {
	Abandon bool   `json:"abandon"`
	Reason  string `json:"reason,omitempty"`
}

// RetryRequest retries a stage.
type RetryRequest struct {
	Stage string `json:"stageName"`
	All   bool   `json:"all"`
}

// TransitionRequest enables or disables a stage's inbound transition.
type TransitionRequest struct {
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason,omitempty"`
}

// PipelineState is the state of every stage of a pipeline, as GetPipelineState.
type PipelineState struct {
	PipelineName    string       `json:"pipelineName"`
	PipelineVersion int          `json:"pipelineVersion"`
	StageStates     []StageState `json:"stageStates"`
	// LastTrigger is what the last push, webhook, poll or schedule did.
	LastTrigger *TriggerNote `json:"lastTrigger,omitempty"`
	// Isolation says how the server's workers isolate actions' code (a
	// sluice addition), and Sandboxed whether they do at all.
	Isolation string `json:"isolation,omitempty"`
	Sandboxed bool   `json:"sandboxed"`
}

// TriggerNote is what a trigger did: started an execution, or why not.
type TriggerNote struct {
	Time                time.Time `json:"time"`
	TriggerType         string    `json:"triggerType"`
	TriggerDetail       string    `json:"triggerDetail"`
	Started             bool      `json:"started"`
	PipelineExecutionID string    `json:"pipelineExecutionId,omitempty"`
	Reason              string    `json:"reason,omitempty"`
}

// StageState is a stage's inbound transition and latest execution.
type StageState struct {
	StageName              string          `json:"stageName"`
	InboundTransitionState TransitionState `json:"inboundTransitionState"`
	LatestExecution        *StageLatest    `json:"latestExecution,omitempty"`
	ActionStates           []ActionState   `json:"actionStates"`
	// Waiting lists executions waiting to enter the stage, oldest first.
	Waiting []WaitingExecution `json:"waiting,omitempty"`
	// The latest execution's evaluations of the stage's conditions.
	BeforeEntryConditionState *ConditionState `json:"beforeEntryConditionState,omitempty"`
	OnSuccessConditionState   *ConditionState `json:"onSuccessConditionState,omitempty"`
	OnFailureConditionState   *ConditionState `json:"onFailureConditionState,omitempty"`
}

// TransitionState is whether executions may enter a stage.
type TransitionState struct {
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabledReason,omitempty"`
	LastChangedBy  string     `json:"lastChangedBy,omitempty"`
	LastChangedAt  *time.Time `json:"lastChangedAt,omitempty"`
}

// StageLatest is the latest execution to enter a stage.
type StageLatest struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Status              string `json:"status"`
}

// WaitingExecution is an execution waiting to enter a stage, and why.
type WaitingExecution struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Reason              string `json:"reason"`
}

// ActionState is an action's latest execution.
type ActionState struct {
	ActionName      string           `json:"actionName"`
	LatestExecution *ActionExecution `json:"latestExecution,omitempty"`
}

// ClaimRequest asks for a job.
type ClaimRequest struct {
	WorkerID    string   `json:"workerId"`
	Providers   []string `json:"providers"`
	WaitSeconds int      `json:"waitSeconds"`
	// Region is the region the worker is in ("": the server's home
	// region); it is given that region's jobs only.
	Region string `json:"region,omitempty"`
}

// Job is a job given to a worker.
type Job struct {
	ID                  string            `json:"id"`
	PipelineExecutionID string            `json:"pipelineExecutionId"`
	PipelineName        string            `json:"pipelineName"`
	Stage               string            `json:"stage"`
	Action              string            `json:"action"`
	Attempt             int               `json:"attempt"`
	ActionTypeID        ActionTypeID      `json:"actionTypeId"`
	Configuration       map[string]string `json:"configuration,omitempty"`
	Revision            string            `json:"revision,omitempty"`
	// Project is the build project a Build action names, read when the job
	// was claimed.
	Project          json.RawMessage   `json:"project,omitempty"`
	Commands         []string          `json:"commands,omitempty"`
	Variables        map[string]string `json:"variables,omitempty"`
	InputArtifacts   []Artifact        `json:"inputArtifacts,omitempty"`
	OutputArtifacts  []Artifact        `json:"outputArtifacts,omitempty"`
	OutputVariables  []string          `json:"outputVariables,omitempty"`
	Deadline         time.Time         `json:"deadline"`
	LeaseUntil       time.Time         `json:"leaseUntil"`
	HeartbeatSeconds float64           `json:"heartbeatSeconds"`

	// Function is the function a Function (Lambda) action names, read when
	// the job was claimed; JobToken lets it answer for this job alone, and
	// ContinuationToken is what its previous invocation asked to be given.
	Function          json.RawMessage `json:"function,omitempty"`
	JobToken          string          `json:"jobToken,omitempty"`
	ContinuationToken string          `json:"continuationToken,omitempty"`

	// Region is the region the job runs in: its action's, or the server's
	// home region.
	Region string `json:"region,omitempty"`
	// BuildNumber is the build's number among its project's builds, for a
	// Build action.
	BuildNumber int64 `json:"buildNumber,omitempty"`
}

// ActionTypeID names an action's kind.
type ActionTypeID struct {
	Category string `json:"category"`
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Version  string `json:"version"`
}

// Artifact is a job's input or output artifact.
type Artifact struct {
	Name  string   `json:"name"`
	Files []string `json:"files,omitempty"`
}

// HeartbeatRequest renews a lease.
type HeartbeatRequest struct {
	WorkerID string `json:"workerId"`
	// WaitSeconds holds the call open until the job is taken away, at most this long.
	WaitSeconds float64 `json:"waitSeconds,omitempty"`
}

// HeartbeatResult is the renewed lease.
type HeartbeatResult struct {
	LeaseUntil time.Time `json:"leaseUntil"`
}

// NextParam is the query parameter of a job's result that also claims the
// worker's next job: the providers it runs, comma-separated. The answer is
// then the job (200), or 204 No Content when none is queued; the claim does
// not wait. Servers that predate it ignore it and answer 204.
const NextParam = "next"

// JobResult reports how a job ended.
type JobResult struct {
	WorkerID string `json:"workerId"`
	// NextRegion is, with NextParam, the region the worker is in ("": the
	// server's home region), whose jobs alone the next claim may give it.
	NextRegion      string            `json:"nextRegion,omitempty"`
	Succeeded       bool              `json:"succeeded"`
	Summary         string            `json:"summary,omitempty"`
	Message         string            `json:"message,omitempty"`
	OutputVariables map[string]string `json:"outputVariables,omitempty"`
	// Log is the end of the job's log (at most 1 MiB), appended with the result.
	Log []byte `json:"log,omitempty"`
	// Invoked reports that a function was invoked and will answer for the job
	// itself (JobSuccess or JobFailure); the worker lets go of the job.
	Invoked bool `json:"invoked,omitempty"`
	// FailedArtifacts names the output artifacts a failed job uploaded anyway
	// (a build whose upload phase ran after its build phase failed). They are
	// kept for download, marked as from a failed attempt, never used as inputs.
	FailedArtifacts []string `json:"failedArtifacts,omitempty"`
}

// JobSuccess is PutJobSuccessResult: a function's answer that its job
// succeeded, or, with a continuation token, that it wants to be invoked again.
type JobSuccess struct {
	ContinuationToken string            `json:"continuationToken,omitempty"`
	OutputVariables   map[string]string `json:"outputVariables,omitempty"`
	Summary           string            `json:"summary,omitempty"`
}

// JobFailure is PutJobFailureResult.
type JobFailure struct {
	Message string `json:"message"`
}

// Event is an event, EventBridge's envelope around CodePipeline's detail.
type Event struct {
	Version    string         `json:"version"`
	ID         string         `json:"id"`
	Seq        int64          `json:"seq"`
	DetailType string         `json:"detail-type"`
	Source     string         `json:"source"`
	Account    string         `json:"account"`
	Time       time.Time      `json:"time"`
	Region     string         `json:"region"`
	Resources  []string       `json:"resources"`
	Detail     map[string]any `json:"detail"`
}
