// Package api serves sluice's HTTP JSON API. Handlers decode requests, check the
// caller's token, call the service and encode answers; they hold no rules of
// their own. The wire types live in api/client.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// TokenStore finds the principal behind a token.
type TokenStore interface {
	Token(ctx context.Context, hash string) (store.Token, error)
}

// Server is the API's HTTP handler.
type Server struct {
	svc    *service.Service
	repos  *gitserver.Server
	tokens TokenStore
	log    *slog.Logger
	mux    *http.ServeMux
}

// New returns the API handler.
// New returns the API handler; repos may be nil when the server hosts no
// repositories.
func New(svc *service.Service, tokens TokenStore, repos *gitserver.Server, log *slog.Logger) *Server {
	s := &Server{svc: svc, tokens: tokens, repos: repos, log: log, mux: http.NewServeMux()}
	s.routes()
	return s
}

// HashToken is how tokens are stored: only their SHA-256 is kept.
func HashToken(token string) string { return auth.HashToken(token) }

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })

	s.handle("GET /api/v1/pipelines", s.listPipelines)
	s.handle("POST /api/v1/pipelines", s.applyPipeline)
	s.handle("GET /api/v1/pipelines/{name}", s.getPipeline)
	s.handle("DELETE /api/v1/pipelines/{name}", s.deletePipeline)
	s.handle("GET /api/v1/pipelines/{name}/state", s.pipelineState)
	s.handle("POST /api/v1/pipelines/{name}/transitions/{stage}", s.setTransition)
	s.handle("POST /api/v1/pipelines/{name}/executions", s.startExecution)
	s.handle("GET /api/v1/pipelines/{name}/executions", s.listExecutions)
	s.handle("GET /api/v1/pipelines/{name}/executions/{id}", s.getExecution)
	s.handle("POST /api/v1/pipelines/{name}/executions/{id}/stop", s.stopExecution)
	s.handle("POST /api/v1/pipelines/{name}/executions/{id}/retry", s.retryStage)
	s.handle("GET /api/v1/pipelines/{name}/executions/{id}/logs/{action...}", s.actionLog)
	s.handle("GET /api/v1/pipelines/{name}/executions/{id}/artifacts/{artifact}", s.downloadArtifact)
	s.handle("GET /api/v1/events", s.listEvents)
	s.handle("GET /api/v1/events/stream", s.streamEvents)
	s.handle("GET /api/v1/graph", s.pipelineGraph)

	s.handle("POST /api/v1/jobs/claim", s.claimJob)
	s.handle("POST /api/v1/jobs/{id}/heartbeat", s.heartbeat)
	s.handle("POST /api/v1/jobs/{id}/result", s.jobResult)
	s.handle("POST /api/v1/jobs/{id}/log", s.appendLog)
	s.handle("GET /api/v1/jobs/{id}/inputs/{artifact}", s.jobInput)
	s.handle("PUT /api/v1/jobs/{id}/outputs/{artifact}", s.jobOutput)
	s.handle("POST /api/v1/jobs/{id}/success", s.jobSuccess)
	s.handle("POST /api/v1/jobs/{id}/failure", s.jobFailure)
	s.gateRoutes()
	s.secretRoutes()
	s.webhookRoutes()
	s.projectRoutes()
	s.functionRoutes()
	s.reportRoutes()
	s.tokenRoutes()
	if s.repos != nil {
		s.repoRoutes(s.repos)
		s.mux.Handle("/git/", s.repos)
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

// handle registers h behind token authentication; h returns an error to answer
// with, or nil once it has written its answer.
func (s *Server) handle(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		tok, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
			s.writeError(w, r, err)
			return
		}
		if !auth.AllowsRequest(tok.Policy, r.Method, r.URL.Path) {
			s.writeError(w, r, service.Errorf(service.CodeForbidden, "token %s (policy %s) may not %s %s", tok.Name, tok.Policy, r.Method, r.URL.Path))
			return
		}
		name := tok.Name
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, name))
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) authenticate(r *http.Request) (store.Token, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		if user, pass, basic := r.BasicAuth(); basic {
			_ = user // git clients send the token as the password of basic auth
			token = pass
		}
	}
	if token == "" {
		return store.Token{}, service.Errorf(service.CodeUnauthorized, "missing token: send it as 'Authorization: Bearer TOKEN' (the CLI reads --token or SLUICE_TOKEN)")
	}
	if service.IsJobToken(token) {
		jobID, ok := s.svc.JobOfToken(token)
		if !ok {
			return store.Token{}, service.Errorf(service.CodeUnauthorized, "invalid job token")
		}
		return store.Token{Name: jobPrincipalPrefix + jobID, Policy: auth.JobPolicy(jobID)}, nil
	}
	t, err := s.tokens.Token(r.Context(), HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, service.Errorf(service.CodeUnauthorized, "invalid token: no token of this server matches it")
	}
	return t, err
}

var statusOf = map[string]int{
	service.CodeInvalid:      http.StatusBadRequest,
	service.CodeNotFound:     http.StatusNotFound,
	service.CodeConflict:     http.StatusConflict,
	service.CodeUnauthorized: http.StatusUnauthorized,
	service.CodeForbidden:    http.StatusForbidden,
	service.CodeInternal:     http.StatusInternalServerError,
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := service.ErrorCode(err)
	if code == service.CodeInternal {
		if r.Context().Err() != nil {
			return // the client went away
		}
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, client.ErrorBody{Code: code, Message: service.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// decode reads a JSON request body into v, naming the field at fault on error.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
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
