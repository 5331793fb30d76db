// Package access is the one door of every protocol front (the API, the
// console, git over HTTP): authenticate a request to a Principal, authorize
// one action on one resource against the principal's policy, and note both
// in the request's audit Call. The fronts differ in how a caller proves who
// it is (a bearer token, basic auth, a console session) and in how they
// answer a refusal; what a principal is, the policy that decides, and the
// words of a refusal are the same everywhere because they are made here.
package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// JobPrincipalPrefix names the principal of a job token: "job/ID".
const JobPrincipalPrefix = "job/"

// Tokens finds a token by the hash of its secret (the store does).
type Tokens interface {
	Token(ctx context.Context, hash string) (store.Token, error)
}

// Principal is an authenticated caller and its policy.
type Principal struct {
	Name       string // the token's name; job/ID for a job token
	PolicyName string // the ready-made policy's name, or the document's
	// Policy decides what the principal may do; nil allows nothing (a
	// ready-made name sluice does not know, a document that no longer reads).
	Policy *iam.Policy
}

// Authorize returns nil when p's policy allows action (its name without the
// sluice: prefix) on resource (TYPE/NAME, or "*"), else the Forbidden error
// to answer, naming the token, its policy, the action and the resource, and
// the statement that denies it explicitly, if one does.
func (p Principal) Authorize(action, resource string) error {
	ok, why := iam.Evaluate(p.Policy, iam.Prefix+action, resource)
	if ok {
		return nil
	}
	msg := fmt.Sprintf("token %s (policy %s) is not allowed %s%s on %s", p.Name, p.PolicyName, iam.Prefix, action, resource)
	if strings.HasPrefix(why, "explicitly") {
		msg += ": " + why
	}
	return service.Errorf(service.CodeForbidden, "%s", msg)
}

// AuthorizeAny returns nil when p's policy allows action on some resource of
// type typ, else the Forbidden error to answer: a front asks it before it
// reads a request body that names the resource, so that a caller allowed
// nothing of the kind is refused before a byte of it is parsed.
func (p Principal) AuthorizeAny(action, typ string) error {
	if iam.AllowsAny(p.Policy, iam.Prefix+action, typ+"/*") {
		return nil
	}
	return service.Errorf(service.CodeForbidden, "token %s (policy %s) is not allowed %s%s on any %s (refused before reading the request body)",
		p.Name, p.PolicyName, iam.Prefix, action, typ+"/*")
}

// Reasons a token is refused, for errors.Is; the error also carries the
// message to answer with (service.ErrorMessage) and its code.
var (
	ErrUnknownToken    = errors.New("no token of this server matches it")
	ErrExpired         = errors.New("token expired")
	ErrPolicyUnread    = errors.New("the token's policy document no longer reads")
	ErrMissingToken    = errors.New("missing token")
	ErrInvalidJobToken = errors.New("invalid job token")
)

// refusal is a service error that also says which of the reasons above it is.
type refusal struct {
	err    *service.Error
	reason error
}

func (e *refusal) Error() string   { return e.err.Msg }
func (e *refusal) Unwrap() []error { return []error{e.err, e.reason} }

func refuse(reason error, code errcode.Code, format string, args ...any) error {
	return &refusal{err: service.Errorf(code, format, args...), reason: reason}
}

// Guard authenticates requests against the server's tokens.
type Guard struct {
	Tokens Tokens
	// JobOf returns the job a job token (sjt_…) was made for; nil when job
	// tokens are not taken (git, the console).
	JobOf func(token string) (string, bool)
	// Now is the clock tokens expire by; time.Now when nil.
	Now func() time.Time

	policies iam.Policies
}

// Bearer returns the token a request carries: Authorization: Bearer, or the
// password of basic auth (git clients send it so).
func Bearer(r *http.Request) string {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && token != "" {
		return token
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	return ""
}

// Authenticate returns the principal behind the token the request carries,
// and notes it in c: the principal's name, also that of a known token
// refused (expired), and, for a refusal, its message; a token whose policy
// no longer reads is refused as denied. Challenge(err) says whether the
// answer should ask for credentials.
func (g *Guard) Authenticate(r *http.Request, c *Call) (Principal, error) {
	p, err := g.authenticate(r)
	c.Principal = p.Name
	if err != nil {
		switch service.ErrorCode(err) {
		case service.CodeUnauthorized:
			c.Err = service.ErrorMessage(err)
		case service.CodeForbidden:
			c.Denied, c.Err = true, service.ErrorMessage(err)
		}
	}
	return p, err
}

func (g *Guard) authenticate(r *http.Request) (Principal, error) {
	token := Bearer(r)
	if token == "" {
		return Principal{}, refuse(ErrMissingToken, service.CodeUnauthorized, "missing token: send it as 'Authorization: Bearer TOKEN' (the CLI reads --token or SLUICE_TOKEN)")
	}
	if g.JobOf != nil && service.IsJobToken(token) {
		jobID, ok := g.JobOf(token)
		if !ok {
			return Principal{}, refuse(ErrInvalidJobToken, service.CodeUnauthorized, "invalid job token")
		}
		return Principal{Name: JobPrincipalPrefix + jobID, PolicyName: iam.JobPolicyName(jobID), Policy: iam.JobPolicy(jobID)}, nil
	}
	return g.ByHash(r.Context(), auth.HashToken(token))
}

// ByHash returns the principal of the token whose secret hashes to hash: a
// console session keeps only that. A token that no longer exists is
// ErrUnknownToken; one that expired is ErrExpired, with the principal named;
// one whose policy document no longer reads is ErrPolicyUnread, with the
// principal named and a nil policy, which allows nothing.
func (g *Guard) ByHash(ctx context.Context, hash string) (Principal, error) {
	t, err := g.Tokens.Token(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, refuse(ErrUnknownToken, service.CodeUnauthorized, "invalid token: no token of this server matches it")
	}
	if err != nil {
		return Principal{}, err
	}
	return g.OfToken(t)
}

// OfToken returns the principal of a stored token found by other means than
// its secret (an SSH key names the token it stands for), refused as ByHash
// refuses it: ErrExpired when it expired, ErrPolicyUnread when its policy
// document no longer reads.
func (g *Guard) OfToken(t store.Token) (Principal, error) {
	var err error
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	p := Principal{Name: t.Name, PolicyName: t.Policy}
	if !t.Expires.IsZero() && !now().Before(t.Expires) {
		return p, refuse(ErrExpired, service.CodeUnauthorized, "token %s expired at %s", t.Name, t.Expires.UTC().Format(time.RFC3339))
	}
	if p.Policy, err = g.policies.Of(t.Policy, t.PolicyDocument); err != nil {
		return p, refuse(ErrPolicyUnread, service.CodeForbidden, "token %s (policy %s): its policy document no longer reads (%v); give the token a new one", t.Name, t.Policy, err)
	}
	if t.PolicyDocument == "" && t.Policy == iam.PolicyAgent {
		// An agent token speaks for one agent: the one named as the token is.
		p.Policy = iam.AgentPolicy(t.Name)
	}
	return p, nil
}

// Challenge reports whether a refusal by Authenticate is not a denial: it
// is for want of credentials (missing, unknown, expired token), or the
// tokens could not be read, and the answer asks for credentials.
func Challenge(err error) bool { return service.ErrorCode(err) != service.CodeForbidden }
