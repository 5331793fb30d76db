// Package api serves sluice's HTTP JSON API. Handlers decode requests, call
// the service and encode answers; they hold no rules of their own. Who may do
// what is checked in one place, handle (permissions.go), from the route
// table below: every operation has an action name and a resource. The wire
// types live in package wire.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sluice-ci/sluice/internal/access"

	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/trigger"
	"github.com/sluice-ci/sluice/internal/wire"
)

// TokenStore finds the principal behind a token.
type TokenStore interface {
	Token(ctx context.Context, hash string) (service.Token, error)
}

// Server is the API's HTTP handler.
type Server struct {
	svc   *service.Service
	hooks *trigger.Webhooks
	// hostHooks are git host connections' webhooks.
	hostHooks *trigger.ConnectionWebhooks
	rules     *event.Rules
	repos     *gitserver.Server
	guard     *access.Guard
	log       *slog.Logger
	mux       *http.ServeMux
	table     []Route
	ssh       *wire.SSHHost // nil: SSH is not served
	mirrors   Mirrors       // nil: no mirror runner
	ops       Operations    // /metrics and /readyz (operations.go)
}

// New returns the API handler; repos may be nil when the server hosts no
// repositories.
func New(svc *service.Service, tokens TokenStore, repos *gitserver.Server, log *slog.Logger) *Server {
	s := &Server{svc: svc, hooks: trigger.NewWebhooks(svc), hostHooks: trigger.NewConnectionWebhooks(svc, trigger.HostFiles{Secrets: svc}), rules: event.NewRules(svc), repos: repos, log: log, mux: http.NewServeMux(),
		guard: &access.Guard{Tokens: tokens, JobOf: svc.JobOfToken}}
	s.routes()
	return s
}

// HashToken is how tokens are stored: only their SHA-256 is kept.
func HashToken(token string) string { return auth.HashToken(token) }

// routes is the route table: every operation with its action name (see
// iam.Actions) and the resource it acts on.
func (s *Server) routes() {
	s.exempt("GET /healthz", "liveness probe: says nothing, needs no token",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) }))
	s.operationsRoutes()

	s.handle("GET /api/v1/pipelines", "ListPipelines", resAll, s.listPipelines)
	s.handle("POST /api/v1/pipelines", "PutPipeline", resDeclaredPipeline, s.applyPipeline)
	s.handle("GET /api/v1/pipelines/{name}", "GetPipeline", resPipeline, s.getPipeline)
	s.handle("DELETE /api/v1/pipelines/{name}", "DeletePipeline", resPipeline, s.deletePipeline)
	s.handle("GET /api/v1/pipelines/{name}/state", "GetPipelineState", resPipeline, s.pipelineState)
	s.handle("POST /api/v1/pipelines/{name}/transitions/{stage}/enable", "EnableStageTransition", resPipeline, s.setTransition(true))
	s.handle("POST /api/v1/pipelines/{name}/transitions/{stage}/disable", "DisableStageTransition", resPipeline, s.setTransition(false))
	s.handle("POST /api/v1/pipelines/{name}/executions", "StartPipelineExecution", resPipeline, s.startExecution)
	s.handle("GET /api/v1/pipelines/{name}/executions", "ListPipelineExecutions", resPipeline, s.listExecutions)
	s.handle("GET /api/v1/pipelines/{name}/executions/{id}", "GetPipelineExecution", resPipeline, s.getExecution)
	s.handle("POST /api/v1/pipelines/{name}/executions/{id}/stop", "StopPipelineExecution", resPipeline, s.stopExecution)
	s.handle("POST /api/v1/pipelines/{name}/executions/{id}/retry", "RetryStageExecution", resPipeline, s.retryStage)
	s.handle("POST /api/v1/pipelines/{name}/executions/{id}/override-condition", "OverrideStageCondition", resPipeline, s.overrideCondition)
	s.handle("POST /api/v1/pipelines/{name}/rollback", "RollbackStage", resPipeline, s.rollbackStage)
	s.handle("GET /api/v1/pipelines/{name}/rule-executions", "ListRuleExecutions", resPipeline, s.listRuleExecutions)
	s.handle("GET /api/v1/pipelines/{name}/executions/{id}/logs/{action...}", "GetActionLog", resPipeline, s.actionLog)
	s.handle("GET /api/v1/pipelines/{name}/executions/{id}/artifacts/{artifact}", "GetArtifact", resPipeline, s.downloadArtifact)
	s.handle("GET /api/v1/events", "ListEvents", resEvents, s.listEvents)
	s.handle("GET /api/v1/events/stream", "GetEventStream", resEvents, s.streamEvents)
	s.handle("GET /api/v1/graph", "GetPipelineGraph", resAll, s.pipelineGraph)

	// The job protocol (docs/ARCHITECTURE.md).
	s.handle("POST /api/v1/jobs/claim", "PollForJobs", s.resClaimRegion(), s.claimJob)
	s.handle("POST /api/v1/jobs/{id}/heartbeat", "AcknowledgeJob", resJob, s.heartbeat)
	s.handle("POST /api/v1/jobs/{id}/result", "PutJobResult", resJob, s.jobResult)
	s.handle("POST /api/v1/jobs/{id}/log", "PutJobLog", resJob, s.appendLog)
	s.handle("GET /api/v1/jobs/{id}/inputs/{artifact}", "GetJobInput", resJob, s.jobInput)
	s.handle("PUT /api/v1/jobs/{id}/outputs/{artifact}", "PutJobOutput", resJob, s.jobOutput)
	s.handle("POST /api/v1/jobs/{id}/success", "PutJobSuccessResult", resJob, s.jobSuccess)
	s.handle("POST /api/v1/jobs/{id}/failure", "PutJobFailureResult", resJob, s.jobFailure)
	s.handle("POST /api/v1/jobs/{id}/aws-credentials", "CreateJobCredentials", resJob, s.jobCredentials)
	s.gateRoutes()
	s.secretRoutes()
	s.webhookRoutes()
	s.commitStatusRoutes()
	s.projectRoutes()
	s.functionRoutes()
	s.deployGroupRoutes()
	s.deploymentRoutes()
	s.ruleRoutes()
	s.reportRoutes()
	s.tokenRoutes()
	s.policyRoutes()
	s.connectionRoutes()
	s.sshKeyRoutes()
	if s.repos != nil {
		s.repoRoutes(s.repos)
		s.mirrorRoutes(s.repos)
		s.pullRoutes(s.repos)
		s.exempt("/git/", "hosted repositories: GitAuthorizer asks the token's policy for sluice:GitPull or sluice:GitPush on repository/NAME",
			s.repos)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

type principalKey struct{}

// Principal returns the name of the token a request was made with.
func Principal(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}

// writeError answers with err, and notes it in the request's callInfo.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := service.ErrorCode(err)
	callInfoFrom(r.Context()).Err = service.ErrorMessage(err)
	if code == service.CodeInternal {
		if r.Context().Err() != nil {
			return // the client went away
		}
		s.log.Error("request failed", "request-id", callInfoFrom(r.Context()).RequestID, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, errcode.HTTPStatus(code), wire.ErrorBody{Code: code, Message: service.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// Compact, as AWS's APIs answer: indenting took more than half of the
	// encoding of a page of 100 pipelines, and the CLI prints its own.
	return json.NewEncoder(w).Encode(v)
}

// decode reads a JSON request body into v, naming the field at fault on error.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return service.Errorf(service.CodeTooLarge, "request body: larger than %d bytes, the limit of this operation", tooLarge.Limit)
		}
		if errors.As(err, &te) {
			return service.Errorf(service.CodeInvalid, "request body: field %s: expected %s", te.Field, te.Type)
		}
		return service.Errorf(service.CodeInvalid, "request body: %v", err)
	}
	return nil
}

// waitParam reads a long-poll duration, capped so a proxy never cuts it.
func waitParam(r *http.Request) (time.Duration, error) {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, service.Errorf(service.CodeInvalid, "wait: %q is not a duration such as 20s", v)
	}
	return min(d, 60*time.Second), nil
}
