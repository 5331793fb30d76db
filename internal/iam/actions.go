package iam

import (
	"slices"
	"strings"
)

// Version is the policy language version sluice writes, IAM's current one.
const Version = "2012-10-17"

// Actions are the names of every operation a policy can allow, without their
// prefix: one per API operation (the API's route table names them, and a test
// keeps the two in step) and the two git ones. Names follow CodePipeline's,
// CodeCommit's, CodeBuild's and Lambda's API where those have the operation.
// Reads start with Get or List and nothing else does, so that sluice:Get* and
// sluice:List* mean "look". The job protocol's reads (GetJob*) are on
// job/ID resources, which the ready-made policies for people deny.
var Actions = []string{
	// Pipelines.
	"ListPipelines", "GetPipeline", "PutPipeline", "DeletePipeline", "GetPipelineState",
	"EnableStageTransition", "DisableStageTransition", "GetPipelineGraph",
	// Executions.
	"StartPipelineExecution", "ListPipelineExecutions", "GetPipelineExecution",
	"StopPipelineExecution", "RetryStageExecution", "RollbackStage", "OverrideStageCondition", "ListRuleExecutions",
	"GetActionLog", "GetArtifact", "ListReports",
	"ListEvents", "GetEventStream", "ListCommitStatuses",
	// Approvals and locks.
	"PutApprovalResult", "ListLocks",
	// The job protocol, spoken by workers (and, for one job, by a function's job token).
	"PollForJobs", "AcknowledgeJob", "PutJobResult", "PutJobLog", "GetJobInput", "PutJobOutput",
	"PutJobSuccessResult", "PutJobFailureResult", "PutJobReport", "GetJobCache", "PutJobCache", "GetJobSecret",
	"GetJobConnection", "GetJobGitConnection", "CreateJobDeployment", "GetJobDeployment",
	// A function's AWS credentials, asked with its job's token.
	"CreateJobCredentials",
	// Secrets, webhooks, build projects, functions.
	"ListSecrets", "PutSecret", "DeleteSecret",
	// Re-encrypting every secret under the current secret key (rotating it).
	"ReencryptSecrets",
	"ListWebhooks", "PutWebhook", "DeleteWebhook",
	"ListProjects", "GetProject", "PutProject", "DeleteProject",
	"ListFunctions", "GetFunction", "PutFunction", "DeleteFunction",
	// Deployment groups of applications (CodeDeploy's), resource deploymentgroup/APP/GROUP.
	"ListDeploymentGroups", "GetDeploymentGroup", "PutDeploymentGroup", "DeleteDeploymentGroup",
	"CreateDeployment", "ListDeployments", "GetDeployment", "ListDeploymentAgents",
	// The agent protocol, spoken by `sluice agent` as agent/ID.
	"PollForDeployments", "GetDeploymentRevision", "PutDeploymentHostResult",
	// An agent's pinned group and tags, as an admin sets or clears them
	// (CodeDeploy's on-premises instance registration), on agent/ID.
	"RegisterOnPremisesInstance", "DeregisterOnPremisesInstance",
	// Event rules.
	"ListRules", "GetRule", "PutRule", "DeleteRule", "ListRuleFailures",
	// Hosted repositories.
	"ListRepositories", "GetRepository", "CreateRepository", "DeleteRepository", "PutBranchProtection",
	"ListRepositoryMirrors", "PutRepositoryMirror", "DeleteRepositoryMirror",
	"GitPull", "GitPush",
	// Pull requests of hosted repositories and their approval rules
	// (CodeCommit's operations), on repository/NAME; approval rule
	// templates on approvalruletemplate/NAME.
	"ListPullRequests", "GetPullRequest", "GetDifferences", "CreatePullRequest",
	"UpdatePullRequestTitle", "UpdatePullRequestDescription", "UpdatePullRequestStatus",
	"PostCommentForPullRequest", "UpdatePullRequestApprovalState", "OverridePullRequestApprovalRules",
	"CreatePullRequestApprovalRule",
	"MergePullRequestByFastForward", "MergePullRequestBySquash", "MergePullRequestByThreeWay",
	"ListApprovalRuleTemplates", "GetApprovalRuleTemplate", "CreateApprovalRuleTemplate", "DeleteApprovalRuleTemplate",
	"AssociateApprovalRuleTemplateWithRepository", "DisassociateApprovalRuleTemplateFromRepository",
	// Tokens, and the audit trail of what they did.
	"ListTokens", "CreateToken", "RotateToken", "RevokeToken", "ListAuditRecords",
	// SSH public keys that stand for tokens over git's SSH transport.
	"ListSSHPublicKeys", "UploadSSHPublicKey", "DeleteSSHPublicKey",
	// Named policies, which pipelines and projects run with as their role.
	"ListPolicies", "GetPolicy", "PutPolicy", "DeletePolicy",
	// Connections to other systems (aws accounts) that actions use.
	"ListConnections", "GetConnection", "PutConnection", "DeleteConnection",
	// A secret's value, asked of a job's role (never of a token) when the
	// job's worker asks for a secret: no route has it. UseConnection, asked
	// of a job's role likewise, lets its jobs use a connection that takes
	// the worker's own identity (credentials fromWorker).
	"GetSecretValue", "UseConnection",
	// Custom action types, served to job workers through the AWS-compatible
	// endpoint (package awsapi), which alone has these operations.
	"ListActionTypes", "CreateCustomActionType", "DeleteCustomActionType",
	// Events put by callers (EventBridge's PutEvents), which rules match.
	"PutEvents",
	// The server's Prometheus metrics (GET /metrics), for a scraper's token.
	"GetMetrics",
}

// AWSActions are the actions only the AWS-compatible endpoint serves: no
// route of the native API has them.
var AWSActions = []string{"ListActionTypes", "CreateCustomActionType", "DeleteCustomActionType", "PutEvents"}

// RoleActions are the actions asked of a role rather than of a caller: no API
// route names them.
var RoleActions = []string{"GetSecretValue", "UseConnection"}

// ResourceTypes are what a resource's TYPE/NAME may start with.
var ResourceTypes = []string{"pipeline", "repository", "project", "function", "secret", "webhook", "token", "rule", "job", "policy", "connection", "sshkey", "deploymentgroup", "deployment", "agent", "approvalruletemplate", "region"}

// IsAction reports whether name (without prefix) is one of Actions.
func IsAction(name string) bool { return slices.Contains(Actions, name) }

// Ready-made policy names.
const (
	PolicyAdmin    = "admin"
	PolicyOperator = "operator"
	PolicyApprover = "approver"
	PolicyViewer   = "viewer"
	PolicyWorker   = "worker"
	// PolicyAgent is a `sluice agent`'s: its own host deployments, nothing else.
	PolicyAgent = "agent"
	// PolicyDefaultPipeline is the role of a pipeline or build project that
	// names none: its jobs may read every secret, as before roles existed.
	// Applying such a pipeline counts as passing this role, so only a caller
	// holding sluice:GetSecretValue on secret/* may.
	PolicyDefaultPipeline = "default-pipeline"
	// PolicyRead is the name viewer had before policies named actions;
	// tokens made then keep working under it.
	PolicyRead = "read"
)

// ReadyMadeNames lists the ready-made policies a token can be given by name.
// PolicyDefaultPipeline is ready-made too, but a role, not meant for tokens.
func ReadyMadeNames() []string {
	return []string{PolicyAdmin, PolicyOperator, PolicyApprover, PolicyViewer, PolicyWorker, PolicyAgent}
}

func actions(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = Prefix + n
	}
	return out
}

// noJobProtocol keeps people's policies out of the job protocol and the agents' (agent/*), whose reads
// Get* would otherwise match.
var noJobProtocol = Statement{Sid: "JobProtocolIsForWorkers", Effect: Deny, Action: []string{Prefix + "*"}, Resource: []string{"job/*", "agent/*"}}

// noSecretValues keeps secret values out of "look at everything": Get*
// would otherwise match GetSecretValue.
var noSecretValues = Statement{Sid: "SecretValuesAreNotForLooking", Effect: Deny, Action: actions("GetSecretValue"), Resource: []string{"*"}}

// ReadyMade returns a ready-made policy by name ("read" is viewer), and
// whether there is one. Tokens given one by name keep only the name, so a
// newer sluice's definition applies to them, as AWS-managed policies do.
func ReadyMade(name string) (*Policy, bool) {
	everywhere := []string{"*"}
	look := actions("Get*", "List*", "GitPull")
	var sts []Statement
	switch name {
	case PolicyAdmin:
		sts = []Statement{{Sid: "Everything", Effect: Allow, Action: []string{"*"}, Resource: everywhere}}
	case PolicyOperator:
		sts = []Statement{
			{Sid: "LookAtEverything", Effect: Allow, Action: look, Resource: everywhere},
			{Sid: "RunPipelines", Effect: Allow, Action: actions(
				"StartPipelineExecution", "StopPipelineExecution", "RetryStageExecution",
				"RollbackStage", "OverrideStageCondition", "EnableStageTransition", "DisableStageTransition", "PutApprovalResult", "GitPush",
				"CreateDeployment",
			), Resource: everywhere},
			// Developers: pull requests, short of overriding their rules.
			{Sid: "WorkOnPullRequests", Effect: Allow, Action: actions(
				"CreatePullRequest", "UpdatePullRequestTitle", "UpdatePullRequestDescription", "UpdatePullRequestStatus",
				"PostCommentForPullRequest", "UpdatePullRequestApprovalState",
				"MergePullRequestByFastForward", "MergePullRequestBySquash", "MergePullRequestByThreeWay",
			), Resource: everywhere},
			noJobProtocol, noSecretValues,
		}
	case PolicyApprover:
		sts = []Statement{
			{Sid: "LookAtEverything", Effect: Allow, Action: look, Resource: everywhere},
			{Sid: "AnswerApprovals", Effect: Allow, Action: actions("PutApprovalResult"), Resource: everywhere},
			{Sid: "ReviewPullRequests", Effect: Allow, Action: actions("PostCommentForPullRequest", "UpdatePullRequestApprovalState"), Resource: everywhere},
			noJobProtocol, noSecretValues,
		}
	case PolicyViewer, PolicyRead:
		sts = []Statement{
			{Sid: "LookAtEverything", Effect: Allow, Action: look, Resource: everywhere},
			noJobProtocol, noSecretValues,
		}
	case PolicyDefaultPipeline:
		sts = []Statement{
			{Sid: "ReadEverySecret", Effect: Allow, Action: actions("GetSecretValue"), Resource: []string{"secret/*"}},
			{Sid: "UseEveryConnection", Effect: Allow, Action: actions("UseConnection"), Resource: []string{"connection/*"}},
		}
	case PolicyWorker:
		sts = []Statement{{Sid: "RunJobs", Effect: Allow, Action: actions(
			"PollForJobs", "AcknowledgeJob", "PutJobResult", "PutJobLog", "GetJobInput", "PutJobOutput",
			"PutJobSuccessResult", "PutJobFailureResult", "PutJobReport", "GetJobCache", "PutJobCache", "GetJobSecret",
			"GetJobConnection", "GetJobGitConnection", "CreateJobDeployment", "GetJobDeployment", "GitPull", "CreateJobCredentials",
		), Resource: everywhere}}
	case PolicyAgent:
		return AgentPolicy("*"), true
	default:
		return nil, false
	}
	return &Policy{Version: Version, Statement: sts}, true
}

// AgentPolicy is the ready-made agent policy as it binds the token named
// name: the agent whose id is the token's name may ask for its host
// deployments, fetch their revisions and report on them; another agent's
// id (agent/OTHER) is not its resource. ReadyMade's "agent" is
// AgentPolicy("*"), what a token that grants agent tokens must hold.
func AgentPolicy(name string) *Policy {
	return &Policy{Version: Version, Statement: []Statement{{Sid: "DeployOwnHosts", Effect: Allow, Action: actions(
		"PollForDeployments", "GetDeploymentRevision", "PutDeploymentHostResult",
	), Resource: []string{"agent/" + name}}}}
}

// knownResource reports whether r is "*" or TYPE/NAME with a TYPE pattern
// matching one of ResourceTypes and a NAME not empty.
func knownResource(r string) bool {
	if r == "*" {
		return true
	}
	typ, name, ok := strings.Cut(r, "/")
	if !ok || name == "" {
		return false
	}
	for _, t := range ResourceTypes {
		if Match(typ, t) {
			return true
		}
	}
	return false
}
