package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// The permission check. Every API operation is registered with handle under
// one action name (sluice:ACTION in policies) and a function naming the
// resource it acts on; handle authenticates the caller, asks the caller's
// policy whether it allows that action on that resource, and only then runs
// the handler. Handlers check nothing of the kind themselves. The few routes
// that authenticate otherwise are registered with exempt, saying why.

// handlerFunc answers a request, or returns the error to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// resourceFunc names the resource a request acts on: TYPE/NAME, or "*" for
// an operation on no single resource (lists). An error is answered as it is,
// before the policy is asked: the request does not say what it acts on.
type resourceFunc func(r *http.Request) (string, error)

// Route is one entry of the API's route table.
type Route struct {
	Pattern string // as registered with http.ServeMux: "POST /api/v1/pipelines/{name}/executions"
	// Action is the operation's action name without its prefix
	// (StartPipelineExecution); "" for an exempt route.
	Action string
	// Exempt says why a route has no action: how it authenticates instead.
	Exempt string
}

// Routes returns the route table, in the order registered.
func (s *Server) Routes() []Route { return slices.Clone(s.table) }

// handle registers an API operation: pattern, its action name, the resource
// it acts on, and h, which runs only when the caller's policy allows action on
// that resource. h returns an error to answer with, or nil once it has written
// its answer. The request's callInfo learns the principal, the operation and
// the resource, and whether the check refused it, whatever the outcome.
func (s *Server) handle(pattern, action string, resource resourceFunc, h handlerFunc) {
	s.table = append(s.table, Route{Pattern: pattern, Action: action})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ci := callInfoFrom(r.Context())
		ci.Operation = action
		p, err := s.guard.Authenticate(r, &ci.Call)
		if err != nil {
			if access.Challenge(err) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
			}
			s.writeError(w, r, err)
			return
		}
		// The resource function may need to read the body (bodyResource);
		// it finds the caller here, to refuse before parsing anything.
		r = r.WithContext(context.WithValue(r.Context(), pendingKey{}, pending{p, action}))
		res, err := resource(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := ci.Check(p, action, res); err != nil {
			s.writeError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p.Name)
		r = r.WithContext(context.WithValue(ctx, callerKey{}, p))
		if err := h(w, r); err != nil {
			s.writeError(w, r, s.withPipelineHint(r, err))
		}
	})
}

// callerKey holds the principal a request was authorized for.
type callerKey struct{}

// withPipelineHint adds a did-you-mean to a pipeline's not-found error, for a
// caller allowed to list the pipelines: to others it would reveal names.
func (s *Server) withPipelineHint(r *http.Request, err error) error {
	var se *service.Error
	if !errors.As(err, &se) || se.MissingPipeline == "" || !mayAlso(r, "ListPipelines", "*") {
		return err
	}
	hint := s.svc.SuggestPipeline(r.Context(), se.MissingPipeline)
	if hint == "" {
		return err
	}
	return &service.Error{Code: se.Code, Msg: se.Msg + hint, MissingPipeline: se.MissingPipeline}
}

// mayAlso reports whether the request's caller may also do action on
// resource: for a list that adds what another operation would show (the
// pipeline list's latest executions), which only those allowed that see.
func mayAlso(r *http.Request, action, resource string) bool {
	p, ok := r.Context().Value(callerKey{}).(access.Principal)
	return ok && p.Authorize(action, resource) == nil
}

// exempt registers a route that takes no sluice token, or checks it itself:
// why says which, for the route table.
func (s *Server) exempt(pattern, why string, h http.Handler) {
	s.table = append(s.table, Route{Pattern: pattern, Exempt: why})
	s.mux.Handle(pattern, h)
}

// pending is the caller and action of a request whose resource is being
// named: bodyResource asks it whether the caller may act on any resource of
// the type before it reads the body.
type pending struct {
	p      access.Principal
	action string
}

type pendingKey struct{}

// caller returns the principal a request was authorized for (handle puts it
// in the request's context): what it holds bounds what it may hand on.
func caller(r *http.Request) access.Principal {
	p, _ := r.Context().Value(callerKey{}).(access.Principal)
	return p
}

// GitAuthorizer lets git clients into hosted repositories with a sluice token
// as the password of HTTP basic auth (any user name): a fetch needs
// sluice:GitPull, a push sluice:GitPush, on repository/NAME, asked of the
// token's policy as every API operation is. It fills the request's callInfo
// as handle does.
type GitAuthorizer struct {
	Tokens TokenStore
}

var _ gitserver.Authorizer = GitAuthorizer{}

// Authorize implements gitserver.Authorizer.
func (a GitAuthorizer) Authorize(r *http.Request, repo string, want gitserver.Access) (string, error) {
	action := "GitPull"
	if want == gitserver.Write {
		action = "GitPush"
	}
	ci := callInfoFrom(r.Context())
	ci.Operation, ci.Resource = action, "repository/"+repo
	if _, _, ok := r.BasicAuth(); !ok {
		return "", gitserver.ErrUnauthenticated
	}
	p, err := (&access.Guard{Tokens: a.Tokens}).Authenticate(r, &ci.Call)
	if err != nil {
		switch service.ErrorCode(err) {
		case service.CodeUnauthorized: // missing, wrong or expired
			return "", fmt.Errorf("%w: %s", gitserver.ErrUnauthenticated, service.ErrorMessage(err))
		case service.CodeForbidden: // a policy document that no longer reads
			return "", fmt.Errorf("%w: %s", gitserver.ErrForbidden, service.ErrorMessage(err))
		}
		return "", err
	}
	if err := ci.Check(p, action, ci.Resource); err != nil {
		return p.Name, fmt.Errorf("%w: %s", gitserver.ErrForbidden, service.ErrorMessage(err))
	}
	return p.Name, nil
}

// Resources.

// resAll is the resource of operations on no single resource: lists, the
// job queue.
func resAll(*http.Request) (string, error) { return "*", nil }

// pathResource names a resource of type typ by a path wildcard. The name,
// decoded from the URL (%2e%2e is ..), must obey pipeline.CheckName, as
// every name given to sluice does; a secret's name may hold /-separated
// segments.
func pathResource(typ, wildcard string) resourceFunc {
	return func(r *http.Request) (string, error) {
		name := r.PathValue(wildcard)
		check := pipeline.CheckName
		if typ == "secret" {
			check = pipeline.CheckPathName
		}
		if err := check(name); err != nil {
			return "", service.Errorf(service.CodeInvalid, "%s: %v", wildcard, err)
		}
		return typ + "/" + name, nil
	}
}

var (
	resPipeline   = pathResource("pipeline", "name")
	resRepository = pathResource("repository", "name")
	resProject    = pathResource("project", "name")
	resFunction   = pathResource("function", "name")
	resSecret     = pathResource("secret", "name")
	resWebhook    = pathResource("webhook", "name")
	resToken      = pathResource("token", "name")
	resJob        = pathResource("job", "id")
)

// resEvents is pipeline/NAME for events of one pipeline (?pipeline=NAME),
// else "*".
func resEvents(r *http.Request) (string, error) {
	if p := r.URL.Query().Get("pipeline"); p != "" {
		return "pipeline/" + p, nil
	}
	return "*", nil
}

// bodyResource names a resource of type typ by the name in the request's
// body, which operations that create or replace a declaration carry (apply
// a pipeline, a project, a function, a webhook; create a repository or a
// token). Permission comes before parsing: a caller whose policy allows the
// action on no resource of the type (iam.AllowsAny on TYPE/*) is refused
// before a byte of the body is read. Then it reads the body, at most limit
// bytes of it (413 beyond), puts it back for the handler, and asks name for
// the name it declares, with the same parser the handler uses, so that the
// resource checked is the one changed. A body that does not say is answered
// with 400 and the parser's errors.
func bodyResource(typ string, limit int64, name func(r *http.Request, body []byte) (string, error)) resourceFunc {
	return func(r *http.Request) (string, error) {
		if pend, ok := r.Context().Value(pendingKey{}).(pending); ok {
			if err := callInfoFrom(r.Context()).CheckAny(pend.p, pend.action, typ); err != nil {
				return "", err
			}
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return "", service.Errorf(service.CodeInvalid, "read request body: %v", err)
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
		if int64(len(data)) > limit {
			return "", service.Errorf(service.CodeTooLarge, "request body: larger than %d bytes, the limit of this operation", limit)
		}
		n, err := name(r, data)
		if err != nil {
			return "", err
		}
		return typ + "/" + n, nil
	}
}

// jsonName is the "name" field of a JSON request body.
func jsonName(_ *http.Request, body []byte) (string, error) {
	var v struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", service.Errorf(service.CodeInvalid, "request body: %v", err)
	}
	return v.Name, nil
}

// fileName is the ?filename= a declaration was read from, for its errors.
func fileName(r *http.Request, def string) string {
	if f := r.URL.Query().Get("filename"); f != "" {
		return f
	}
	return def
}
