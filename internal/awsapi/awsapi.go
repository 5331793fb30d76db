// Package awsapi is sluice's AWS-compatible endpoint: CodePipeline's JSON
// 1.1 API (POST / with X-Amz-Target: CodePipeline_20150709.OPERATION), so
// that the aws CLI, boto3 and the AWS SDKs drive sluice with --endpoint-url.
// Every request is signed with Signature Version 4 by an access key of a
// sluice token (sluice token create NAME --aws-keys); the key's token is the
// principal, its policy decides as it does for the native API (the same
// action names, on the same resources), and every call, refusals included,
// goes to the audit trail. Operations map onto the service's use cases, as
// the native API's do; this package only translates shapes and errors.
package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/service"
)

// TargetPrefix is what X-Amz-Target starts with: CodePipeline's API version.
const TargetPrefix = "CodePipeline_20150709."

// CodeCommitPrefix is what X-Amz-Target starts with for CodeCommit's API
// (hosted repositories and their pull requests), signed for service
// codecommit.
const CodeCommitPrefix = "CodeCommit_20150413."

// maxBody bounds a request body (a pipeline declaration is the largest).
const maxBody = 4 << 20

// Keys finds the secret of an access key and the hash of its token's
// secret (*service.Service does).
type Keys interface {
	AccessKeySecret(ctx context.Context, id string) (secret, tokenHash string, err error)
}

// Trail is where calls are recorded (*audit.Log is one): Append returns
// once the record is committed, Submit at once.
type Trail interface {
	Append(ctx context.Context, rec audit.Record) error
	Submit(rec audit.Record) error
}

// Config is what a Handler needs.
type Config struct {
	Service *service.Service
	Keys    Keys
	Guard   *access.Guard
	ID      awsid.ID
	// BaseURL is the server's address in what it answers (a webhook's url).
	BaseURL string
	// Trail is the audit trail; nil records nothing (a server run with
	// the audit trail off).
	Trail  Trail
	Logger *slog.Logger
	// Now is the clock signatures are checked against; time.Now when nil.
	Now func() time.Time
	// Repos are the hosted repositories, for CodeCommit's operations; nil
	// when the server hosts none.
	Repos Repos
}

// Handler serves the endpoint.
type Handler struct {
	cfg Config
	svc *service.Service
	id  awsid.ID
	ops map[string]operation
	// ccOps are CodeCommit's operations (CodeCommitPrefix).
	ccOps map[string]operation
}

// New returns the endpoint's handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{cfg: cfg, svc: cfg.Service, id: cfg.ID}
	h.ops = h.operations()
	h.eventOperations(h.ops) // EventBridge's, keyed AWSEvents.OPERATION (events.go)
	h.ccOps = h.codeCommitOperations()
	return h
}

// operation is one operation of the API: the sluice action a caller's
// policy must allow, on the resource the request names, and what it does.
type operation struct {
	// action is the policy's action name, without prefix: the native API's
	// for the same use case (CreatePipeline and UpdatePipeline are
	// PutPipeline).
	action string
	// actionOf, when set, names the action by the resource's type instead
	// (TagResource is PutPipeline on a pipeline, PutWebhook on a webhook).
	actionOf map[string]string
	// resource names the resource (pipeline/NAME, or "*") from the body.
	resource func(body []byte) (string, error)
	// run does the operation; the error is answered as errorFor says.
	run func(ctx context.Context, c *call, body []byte) (any, error)
	// errs names the AWS exceptions of this operation's refusals.
	errs errorNames
}

// call is one request being served.
type call struct {
	access.Call
	principal access.Principal
	params    map[string]string
}

// Operations lists the operations the endpoint serves.
func (h *Handler) Operations() []string {
	out := make([]string, 0, len(h.ops))
	for name := range h.ops {
		out = append(out, name)
	}
	for name := range h.ccOps {
		out = append(out, CodeCommitPrefix+name)
	}
	return out
}

// IsRequest reports whether r is for this endpoint: a POST to / that names
// a target (any other request to / is the console's).
func IsRequest(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get("X-Amz-Target") != ""
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Amzn-Requestid", id)
	c := &call{params: map[string]string{}}
	status, answer := h.serve(r, c)
	if status >= 400 {
		var ae *Error
		if errors.As(answer.(error), &ae) {
			c.Err = ae.Type + ": " + ae.Message
			if ae.Status == http.StatusForbidden {
				c.Denied = true
			}
		}
	}
	if err := h.record(r, c, status, start, id); err != nil && status < 400 && !isRead(c.Operation) {
		// A change the trail cannot record is not confirmed.
		h.cfg.Logger.Error("audit record not written", "err", err, "request-id", id, "operation", c.Operation)
		status, answer = http.StatusInternalServerError, &Error{Type: "InternalFailure", Status: 500,
			Message: "the audit trail could not record this request; it may have taken effect, but is not confirmed: look at the server's log"}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	if e, ok := answer.(*Error); ok {
		json.NewEncoder(w).Encode(map[string]string{"__type": e.Type, "message": e.Message})
		return
	}
	json.NewEncoder(w).Encode(answer)
}

// serve authenticates, authorizes and runs the request, and returns the
// status and what to answer: a value, or an *Error.
func (h *Handler) serve(r *http.Request, c *call) (int, any) {
	fail := func(e *Error) (int, any) { return e.Status, e }
	target := r.Header.Get("X-Amz-Target")
	name, _ := strings.CutPrefix(target, TargetPrefix)
	op, known := h.ops[name]
	signedFor := scopeService(r) // codepipeline, or events for EventBridge's
	if n, ok := strings.CutPrefix(target, CodeCommitPrefix); ok {
		name, signedFor = n, codeCommitService
		op, known = h.ccOps[n]
	}
	c.Operation = name
	if !known {
		// The trail names what it knows; the rest is the caller's words,
		// cut short.
		c.Operation = "UnknownOperation"
		c.params["target"] = truncate(target, 128)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fail(&Error{Type: "SerializationException", Status: 400, Message: "reading the request body: " + err.Error()})
	}
	if len(body) > maxBody {
		return fail(&Error{Type: "ValidationException", Status: 400, Message: "the request body is larger than 4 MiB"})
	}
	// Who asks comes first: a stranger learns nothing, not even whether an
	// operation exists.
	sig, aerr := parseAuthorization(r)
	if aerr != nil {
		return fail(aerr)
	}
	c.params["accessKeyId"] = truncate(sig.keyID, 64)
	secret, tokenHash, err := h.cfg.Keys.AccessKeySecret(r.Context(), sig.keyID)
	if err != nil {
		if service.ErrorCode(err) == service.CodeNotFound {
			return fail(errUnrecognized("The security token included in the request is invalid."))
		}
		h.cfg.Logger.Error("reading an access key", "key", truncate(sig.keyID, 64), "err", err)
		return fail(&Error{Type: "InternalFailure", Status: 500, Message: "internal error"})
	}
	if aerr := verify(r.Context(), r, body, sig, secret, signedFor, h.id.Region, h.cfg.Now()); aerr != nil {
		return fail(aerr)
	}
	p, err := h.cfg.Guard.ByHash(r.Context(), tokenHash)
	c.Principal = p.Name
	switch {
	case errors.Is(err, access.ErrUnknownToken):
		// Revoked or rotated since the key was made.
		return fail(errUnrecognized("The security token included in the request is invalid: its sluice token was revoked or rotated."))
	case errors.Is(err, access.ErrExpired):
		return fail(&Error{Type: "ExpiredTokenException", Status: 403, Message: service.ErrorMessage(err)})
	case errors.Is(err, access.ErrPolicyUnread):
		return fail(&Error{Type: "AccessDeniedException", Status: 403, Message: service.ErrorMessage(err)})
	case err != nil:
		h.cfg.Logger.Error("authenticating an access key", "key", sig.keyID, "err", err)
		return fail(&Error{Type: "InternalFailure", Status: 500, Message: "internal error"})
	}
	c.principal = p
	if !known {
		return fail(&Error{Type: "UnknownOperationException", Status: 400,
			Message: "sluice does not serve operation " + truncate(target, 128) + " (docs/aws-api.md lists those it does)"})
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		return fail(&Error{Type: "SerializationException", Status: 400, Message: "the request body is not JSON"})
	}
	res, err := op.resource(body)
	if err != nil {
		return fail(h.errorFor(op, err))
	}
	action := op.action
	if typ, _, ok := strings.Cut(res, "/"); ok && op.actionOf[typ] != "" {
		action = op.actionOf[typ]
	}
	err = c.Check(p, action, res)
	// The trail names the operation as the caller asked it, and the
	// policy's action it was checked as.
	c.Operation, c.params["action"] = name, action
	if err != nil {
		return fail(&Error{Type: "AccessDeniedException", Status: 403, Message: service.ErrorMessage(err)})
	}
	out, err := op.run(r.Context(), c, body)
	if err != nil {
		return fail(h.errorFor(op, err))
	}
	if out == nil {
		out = struct{}{}
	}
	return http.StatusOK, out
}

// record writes the call to the audit trail.
func (h *Handler) record(r *http.Request, c *call, status int, start time.Time, id string) error {
	if h.cfg.Trail == nil {
		return nil
	}
	outcome := audit.Allowed
	switch {
	case c.Denied || status == http.StatusForbidden:
		outcome = audit.Denied
	case status >= 400:
		outcome = audit.Failed
	}
	c.params["endpoint"] = "aws"
	src, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		src = r.RemoteAddr
	}
	ua := truncate(r.UserAgent(), 256)
	rec := audit.Record{
		Time: time.Now(), RequestID: id, Principal: c.Principal, Source: src, UserAgent: ua,
		Operation: c.Operation, Resource: c.Resource, Params: c.params, Outcome: outcome,
		Error: c.Err, Status: status, Duration: time.Since(start),
	}
	if outcome == audit.Allowed && isRead(c.Operation) {
		// A read that was allowed and answered changes nothing: its answer
		// need not wait for the record's commit, as the native API's
		// reads do not (see package audit).
		return h.cfg.Trail.Submit(rec)
	}
	return h.cfg.Trail.Append(context.WithoutCancel(r.Context()), rec)
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// isRead reports whether an operation changes nothing: its answer need not
// wait for the audit record to be committed.
func isRead(op string) bool { return strings.HasPrefix(op, "Get") || strings.HasPrefix(op, "List") }

func newRequestID() string { return uuid.NewString() }
