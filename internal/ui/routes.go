package ui

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// route is one page, fragment source or change of the console.
type route struct {
	pattern string // a net/http pattern: "GET /ui/pipelines/{name}"
	// action is the one permission the route needs, named as the API names
	// it; public routes (sign-in, static files) need none.
	action string
	public bool
	// live pages follow the event stream; the router notes the newest event
	// before they are read.
	live bool
	// resource names what the action is on (pipeline/NAME); "*" when nil.
	resource func(r *http.Request) string
	handler  func(w http.ResponseWriter, r *http.Request, c *call) error
	params   []string // the pattern's wildcards, filled in by routeTable
}

// Action names, as the API and IAM policies spell them.
const (
	actListPipelines          = "ListPipelines"
	actGetPipelineState       = "GetPipelineState"
	actListPipelineExecutions = "ListPipelineExecutions"
	actGetPipelineExecution   = "GetPipelineExecution"
	actGetActionLog           = "GetActionLog"
	actListReports            = "ListReports"
	actGetArtifact            = "GetArtifact"
	actStartExecution         = "StartPipelineExecution"
	actStopExecution          = "StopPipelineExecution"
	actRetryStage             = "RetryStageExecution"
	actOverrideCondition      = "OverrideStageCondition"
	actEnableTransition       = "EnableStageTransition"
	actDisableTransition      = "DisableStageTransition"
	actPutApprovalResult      = "PutApprovalResult"
	actGetPipelineGraph       = "GetPipelineGraph"
	actListLocks              = "ListLocks"
	actListRepositories       = "ListRepositories"
	actListProjects           = "ListProjects"
	actListFunctions          = "ListFunctions"
	actListDeployments        = "ListDeployments"
	actListRules              = "ListRules"
	actListRuleFailures       = "ListRuleFailures"
	actListEvents             = "ListEvents"
	actGetEventStream         = "GetEventStream"
	actListAuditRecords       = "ListAuditRecords"
)

func pipelineResource(r *http.Request) string { return "pipeline/" + r.PathValue("name") }

// liveResource is the pipeline a live stream follows, or every pipeline.
func liveResource(r *http.Request) string {
	if p := r.URL.Query().Get("pipeline"); p != "" {
		return "pipeline/" + p
	}
	return "*"
}

// routeTable is every route of the console. A test walks it and fails on a
// route without an action that is not one of the public ones.
func (s *Server) routeTable() []route {
	pl := pipelineResource
	rs := []route{
		{pattern: "GET /ui/static/{file}", public: true, handler: s.static},
		{pattern: "GET /ui/signin", public: true, handler: s.signinForm},
		{pattern: "POST /ui/signin", public: true, handler: s.signin},
		{pattern: "POST /ui/signout", public: true, handler: s.signout},

		{pattern: "GET /ui/{$}", action: actListPipelines, handler: s.home},
		{pattern: "GET /ui/pipelines", live: true, action: actListPipelines, handler: s.pipelinesPage},
		{pattern: "GET /ui/pipelines/{name}", live: true, action: actGetPipelineState, resource: pl, handler: s.pipelinePage},
		{pattern: "GET /ui/pipelines/{name}/executions", live: true, action: actListPipelineExecutions, resource: pl, handler: s.historyPage},
		{pattern: "GET /ui/pipelines/{name}/executions/{id}", live: true, action: actGetPipelineExecution, resource: pl, handler: s.executionPage},
		{pattern: "GET /ui/pipelines/{name}/executions/{id}/logs/{stage}/{action}", action: actGetActionLog, resource: pl, handler: s.logPage},
		{pattern: "GET /ui/pipelines/{name}/executions/{id}/artifacts/{artifact}", action: actGetArtifact, resource: pl, handler: s.artifact},
		{pattern: "POST /ui/pipelines/{name}/start", action: actStartExecution, resource: pl, handler: s.start},
		{pattern: "POST /ui/pipelines/{name}/executions/{id}/stop", action: actStopExecution, resource: pl, handler: s.stop},
		{pattern: "POST /ui/pipelines/{name}/executions/{id}/retry", action: actRetryStage, resource: pl, handler: s.retry},
		{pattern: "POST /ui/pipelines/{name}/executions/{id}/override-condition", action: actOverrideCondition, resource: pl, handler: s.overrideCondition},
		{pattern: "POST /ui/pipelines/{name}/transitions/{stage}/enable", action: actEnableTransition, resource: pl, handler: s.enableTransition},
		{pattern: "POST /ui/pipelines/{name}/transitions/{stage}/disable", action: actDisableTransition, resource: pl, handler: s.disableTransition},
		{pattern: "POST /ui/pipelines/{name}/approvals", action: actPutApprovalResult, resource: pl, handler: s.approve},

		{pattern: "GET /ui/graph", live: true, action: actGetPipelineGraph, handler: s.graphPage},
		{pattern: "GET /ui/repos", action: actListRepositories, handler: s.reposPage},
		{pattern: "GET /ui/projects", action: actListProjects, handler: s.projectsPage},
		{pattern: "GET /ui/functions", action: actListFunctions, handler: s.functionsPage},
		{pattern: "GET /ui/deployments", action: actListDeployments, handler: s.deploymentsPage},
		{pattern: "GET /ui/connections", action: actListConnections, handler: s.connectionsPage},
		{pattern: "GET /ui/ssh-keys", action: actListSSHKeys, handler: s.sshKeysPage},
		{pattern: "POST /ui/ssh-keys", action: actAddSSHKey, resource: sshKeyFormResource, handler: s.addSSHKey},
		{pattern: "POST /ui/ssh-keys/{name}/delete", action: actDeleteSSHKey, resource: sshKeyResource, handler: s.deleteSSHKey},
		{pattern: "GET /ui/rules", action: actListRules, handler: s.rulesPage},
		{pattern: "GET /ui/events", live: true, action: actListEvents, handler: s.eventsPage},
		{pattern: "GET /ui/audit", action: actListAuditRecords, handler: s.auditPage},
		{pattern: "GET /ui/live", action: actGetEventStream, resource: liveResource, handler: s.live},
	}
	rs = append(rs, s.pullRoutes()...)
	for i := range rs {
		for _, m := range wildcard.FindAllStringSubmatch(rs[i].pattern, -1) {
			rs[i].params = append(rs[i].params, m[1])
		}
	}
	return rs
}

var wildcard = lazyregexp.New(`\{([A-Za-z]+)(?:\.\.\.)?\}`)

// home sends the console's root to the pipelines.
func (s *Server) home(w http.ResponseWriter, r *http.Request, c *call) error {
	http.Redirect(w, r, Prefix+"pipelines", http.StatusSeeOther)
	return nil
}
