package ui

import "github.com/sluice-ci/sluice/internal/access"

// permissions answers, for one request, what its principal may do: the
// access guard's Authorize, asked once per action and resource. The
// templates ask it which controls to draw, so that a principal is not
// offered what the router would refuse.
type permissions struct {
	who   access.Principal
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
	ok := p.who.Authorize(action, resource) == nil
	p.cache[key] = ok
	return ok
}

// On is Can on a pipeline.
func (p *permissions) On(action, pipeline string) bool { return p.Can(action, "pipeline/"+pipeline) }
