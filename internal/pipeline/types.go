// Package pipeline holds sluice's declarations: pipelines, stages and actions as a
// user writes them, in the native YAML form or CodePipeline's JSON form, and the
// rules that make a declaration valid. Of sluice's packages it imports only
// schedule, whose expressions are part of a declaration's syntax, and yamlnode.
package pipeline

// ExecutionMode says how executions of one pipeline share its stages.
type ExecutionMode string

const (
	// Superseded lets one execution occupy a stage at a time; a newer execution
	// waiting to enter a stage replaces an older one waiting there.
	Superseded ExecutionMode = "SUPERSEDED"
	// Queued lets one execution occupy a stage at a time, first in first out.
	Queued ExecutionMode = "QUEUED"
	// Parallel runs executions independently of one another.
	Parallel ExecutionMode = "PARALLEL"
)

// Valid reports whether m is one of the three modes.
func (m ExecutionMode) Valid() bool {
	return m == Superseded || m == Queued || m == Parallel
}

// Action categories, as CodePipeline names them.
const (
	CategorySource   = "Source"
	CategoryBuild    = "Build"
	CategoryTest     = "Test"
	CategoryDeploy   = "Deploy"
	CategoryApproval = "Approval"
	CategoryInvoke   = "Invoke"
	CategoryCompute  = "Compute"
)

// Pipeline is one declaration. Its JSON form is CodePipeline's pipeline structure,
// so `sluice pipeline get -o json` prints what `aws codepipeline get-pipeline`
// would, and the same document can be applied back.
type Pipeline struct {
	Name          string        `json:"name"`
	PipelineType  string        `json:"pipelineType,omitempty"`
	ExecutionMode ExecutionMode `json:"executionMode,omitempty"`
	Variables     []Variable    `json:"variables,omitempty"`
	Stages        []Stage       `json:"stages"`
	Triggers      []Trigger     `json:"triggers,omitempty"`
	// Lock names a lock every execution holds from entering its first stage
	// until it ends; executions of any pipeline naming the same lock queue for it.
	Lock string `json:"lock,omitempty"`
	// Role names the policy the pipeline's jobs run with, as written: a
	// name, or CodePipeline's roleArn (arn:aws:iam::ACCOUNT:role/NAME, whose
	// NAME RoleName reads). A job gets a secret only when its role allows
	// sluice:GetSecretValue on secret/NAME. Empty is the default role,
	// iam.PolicyDefaultPipeline. Applying resolves it to a name (an ARN
	// naming a role sluice has not runs with the default role, so AWS's
	// files apply unchanged).
	Role string `json:"role,omitempty"`
	// CommitStatus says how executions report to the git host of a
	// connection source (sluice's extension; CodePipeline reports
	// nothing). Nil reports with the defaults.
	CommitStatus *CommitStatus `json:"commitStatus,omitempty"`
	// ForkSecrets gives the jobs of an execution started by a pull request
	// from a fork the secrets and connections the pipeline's role allows
	// (sluice's extension). Without it they get none: a fork's head is code
	// its author controls, which is why GitHub Actions withholds secrets
	// from forks' pull requests too. Source actions, sluice's own code,
	// still read through their connections.
	ForkSecrets bool `json:"forkSecrets,omitempty"`
	// ArtifactStores is CodePipeline's artifactStores: one store per region
	// the pipeline's actions run in, keyed by region. Each region must be
	// one the server declares (sluice server --region NAME=STORE), whose own
	// store is the one used: Location is checked for shape and kept, never
	// used to address anything.
	ArtifactStores map[string]ArtifactStore `json:"artifactStores,omitempty"`
}

// ArtifactStore is one entry of a pipeline's artifactStores.
type ArtifactStore struct {
	Type     string `json:"type"`
	Location string `json:"location"`
}

// CommitStatus configures the commit statuses an execution started by a
// commit or pull request of a git host connection's repository sets on it:
// pending when it starts, then success, failure or error.
type CommitStatus struct {
	// Report, when false, sets no statuses; nil means true.
	Report *bool `json:"report,omitempty"`
	// Context names the status on the host ("sluice/PIPELINE" when
	// empty): a host keeps the latest status per context and commit.
	Context string `json:"context,omitempty"`
}

// ReportsCommitStatus reports whether p's executions set commit statuses.
func (p *Pipeline) ReportsCommitStatus() bool {
	return p.CommitStatus == nil || p.CommitStatus.Report == nil || *p.CommitStatus.Report
}

// CommitStatusContext is the context p's commit statuses are set under.
func (p *Pipeline) CommitStatusContext() string {
	if p.CommitStatus != nil && p.CommitStatus.Context != "" {
		return p.CommitStatus.Context
	}
	return "sluice/" + p.Name
}

// Trigger types.
const (
	TriggerGit      = "Git"      // CodeStarSourceConnection is read as Git
	TriggerSchedule = "Schedule" // an EventBridge schedule expression
	TriggerPipeline = "Pipeline" // another pipeline's execution ending
)

// Trigger starts executions of the pipeline: CodePipeline V2's git triggers with
// their filters, and schedules.
type Trigger struct {
	ProviderType     string            `json:"providerType"`
	GitConfiguration *GitConfiguration `json:"gitConfiguration,omitempty"`
	// Schedule is "cron(m h dom mon dow year)" or "rate(N unit)", in EventBridge's
	// syntax; TimeZone is an IANA name, UTC when empty.
	Schedule string `json:"schedule,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
	// Pipeline starts this pipeline when an execution of another one ends.
	Pipeline *PipelineTrigger `json:"pipeline,omitempty"`
}

// PipelineTrigger starts a pipeline when an execution of the upstream pipeline
// Name ends in one of the states On (Succeeded when empty).
type PipelineTrigger struct {
	Name string   `json:"name"`
	On   []string `json:"on,omitempty"`
}

// UpstreamStates are the ends of an execution a pipeline trigger can follow.
var UpstreamStates = []string{"Succeeded", "Failed", "Stopped", "Superseded"}

// GitConfiguration says which pushes to a source action's repository start the
// pipeline. With no push filter, every push to the action's branch does.
type GitConfiguration struct {
	SourceActionName string          `json:"sourceActionName"`
	Push             []GitPushFilter `json:"push,omitempty"`
	// PullRequest starts the pipeline on pull requests' changes, from the
	// webhooks of the source action's git host connection.
	PullRequest []GitPullRequestFilter `json:"pullRequest,omitempty"`
}

// GitPullRequestFilter matches a pull request's change when every filter it
// gives matches: its event (OPEN, UPDATED, CLOSED; every one when empty),
// its destination branch, and any of the files it changes.
type GitPullRequestFilter struct {
	Events    []string   `json:"events,omitempty"`
	Branches  *GitFilter `json:"branches,omitempty"`
	FilePaths *GitFilter `json:"filePaths,omitempty"`
}

// Pull-request events, as CodePipeline names them.
const (
	PullRequestOpen    = "OPEN"
	PullRequestUpdated = "UPDATED"
	PullRequestClosed  = "CLOSED"
)

// PullRequestEvents are the events a pull-request filter can name.
var PullRequestEvents = []string{PullRequestOpen, PullRequestUpdated, PullRequestClosed}

// GitPushFilter matches a push when every filter it gives matches.
type GitPushFilter struct {
	Branches  *GitFilter `json:"branches,omitempty"`
	Tags      *GitFilter `json:"tags,omitempty"`
	FilePaths *GitFilter `json:"filePaths,omitempty"`
}

// GitFilter holds glob patterns: a value matches when it matches an include (or
// there are none) and no exclude.
type GitFilter struct {
	Includes []string `json:"includes,omitempty"`
	Excludes []string `json:"excludes,omitempty"`
}

// Variable is a pipeline-level variable, overridable when an execution starts.
type Variable struct {
	Name         string `json:"name"`
	DefaultValue string `json:"defaultValue,omitempty"`
	Description  string `json:"description,omitempty"`
}

// Stage is a named step; stages run one after another.
type Stage struct {
	Name    string   `json:"name"`
	Actions []Action `json:"actions"`
	// Lock names a lock an execution holds while it is in this stage.
	Lock string `json:"lock,omitempty"`
	// BeforeEntry, OnSuccess and OnFailure are CodePipeline V2's stage
	// conditions (see conditions.go).
	BeforeEntry *BeforeEntryConditions `json:"beforeEntry,omitempty"`
	OnSuccess   *SuccessConditions     `json:"onSuccess,omitempty"`
	OnFailure   *FailureConditions     `json:"onFailure,omitempty"`
}

// Action is a unit of work in a stage. Actions with the same RunOrder run in
// parallel; a higher RunOrder waits for all lower ones to succeed.
type Action struct {
	Name            string            `json:"name"`
	ActionTypeID    ActionTypeID      `json:"actionTypeId"`
	RunOrder        int               `json:"runOrder"`
	Configuration   map[string]string `json:"configuration,omitempty"`
	Commands        []string          `json:"commands,omitempty"`
	InputArtifacts  []InputArtifact   `json:"inputArtifacts,omitempty"`
	OutputArtifacts []OutputArtifact  `json:"outputArtifacts,omitempty"`
	OutputVariables []string          `json:"outputVariables,omitempty"`
	Namespace       string            `json:"namespace,omitempty"`
	Region          string            `json:"region,omitempty"`
	// RoleArn is the role the action's aws connection assumes for this
	// action (CodePipeline's action-level roleArn), not a sluice role.
	RoleArn          string `json:"roleArn,omitempty"`
	TimeoutInMinutes int    `json:"timeoutInMinutes,omitempty"`
	// MaxAttempts is how many times the action's job is offered to workers when
	// the worker holding it vanishes (its lease expires). It does not retry an
	// action that failed on its own.
	MaxAttempts int `json:"maxAttempts,omitempty"`
}

// ActionTypeID names the kind of an action.
type ActionTypeID struct {
	Category string `json:"category"`
	Owner    string `json:"owner"`
	Provider string `json:"provider"`
	Version  string `json:"version"`
}

// InputArtifact names an artifact produced by an earlier action.
type InputArtifact struct {
	Name string `json:"name"`
}

// OutputArtifact names an artifact the action produces; Files are the globs (relative
// to the action's working directory) that go into it, for providers that take them.
type OutputArtifact struct {
	Name  string   `json:"name"`
	Files []string `json:"files,omitempty"`
}

// Document is the outer JSON shape of `aws codepipeline get-pipeline`.
type Document struct {
	Pipeline Pipeline  `json:"pipeline"`
	Metadata *Metadata `json:"metadata,omitempty"`
}

// Metadata describes a stored pipeline.
type Metadata struct {
	PipelineArn string `json:"pipelineArn,omitempty"`
	Created     string `json:"created,omitempty"`
	Updated     string `json:"updated,omitempty"`
	Version     int    `json:"version"`
}
