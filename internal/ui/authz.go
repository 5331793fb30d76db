package ui

import (
	"context"

	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
)

// Authorizer decides whether a token may do action (an action name without
// its prefix, as the API names it: StartPipelineExecution) on resource
// (pipeline/NAME, or "*" for lists). The console asks it once per request,
// before the handler runs, and again for each control it considers
// offering.
type Authorizer interface {
	Allowed(ctx context.Context, token service.Token, action, resource string) (bool, error)
}

// IAMAuthorizer evaluates the token's policy as the API does: its policy
// document, or the ready-made policy it names (admin, operator, approver,
// viewer, worker; read is viewer). A name sluice does not know, or a
// document that no longer reads, allows nothing.
type IAMAuthorizer struct {
	policies iam.Policies
}

// Allowed implements Authorizer.
func (a *IAMAuthorizer) Allowed(_ context.Context, token service.Token, action, resource string) (bool, error) {
	p, err := a.policies.Of(token.Policy, token.PolicyDocument)
	if p == nil || err != nil {
		return false, nil
	}
	ok, _ := iam.Evaluate(p, iam.Prefix+action, resource)
	return ok, nil
}

// permissions answers, for one request, what its principal may do; the
// templates ask it which controls to draw.
type permissions struct {
	ctx   context.Context
	authz Authorizer
	token service.Token
	cache map[string]bool
}

// Can reports whether the principal may do action on resource.
func (p *permissions) Can(action, resource string) bool {
	if p == nil {
		return false
	}
	key := action + "\x00" + resource
	if v, ok := p.cache[key]; ok {
		return v
	}
	ok, err := p.authz.Allowed(p.ctx, p.token, action, resource)
	ok = ok && err == nil
	p.cache[key] = ok
	return ok
}

// On is Can on a pipeline.
func (p *permissions) On(action, pipeline string) bool { return p.Can(action, "pipeline/"+pipeline) }
