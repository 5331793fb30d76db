package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api"
	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
	"github.com/sluice-ci/sluice/internal/wire"
)

// permServer is the real API over a real SQLite store and hosted
// repositories, served on 127.0.0.1, with a token per ready-made policy
// (the token's name is the policy's) and a token of each name's own.
type permServer struct {
	url    string
	api    *api.Server
	svc    *service.Service
	store  store.Store
	tokens map[string]string // policy name → secret
}

func newPermServer(t *testing.T) *permServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	arts, err := artifact.NewDisk(filepath.Join(dir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, SecretKey: make([]byte, service.SecretKeySize)})
	repos, err := gitserver.New(filepath.Join(dir, "repos"), api.GitAuthorizer{Tokens: st}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := api.New(svc, st, repos, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	p := &permServer{url: srv.URL, api: a, svc: svc, store: st, tokens: map[string]string{}}
	for _, name := range iam.ReadyMadeNames() {
		secret := "secret-of-" + name
		if err := st.PutToken(ctx, store.Token{Name: name, Hash: auth.HashToken(secret), Policy: name, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		p.tokens[name] = secret
	}
	return p
}

// do sends a request with token, bounded in time (a stream is cut short),
// and returns the status and the body (an error's message).
func (p *permServer) do(t *testing.T, method, path, body, token string, basic bool) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" && strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	if basic {
		req.SetBasicAuth("someone", token)
	} else if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, "" // a stream: the status is all there is to see
	}
	raw, _ := io.ReadAll(resp.Body)
	var eb wire.ErrorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Message != "" {
		return resp.StatusCode, eb.Message
	}
	return resp.StatusCode, string(raw)
}

// Who is allowed, by the initials of the ready-made policies: Admin,
// Operator, aPprover, Viewer, Worker.
const (
	look    = "AOPV" // Get*, List*
	admin   = "A"
	run     = "AO"
	approve = "AOP"
	jobs    = "AW"
	agents  = "AG"
)

var initials = map[string]byte{"admin": 'A', "operator": 'O', "approver": 'P', "viewer": 'V', "worker": 'W', "agent": 'G'}

// operation is one API operation as a request, its action, its resource, and
// who may make it.
type operation struct {
	pattern, method, path, body string
	action, resource            string
	allowed                     string
}

const (
	pipelineYAML    = "name: app\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\n"
	projectYAML     = "name: web\nbuildspec: ci/buildspec.yml\n"
	connectionYAML  = "name: prod\nkind: aws\nregion: us-east-1\ncredentials: {secret: aws-keys}\n"
	functionYAML    = "name: fn\ncommand: [\"true\"]\n"
	deployGroupYAML = "applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\n"
	ruleYAML        = "name: nightly\nscheduleExpression: cron(0 3 * * ? *)\ntargets:\n  - pipeline: {name: app}\n"
	webhookYAML     = "name: hook\ntargetPipeline: app\ntargetAction: a\nfilters:\n  - jsonPath: $.ref\n    matchEquals: refs/heads/main\nauthentication: UNAUTHENTICATED\n"
)

// operations is the permission matrix: every operation the API has (the
// test fails on a route missing here), and who may make it.
var operations = []operation{
	{"GET /api/v1/pipelines", "GET", "/api/v1/pipelines", "", "ListPipelines", "*", look},
	{"POST /api/v1/pipelines", "POST", "/api/v1/pipelines?filename=app.yml", pipelineYAML, "PutPipeline", "pipeline/app", admin},
	{"GET /api/v1/pipelines/{name}", "GET", "/api/v1/pipelines/app", "", "GetPipeline", "pipeline/app", look},
	{"DELETE /api/v1/pipelines/{name}", "DELETE", "/api/v1/pipelines/gone", "", "DeletePipeline", "pipeline/gone", admin},
	{"GET /api/v1/pipelines/{name}/state", "GET", "/api/v1/pipelines/app/state", "", "GetPipelineState", "pipeline/app", look},
	{"POST /api/v1/pipelines/{name}/transitions/{stage}/enable", "POST", "/api/v1/pipelines/app/transitions/S/enable", `{"enabled":true}`, "EnableStageTransition", "pipeline/app", run},
	{"POST /api/v1/pipelines/{name}/transitions/{stage}/disable", "POST", "/api/v1/pipelines/app/transitions/S/disable", `{"reason":"freeze"}`, "DisableStageTransition", "pipeline/app", run},
	{"POST /api/v1/pipelines/{name}/executions", "POST", "/api/v1/pipelines/nope/executions", "", "StartPipelineExecution", "pipeline/nope", run},
	{"GET /api/v1/pipelines/{name}/executions", "GET", "/api/v1/pipelines/app/executions", "", "ListPipelineExecutions", "pipeline/app", look},
	{"GET /api/v1/pipelines/{name}/executions/{id}", "GET", "/api/v1/pipelines/app/executions/e1", "", "GetPipelineExecution", "pipeline/app", look},
	{"GET /api/v1/pipelines/{name}/executions/{id}/commit-statuses", "GET", "/api/v1/pipelines/app/executions/e1/commit-statuses", "", "ListCommitStatuses", "pipeline/app", look},
	{"POST /api/v1/pipelines/{name}/executions/{id}/stop", "POST", "/api/v1/pipelines/app/executions/e1/stop", `{}`, "StopPipelineExecution", "pipeline/app", run},
	{"POST /api/v1/pipelines/{name}/executions/{id}/retry", "POST", "/api/v1/pipelines/app/executions/e1/retry", `{"stageName":"S"}`, "RetryStageExecution", "pipeline/app", run},
	{"POST /api/v1/pipelines/{name}/executions/{id}/override-condition", "POST", "/api/v1/pipelines/app/executions/e1/override-condition", `{"stageName":"S","conditionType":"BEFORE_ENTRY"}`, "OverrideStageCondition", "pipeline/app", run},
	{"POST /api/v1/pipelines/{name}/rollback", "POST", "/api/v1/pipelines/app/rollback", `{"stageName":"S"}`, "RollbackStage", "pipeline/app", run},
	{"GET /api/v1/pipelines/{name}/rule-executions", "GET", "/api/v1/pipelines/app/rule-executions", "", "ListRuleExecutions", "pipeline/app", look},
	{"GET /api/v1/pipelines/{name}/executions/{id}/logs/{action...}", "GET", "/api/v1/pipelines/app/executions/e1/logs/S/a", "", "GetActionLog", "pipeline/app", look},
	{"GET /api/v1/pipelines/{name}/executions/{id}/artifacts/{artifact}", "GET", "/api/v1/pipelines/app/executions/e1/artifacts/out", "", "GetArtifact", "pipeline/app", look},
	{"GET /api/v1/pipelines/{name}/executions/{id}/reports", "GET", "/api/v1/pipelines/app/executions/e1/reports", "", "ListReports", "pipeline/app", look},
	{"POST /api/v1/pipelines/{name}/approvals", "POST", "/api/v1/pipelines/app/approvals", `{"stageName":"S","actionName":"a","token":"t","result":{"status":"Approved","summary":"ok"}}`, "PutApprovalResult", "pipeline/app", approve},
	{"GET /api/v1/events", "GET", "/api/v1/events?pipeline=app", "", "ListEvents", "pipeline/app", look},
	{"GET /api/v1/events/stream", "GET", "/api/v1/events/stream", "", "GetEventStream", "*", look},
	{"GET /api/v1/graph", "GET", "/api/v1/graph", "", "GetPipelineGraph", "*", look},
	{"GET /api/v1/locks", "GET", "/api/v1/locks", "", "ListLocks", "*", look},
	{"GET /metrics", "GET", "/metrics", "", "GetMetrics", "*", look},

	{"POST /api/v1/jobs/claim", "POST", "/api/v1/jobs/claim", `{"workerId":"w","providers":["Noop"],"waitSeconds":0}`, "PollForJobs", "region/local", jobs},
	{"POST /api/v1/jobs/{id}/heartbeat", "POST", "/api/v1/jobs/j1/heartbeat", `{"workerId":"w"}`, "AcknowledgeJob", "job/j1", jobs},
	{"POST /api/v1/jobs/{id}/result", "POST", "/api/v1/jobs/j1/result", `{"workerId":"w","succeeded":true}`, "PutJobResult", "job/j1", jobs},
	{"POST /api/v1/jobs/{id}/log", "POST", "/api/v1/jobs/j1/log?workerId=w", "hello", "PutJobLog", "job/j1", jobs},
	{"GET /api/v1/jobs/{id}/inputs/{artifact}", "GET", "/api/v1/jobs/j1/inputs/src?workerId=w", "", "GetJobInput", "job/j1", jobs},
	{"PUT /api/v1/jobs/{id}/outputs/{artifact}", "PUT", "/api/v1/jobs/j1/outputs/out?workerId=w", "zip", "PutJobOutput", "job/j1", jobs},
	{"POST /api/v1/jobs/{id}/success", "POST", "/api/v1/jobs/j1/success", `{}`, "PutJobSuccessResult", "job/j1", jobs},
	{"POST /api/v1/jobs/{id}/failure", "POST", "/api/v1/jobs/j1/failure", `{"message":"no"}`, "PutJobFailureResult", "job/j1", jobs},
	{"POST /api/v1/jobs/{id}/aws-credentials", "POST", "/api/v1/jobs/j1/aws-credentials", `{}`, "CreateJobCredentials", "job/j1", jobs},
	{"PUT /api/v1/jobs/{id}/reports/{group}", "PUT", "/api/v1/jobs/j1/reports/unit?workerId=w", "<testsuite/>", "PutJobReport", "job/j1", jobs},
	{"GET /api/v1/jobs/{id}/cache", "GET", "/api/v1/jobs/j1/cache?workerId=w", "", "GetJobCache", "job/j1", jobs},
	{"PUT /api/v1/jobs/{id}/cache", "PUT", "/api/v1/jobs/j1/cache?workerId=w", "zip", "PutJobCache", "job/j1", jobs},
	{"GET /api/v1/jobs/{id}/secrets/{name...}", "GET", "/api/v1/jobs/j1/secrets/npm?workerId=w", "", "GetJobSecret", "job/j1", jobs},

	{"GET /api/v1/jobs/{id}/connections/{name}", "GET", "/api/v1/jobs/j1/connections/prod?workerId=w", "", "GetJobConnection", "job/j1", jobs},
	{"POST /api/v1/jobs/{id}/deployments", "POST", "/api/v1/jobs/j1/deployments?workerId=w", "zip", "CreateJobDeployment", "job/j1", jobs},
	{"GET /api/v1/jobs/{id}/deployments/{deployment}", "GET", "/api/v1/jobs/j1/deployments/d-1?workerId=w", "", "GetJobDeployment", "job/j1", jobs},
	{"GET /api/v1/jobs/{id}/git-connection", "GET", "/api/v1/jobs/j1/git-connection?workerId=w", "", "GetJobGitConnection", "job/j1", jobs},
	{"POST /api/v1/connections", "POST", "/api/v1/connections?filename=c.yml", connectionYAML, "PutConnection", "connection/prod", admin},
	{"GET /api/v1/connections", "GET", "/api/v1/connections", "", "ListConnections", "*", look},
	{"GET /api/v1/connections/{name}", "GET", "/api/v1/connections/prod", "", "GetConnection", "connection/prod", look},
	{"DELETE /api/v1/connections/{name}", "DELETE", "/api/v1/connections/gone", "", "DeleteConnection", "connection/gone", admin},

	{"GET /api/v1/secrets", "GET", "/api/v1/secrets", "", "ListSecrets", "*", look},
	{"PUT /api/v1/secrets/{name...}", "PUT", "/api/v1/secrets/ci/npm", "s3cret", "PutSecret", "secret/ci/npm", admin},
	{"DELETE /api/v1/secrets/{name...}", "DELETE", "/api/v1/secrets/gone", "", "DeleteSecret", "secret/gone", admin},
	{"POST /api/v1/admin/reencrypt", "POST", "/api/v1/admin/reencrypt", "", "ReencryptSecrets", "*", admin},
	{"POST /api/v1/webhooks", "POST", "/api/v1/webhooks?filename=hook.yml", webhookYAML, "PutWebhook", "webhook/hook", admin},
	{"GET /api/v1/webhooks", "GET", "/api/v1/webhooks", "", "ListWebhooks", "*", look},
	{"DELETE /api/v1/webhooks/{name}", "DELETE", "/api/v1/webhooks/gone", "", "DeleteWebhook", "webhook/gone", admin},
	{"POST /api/v1/projects", "POST", "/api/v1/projects?filename=web.yml", projectYAML, "PutProject", "project/web", admin},
	{"GET /api/v1/projects", "GET", "/api/v1/projects", "", "ListProjects", "*", look},
	{"GET /api/v1/projects/{name}", "GET", "/api/v1/projects/web", "", "GetProject", "project/web", look},
	{"DELETE /api/v1/projects/{name}", "DELETE", "/api/v1/projects/gone", "", "DeleteProject", "project/gone", admin},
	{"POST /api/v1/functions", "POST", "/api/v1/functions?filename=fn.yml", functionYAML, "PutFunction", "function/fn", admin},
	{"GET /api/v1/functions", "GET", "/api/v1/functions", "", "ListFunctions", "*", look},
	{"GET /api/v1/functions/{name}", "GET", "/api/v1/functions/fn", "", "GetFunction", "function/fn", look},
	{"DELETE /api/v1/functions/{name}", "DELETE", "/api/v1/functions/gone", "", "DeleteFunction", "function/gone", admin},
	{"POST /api/v1/deployment-groups", "POST", "/api/v1/deployment-groups?filename=g.yml", deployGroupYAML, "PutDeploymentGroup", "deploymentgroup/shop/prod", admin},
	{"GET /api/v1/deployment-groups", "GET", "/api/v1/deployment-groups", "", "ListDeploymentGroups", "*", look},
	{"GET /api/v1/deployment-groups/{app}/{name}", "GET", "/api/v1/deployment-groups/shop/prod", "", "GetDeploymentGroup", "deploymentgroup/shop/prod", look},
	{"POST /api/v1/deployments", "POST", "/api/v1/deployments?application=shop&group=prod", "zip", "CreateDeployment", "deploymentgroup/shop/prod", run},
	{"GET /api/v1/deployments", "GET", "/api/v1/deployments", "", "ListDeployments", "*", look},
	{"GET /api/v1/deployments/{id}", "GET", "/api/v1/deployments/d-1", "", "GetDeployment", "deployment/d-1", look},
	{"GET /api/v1/agents", "GET", "/api/v1/agents", "", "ListDeploymentAgents", "*", look},
	// The agent token is named "agent": its policy is that agent's alone (another agent's id is refused: e2e/agents_identity_test.go).
	{"POST /api/v1/agents/{agent}/claim", "POST", "/api/v1/agents/agent/claim", `{"group":"web","waitSeconds":0}`, "PollForDeployments", "agent/agent", agents},
	{"GET /api/v1/agents/{agent}/deployments/{id}/revision", "GET", "/api/v1/agents/agent/deployments/d-1/revision", "", "GetDeploymentRevision", "agent/agent", agents},
	{"POST /api/v1/agents/{agent}/deployments/{id}/result", "POST", "/api/v1/agents/agent/deployments/d-1/result", `{"heartbeat":true}`, "PutDeploymentHostResult", "agent/agent", agents},
	{"PUT /api/v1/agents/{agent}/registration", "PUT", "/api/v1/agents/agent/registration", `{"group":"web"}`, "RegisterOnPremisesInstance", "agent/agent", admin},
	{"DELETE /api/v1/agents/{agent}/registration", "DELETE", "/api/v1/agents/agent/registration", "", "DeregisterOnPremisesInstance", "agent/agent", admin},
	{"DELETE /api/v1/deployment-groups/{app}/{name}", "DELETE", "/api/v1/deployment-groups/shop/gone", "", "DeleteDeploymentGroup", "deploymentgroup/shop/gone", admin},
	{"POST /api/v1/rules", "POST", "/api/v1/rules?filename=r.yml", "name: r\neventPattern: {source: [x]}\ntargets: [{webhook: {url: \"http://127.0.0.1:9/\"}}]\n", "PutRule", "rule/r", admin},
	{"GET /api/v1/rules", "GET", "/api/v1/rules", "", "ListRules", "*", look},
	{"GET /api/v1/rules/{name}", "GET", "/api/v1/rules/r", "", "GetRule", "rule/r", look},
	{"DELETE /api/v1/rules/{name}", "DELETE", "/api/v1/rules/gone", "", "DeleteRule", "rule/gone", admin},
	{"GET /api/v1/rules/{name}/failures", "GET", "/api/v1/rules/r/failures", "", "ListRuleFailures", "rule/r", look},

	{"POST /api/v1/rules", "POST", "/api/v1/rules?filename=nightly.yml", ruleYAML, "PutRule", "rule/nightly", admin},
	{"GET /api/v1/rules", "GET", "/api/v1/rules", "", "ListRules", "*", look},
	{"GET /api/v1/rules/{name}", "GET", "/api/v1/rules/nightly", "", "GetRule", "rule/nightly", look},
	{"DELETE /api/v1/rules/{name}", "DELETE", "/api/v1/rules/gone", "", "DeleteRule", "rule/gone", admin},
	{"GET /api/v1/rules/{name}/failures", "GET", "/api/v1/rules/nightly/failures", "", "ListRuleFailures", "rule/nightly", look},

	{"POST /api/v1/repos", "POST", "/api/v1/repos", `{"name":"lib"}`, "CreateRepository", "repository/lib", admin},
	{"GET /api/v1/repos", "GET", "/api/v1/repos", "", "ListRepositories", "*", look},
	{"GET /api/v1/repos/{name}", "GET", "/api/v1/repos/lib", "", "GetRepository", "repository/lib", look},
	{"DELETE /api/v1/repos/{name}", "DELETE", "/api/v1/repos/gone", "", "DeleteRepository", "repository/gone", admin},
	{"POST /api/v1/repos/{name}/protections", "POST", "/api/v1/repos/lib/protections", `{"branch":"main","noForcePush":true}`, "PutBranchProtection", "repository/lib", admin},

	{"POST /api/v1/tokens", "POST", "/api/v1/tokens", `{"name":"made","policy":"viewer"}`, "CreateToken", "token/made", admin},
	{"GET /api/v1/tokens", "GET", "/api/v1/tokens", "", "ListTokens", "*", look},
	{"DELETE /api/v1/tokens/{name}", "DELETE", "/api/v1/tokens/nobody", "", "RevokeToken", "token/nobody", admin},
	{"POST /api/v1/tokens/{name}/rotate", "POST", "/api/v1/tokens/nobody/rotate", "", "RotateToken", "token/nobody", admin},
	{"GET /api/v1/policies", "GET", "/api/v1/policies", "", "ListPolicies", "*", look},
	{"GET /api/v1/policies/{name}", "GET", "/api/v1/policies/viewer", "", "GetPolicy", "policy/viewer", look},
	{"PUT /api/v1/policies/{name}", "PUT", "/api/v1/policies/deploy?filename=deploy.yml", "Statement:\n  - {Effect: Allow, Action: 'sluice:GetSecretValue', Resource: secret/a}\n", "PutPolicy", "policy/deploy", admin},
	{"DELETE /api/v1/policies/{name}", "DELETE", "/api/v1/policies/gone", "", "DeletePolicy", "policy/gone", admin},
	{"GET /api/v1/repos/{name}/mirrors", "GET", "/api/v1/repos/app/mirrors", "", "ListRepositoryMirrors", "repository/app", look},
	{"PUT /api/v1/repos/{name}/mirrors/{mirror}", "PUT", "/api/v1/repos/app/mirrors/backup", `{"url":"https://example.com/x.git","direction":"push"}`, "PutRepositoryMirror", "repository/app", admin},
	{"DELETE /api/v1/repos/{name}/mirrors/{mirror}", "DELETE", "/api/v1/repos/app/mirrors/gone", "", "DeleteRepositoryMirror", "repository/app", admin},
	{"GET /api/v1/repos/{name}/pulls", "GET", "/api/v1/repos/app/pulls", "", "ListPullRequests", "repository/app", look},
	{"POST /api/v1/repos/{name}/pulls", "POST", "/api/v1/repos/app/pulls", `{"title":"t","sourceReference":"f","destinationReference":"main"}`, "CreatePullRequest", "repository/app", run},
	{"GET /api/v1/repos/{name}/pulls/{id}", "GET", "/api/v1/repos/app/pulls/1", "", "GetPullRequest", "repository/app", look},
	{"GET /api/v1/repos/{name}/pulls/{id}/diff", "GET", "/api/v1/repos/app/pulls/1/diff", "", "GetDifferences", "repository/app", look},
	{"PUT /api/v1/repos/{name}/pulls/{id}/title", "PUT", "/api/v1/repos/app/pulls/1/title", `{"title":"x"}`, "UpdatePullRequestTitle", "repository/app", run},
	{"PUT /api/v1/repos/{name}/pulls/{id}/description", "PUT", "/api/v1/repos/app/pulls/1/description", `{"description":"x"}`, "UpdatePullRequestDescription", "repository/app", run},
	{"POST /api/v1/repos/{name}/pulls/{id}/close", "POST", "/api/v1/repos/app/pulls/1/close", "", "UpdatePullRequestStatus", "repository/app", run},
	{"POST /api/v1/repos/{name}/pulls/{id}/comments", "POST", "/api/v1/repos/app/pulls/1/comments", `{"content":"x"}`, "PostCommentForPullRequest", "repository/app", approve},
	{"PUT /api/v1/repos/{name}/pulls/{id}/approval", "PUT", "/api/v1/repos/app/pulls/1/approval", `{"approvalState":"APPROVE"}`, "UpdatePullRequestApprovalState", "repository/app", approve},
	{"PUT /api/v1/repos/{name}/pulls/{id}/override", "PUT", "/api/v1/repos/app/pulls/1/override", `{"overrideStatus":"OVERRIDE"}`, "OverridePullRequestApprovalRules", "repository/app", admin},
	{"POST /api/v1/repos/{name}/pulls/{id}/approval-rules", "POST", "/api/v1/repos/app/pulls/1/approval-rules", `{"approvalRuleName":"r","approvalRuleContent":"{}"}`, "CreatePullRequestApprovalRule", "repository/app", admin},
	{"POST /api/v1/repos/{name}/pulls/{id}/merge/fast-forward", "POST", "/api/v1/repos/app/pulls/1/merge/fast-forward", "", "MergePullRequestByFastForward", "repository/app", run},
	{"POST /api/v1/repos/{name}/pulls/{id}/merge/squash", "POST", "/api/v1/repos/app/pulls/1/merge/squash", "", "MergePullRequestBySquash", "repository/app", run},
	{"POST /api/v1/repos/{name}/pulls/{id}/merge/three-way", "POST", "/api/v1/repos/app/pulls/1/merge/three-way", "", "MergePullRequestByThreeWay", "repository/app", run},
	{"GET /api/v1/approval-rule-templates", "GET", "/api/v1/approval-rule-templates", "", "ListApprovalRuleTemplates", "*", look},
	{"GET /api/v1/approval-rule-templates/{template}", "GET", "/api/v1/approval-rule-templates/two", "", "GetApprovalRuleTemplate", "approvalruletemplate/two", look},
	{"PUT /api/v1/approval-rule-templates/{template}", "PUT", "/api/v1/approval-rule-templates/two", `{"approvalRuleTemplateContent":"{}"}`, "CreateApprovalRuleTemplate", "approvalruletemplate/two", admin},
	{"DELETE /api/v1/approval-rule-templates/{template}", "DELETE", "/api/v1/approval-rule-templates/gone", "", "DeleteApprovalRuleTemplate", "approvalruletemplate/gone", admin},
	{"PUT /api/v1/repos/{name}/approval-rule-templates/{template}", "PUT", "/api/v1/repos/app/approval-rule-templates/two", "", "AssociateApprovalRuleTemplateWithRepository", "repository/app", admin},
	{"DELETE /api/v1/repos/{name}/approval-rule-templates/{template}", "DELETE", "/api/v1/repos/app/approval-rule-templates/two", "", "DisassociateApprovalRuleTemplateFromRepository", "repository/app", admin},
	{"GET /api/v1/ssh-keys", "GET", "/api/v1/ssh-keys", "", "ListSSHPublicKeys", "*", look},
	{"POST /api/v1/ssh-keys", "POST", "/api/v1/ssh-keys", `{"name":"laptop","principal":"nobody","publicKey":"x"}`, "UploadSSHPublicKey", "sshkey/laptop", admin},
	{"DELETE /api/v1/ssh-keys/{name}", "DELETE", "/api/v1/ssh-keys/gone", "", "DeleteSSHPublicKey", "sshkey/gone", admin},
}

// TestPermissionMatrix makes every operation with every ready-made policy
// over real HTTP: a refusal is 403 naming the token, its policy, the action
// and the resource; an allowed call reaches its handler (whatever the
// handler then answers, it is not 401 or 403).
func TestPermissionMatrix(t *testing.T) {
	p := newPermServer(t)
	covered := map[string]bool{}
	for _, op := range operations {
		covered[op.pattern] = true
	}
	for _, r := range p.api.Routes() {
		if r.Action != "" && !covered[r.Pattern] {
			t.Errorf("route %s (sluice:%s) is missing from the permission matrix", r.Pattern, r.Action)
		}
	}
	// The admin goes last: its calls change things (delete, revoke) the
	// others' must not depend on.
	for _, policy := range []string{"viewer", "approver", "operator", "worker", "agent", "admin"} {
		for _, op := range operations {
			allowed := strings.IndexByte(op.allowed, initials[policy]) >= 0
			status, body := p.do(t, op.method, op.path, op.body, p.tokens[policy], false)
			if !allowed {
				want := "token " + policy + " (policy " + policy + ") is not allowed sluice:" + op.action + " on " + op.resource
				// Operations naming their resource in the body refuse a
				// caller allowed the action on nothing of the type before
				// reading it, naming the type.
				typ, _, _ := strings.Cut(op.resource, "/")
				early := "token " + policy + " (policy " + policy + ") is not allowed sluice:" + op.action + " on any " + typ + "/* (refused before reading the request body)"
				if status != http.StatusForbidden || !strings.Contains(body, want) && !strings.Contains(body, early) {
					t.Errorf("%s: %s %s = %d %s, want 403 with %q", policy, op.method, op.path, status, body, want)
				}
				continue
			}
			if status == http.StatusForbidden || status == http.StatusUnauthorized {
				t.Errorf("%s: %s %s = %d %s, want it allowed", policy, op.method, op.path, status, body)
			}
		}
	}
}

// TestGitPermissions: fetch is sluice:GitPull and push sluice:GitPush on
// repository/NAME, asked of the same policies.
func TestGitPermissions(t *testing.T) {
	p := newPermServer(t)
	for _, tc := range []struct {
		service, action, allowed string
	}{
		{"git-upload-pack", "GitPull", "AOPVW"},
		{"git-receive-pack", "GitPush", "AO"},
	} {
		for policy, initial := range initials {
			status, body := p.do(t, "GET", "/git/app.git/info/refs?service="+tc.service, "", p.tokens[policy], true)
			if strings.IndexByte(tc.allowed, initial) < 0 {
				want := "token " + policy + " (policy " + policy + ") is not allowed sluice:" + tc.action + " on repository/app"
				if status != http.StatusForbidden || !strings.Contains(body, want) {
					t.Errorf("%s %s: %d %s, want 403 with %q", policy, tc.action, status, body, want)
				}
				continue
			}
			if status != http.StatusNotFound { // allowed, and there is no such repository
				t.Errorf("%s %s: %d %s, want 404", policy, tc.action, status, body)
			}
		}
	}
	if status, _ := p.do(t, "GET", "/git/app.git/info/refs?service=git-upload-pack", "", "sluice_wrong", true); status != http.StatusUnauthorized {
		t.Errorf("git with a wrong token: %d", status)
	}
}

// TestPolicyDocuments: a token made with a policy document of its own, in
// YAML, is held to it: wildcards in actions and resources, and a deny that
// wins over an allow.
func TestPolicyDocuments(t *testing.T) {
	p := newPermServer(t)
	ctx := context.Background()
	admin := client.New(p.url, p.tokens["admin"])
	doc := `Statement:
  - Sid: Look
    Effect: Allow
    Action: ["sluice:Get*", "sluice:List*"]
    Resource: "*"
  - Sid: DeployApps
    Effect: Allow
    Action: [sluice:StartPipelineExecution, sluice:StopPipelineExecution]
    Resource: pipeline/app-*
  - Sid: NeverProd
    Effect: Deny
    Action: sluice:*
    Resource: pipeline/app-prod
`
	made, err := admin.CreateTokenWith(ctx, wire.CreateTokenRequest{Name: "deployer", Policy: "policies/deployer.yml", PolicyDocument: doc})
	if err != nil {
		t.Fatal(err)
	}
	if made.Policy != "deployer.yml" {
		t.Errorf("policy name %q", made.Policy)
	}
	for _, tc := range []struct {
		method, path, body string
		want               int
		msg                string
	}{
		{"GET", "/api/v1/pipelines", "", 200, ""},
		{"POST", "/api/v1/pipelines/app-web/executions", "", 404, "pipeline app-web"},
		{"POST", "/api/v1/pipelines/other/executions", "", 403, "token deployer (policy deployer.yml) is not allowed sluice:StartPipelineExecution on pipeline/other"},
		{"POST", "/api/v1/pipelines/app-prod/executions", "", 403, `is not allowed sluice:StartPipelineExecution on pipeline/app-prod: explicitly denied by statement "NeverProd"`},
		{"GET", "/api/v1/pipelines/app-prod", "", 403, `explicitly denied by statement "NeverProd"`},
		{"DELETE", "/api/v1/pipelines/app-web", "", 403, "sluice:DeletePipeline on pipeline/app-web"},
	} {
		status, body := p.do(t, tc.method, tc.path, tc.body, made.Token, false)
		if status != tc.want || !strings.Contains(body, tc.msg) {
			t.Errorf("%s %s = %d %s, want %d with %q", tc.method, tc.path, status, body, tc.want, tc.msg)
		}
	}
	// The listing shows the policy's name and document, never the secret.
	tokens, err := admin.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, tk := range tokens {
		if tk.Name == "deployer" {
			found = true
			var pol iam.Policy
			if err := json.Unmarshal(tk.PolicyDocument, &pol); err != nil || len(pol.Statement) != 3 || tk.Policy != "deployer.yml" || tk.Expires != nil {
				t.Errorf("listed %+v (%v)", tk, err)
			}
		}
	}
	if !found {
		t.Error("deployer not listed")
	}
	// A document with mistakes is refused, naming file, line and field.
	_, err = admin.CreateTokenWith(ctx, wire.CreateTokenRequest{Name: "bad", Policy: "bad.yml",
		PolicyDocument: "Statement:\n  - Effect: Allow\n    Action: sluice:GetPipline\n    Resource: pipelines/app\n"})
	for _, want := range []string{`bad.yml:3: Statement[0].Action: "sluice:GetPipline" is not a sluice action (did you mean "sluice:GetPipeline"?)`,
		`bad.yml:4: Statement[0].Resource: "pipelines/app" is not a resource`} {
		if !client.IsCode(err, "Invalid") || !strings.Contains(err.Error(), want) {
			t.Errorf("bad document: %v, want %q", err, want)
		}
	}
	if _, err := admin.CreateToken(ctx, "x", "root"); !client.IsCode(err, "Invalid") || !strings.Contains(err.Error(), "admin, operator, approver, viewer, worker") {
		t.Errorf("unknown ready-made policy: %v", err)
	}
	// A stored document that no longer reads (an action since renamed)
	// allows nothing, and says why.
	stale := store.Token{Name: "stale", Hash: auth.HashToken("stale-secret"), Policy: "old.yml",
		PolicyDocument: `{"Statement":[{"Effect":"Allow","Action":["sluice:GetEverything"],"Resource":["*"]}]}`}
	if err := p.store.PutToken(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if status, body := p.do(t, "GET", "/api/v1/pipelines", "", "stale-secret", false); status != http.StatusForbidden ||
		!strings.Contains(body, "token stale (policy old.yml): its policy document no longer reads") {
		t.Errorf("stale document: %d %s", status, body)
	}
}

func TestTokenExpiry(t *testing.T) {
	p := newPermServer(t)
	ctx := context.Background()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := p.store.PutToken(ctx, store.Token{Name: "old", Hash: auth.HashToken("old-secret"), Policy: "viewer", Expires: at}); err != nil {
		t.Fatal(err)
	}
	status, body := p.do(t, "GET", "/api/v1/pipelines", "", "old-secret", false)
	if status != http.StatusUnauthorized || !strings.Contains(body, "token old expired at 2025-01-02T03:04:05Z") {
		t.Errorf("expired token: %d %s", status, body)
	}
	if status, _ := p.do(t, "GET", "/git/app.git/info/refs?service=git-upload-pack", "", "old-secret", true); status != http.StatusUnauthorized {
		t.Errorf("expired token on git: %d", status)
	}
	// One made to expire works until then, and says when.
	made, err := client.New(p.url, p.tokens["admin"]).CreateTokenWith(ctx, wire.CreateTokenRequest{Name: "short", Policy: "viewer", ExpiresInSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	if made.Expires == nil || made.Expires.Sub(time.Now()) < 59*time.Minute || made.Expires.Sub(time.Now()) > time.Hour {
		t.Errorf("expires %v", made.Expires)
	}
	if status, body := p.do(t, "GET", "/api/v1/pipelines", "", made.Token, false); status != 200 {
		t.Errorf("a token before its expiry: %d %s", status, body)
	}
}

// TestJobTokens: a function's job token answers for its own job and
// nothing else, through a generated policy.
func TestJobTokens(t *testing.T) {
	p := newPermServer(t)
	token := p.svc.JobToken("j1")
	for _, tc := range []struct {
		method, path, body string
		denied             string
	}{
		{"POST", "/api/v1/jobs/j1/success", `{}`, ""},
		{"POST", "/api/v1/jobs/j1/failure", `{"message":"no"}`, ""},
		{"GET", "/api/v1/jobs/j1/inputs/src", "", ""},
		{"PUT", "/api/v1/jobs/j1/outputs/out", "zip", ""},
		{"POST", "/api/v1/jobs/j2/success", `{}`, "token job/j1 (policy job:j1) is not allowed sluice:PutJobSuccessResult on job/j2"},
		{"POST", "/api/v1/jobs/j1/result", `{"workerId":"w","succeeded":true}`, "sluice:PutJobResult on job/j1"},
		{"POST", "/api/v1/jobs/claim", `{"workerId":"w","providers":["Noop"]}`, "sluice:PollForJobs on any region/*"},
		{"GET", "/api/v1/pipelines", "", "sluice:ListPipelines on *"},
	} {
		status, body := p.do(t, tc.method, tc.path, tc.body, token, false)
		switch {
		case tc.denied != "" && (status != http.StatusForbidden || !strings.Contains(body, tc.denied)):
			t.Errorf("%s %s = %d %s, want 403 with %q", tc.method, tc.path, status, body, tc.denied)
		case tc.denied == "" && (status == http.StatusForbidden || status == http.StatusUnauthorized):
			t.Errorf("%s %s = %d %s, want it allowed", tc.method, tc.path, status, body)
		}
	}
	if status, body := p.do(t, "GET", "/api/v1/pipelines", "", "sjt_j1.forged", false); status != http.StatusUnauthorized {
		t.Errorf("forged job token: %d %s", status, body)
	}
}

// TestPermissionBeforeBody: an operation that names its resource in its body
// refuses a caller who may do it to nothing of the type before reading the
// body — an oversized or hostile one included — and bounds the body of one
// who may (413, naming the limit).
func TestPermissionBeforeBody(t *testing.T) {
	p := newPermServer(t)
	huge := "name: r\neventPattern: {source: [" + strings.Repeat(`"x",`, 1<<20) + `"x"]}` + "\n"
	status, body := p.do(t, "POST", "/api/v1/rules?filename=r.yml", huge, p.tokens["viewer"], false)
	if status != http.StatusForbidden || !strings.Contains(body, "sluice:PutRule on any rule/*") {
		t.Errorf("viewer: %d %s, want 403 before the body is read", status, body)
	}
	status, body = p.do(t, "POST", "/api/v1/rules?filename=r.yml", huge, p.tokens["admin"], false)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than") {
		t.Errorf("admin: %d %s, want 413 naming the limit", status, body)
	}
	// A JSON request beyond its limit: 403 for whoever may not, 413 for
	// whoever may.
	bigJSON := `{"reason":"` + strings.Repeat("x", 2<<20) + `"}`
	if status, body := p.do(t, "POST", "/api/v1/pipelines/app/transitions/S/disable", bigJSON, p.tokens["viewer"], false); status != http.StatusForbidden {
		t.Errorf("viewer's big JSON: %d %s, want 403", status, body)
	}
	if status, body := p.do(t, "POST", "/api/v1/pipelines/app/transitions/S/disable", bigJSON, p.tokens["admin"], false); status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 1048576 bytes") {
		t.Errorf("admin's big JSON: %d %s, want 413", status, body)
	}
	// A path naming . or .. is no name.
	for _, path := range []string{"/api/v1/tokens/%2e%2e", "/api/v1/tokens/%2e", "/api/v1/secrets/ci/%2e%2e"} {
		status, body = p.do(t, "DELETE", path, "", p.tokens["admin"], false)
		if status != http.StatusBadRequest || !strings.Contains(body, "is not a name") {
			t.Errorf("DELETE %s: %d %s, want 400", path, status, body)
		}
	}
}

// TestRuleSecretNeedsRead: a rule whose webhook target signs with a sluice
// secret may be applied only by a caller allowed to read that secret, since
// its author chooses where the signed bodies go.
func TestRuleSecretNeedsRead(t *testing.T) {
	p := newPermServer(t)
	doc := `{"Statement":[{"Effect":"Allow","Action":"sluice:PutRule","Resource":"rule/*"}]}`
	if err := p.store.PutToken(context.Background(), store.Token{Name: "rules", Hash: auth.HashToken("rules-secret"), Policy: "rules.json", PolicyDocument: doc, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := p.svc.PutSecret(context.Background(), "prod-key", []byte("v4lue-of-prod-key")); err != nil {
		t.Fatal(err)
	}
	signed := "name: hook\neventPattern: {source: [sluice]}\ntargets:\n  - webhook: {url: 'http://127.0.0.1:1/x', secret: prod-key}\n"
	status, body := p.do(t, "POST", "/api/v1/rules?filename=hook.yml", signed, "rules-secret", false)
	if status != http.StatusForbidden || !strings.Contains(body, "rule hook signs with secret prod-key") ||
		!strings.Contains(body, "not allowed sluice:GetSecretValue on secret/prod-key") {
		t.Errorf("rule signing with a secret it may not read: %d %s", status, body)
	}
	unsigned := strings.Replace(signed, ", secret: prod-key", "", 1)
	if status, body := p.do(t, "POST", "/api/v1/rules?filename=hook.yml", unsigned, "rules-secret", false); status != http.StatusOK {
		t.Errorf("an unsigned rule: %d %s", status, body)
	}
	if status, body := p.do(t, "POST", "/api/v1/rules?filename=hook.yml", signed, p.tokens["admin"], false); status != http.StatusOK {
		t.Errorf("admin's signed rule: %d %s", status, body)
	}
}

// TestRuleFunctionRoleNeedsHolding: a function with a role runs with it, so
// a rule targeting it (or applying it) hands the role on: only a caller
// holding all of the role may.
func TestRuleFunctionRoleNeedsHolding(t *testing.T) {
	p := newPermServer(t)
	doc := `{"Statement":[{"Effect":"Allow","Action":["sluice:PutRule","sluice:PutFunction"],"Resource":["rule/*","function/*"]}]}`
	if err := p.store.PutToken(context.Background(), store.Token{Name: "rules", Hash: auth.HashToken("rules-secret"), Policy: "rules.json", PolicyDocument: doc, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	fn := "name: privileged\ncommand: [\"true\"]\nrole: operator\n"
	if status, body := p.do(t, "POST", "/api/v1/functions?filename=fn.yml", fn, "rules-secret", false); status != http.StatusForbidden || !strings.Contains(body, "role operator") {
		t.Errorf("a function with a role its author does not hold: %d %s", status, body)
	}
	if status, body := p.do(t, "POST", "/api/v1/functions?filename=fn.yml", fn, p.tokens["admin"], false); status != http.StatusOK {
		t.Fatalf("admin's function: %d %s", status, body)
	}
	rule := "name: run\neventPattern: {source: [my.app]}\ntargets:\n  - function: {name: privileged}\n"
	if status, body := p.do(t, "POST", "/api/v1/rules?filename=run.yml", rule, "rules-secret", false); status != http.StatusForbidden || !strings.Contains(body, "rule run invokes function privileged") {
		t.Errorf("a rule invoking a function whose role its author does not hold: %d %s", status, body)
	}
	if status, body := p.do(t, "POST", "/api/v1/rules?filename=run.yml", rule, p.tokens["admin"], false); status != http.StatusOK {
		t.Errorf("admin's rule: %d %s", status, body)
	}
}
