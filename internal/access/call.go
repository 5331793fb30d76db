package access

import "github.com/sluice-ci/sluice/internal/service"

// Call is what the audit trail records of who did what to which resource in
// one request, and how the door answered. Authenticate and Check fill it in,
// so that every front records the same things the same way; a front adds how
// the request ended (Err, once its handler ran) and its own details.
type Call struct {
	Principal string // the token's name ("" when unauthenticated)
	Operation string // the action name without its prefix: StartPipelineExecution, GitPush, …
	Resource  string // pipeline/NAME, repository/NAME, project/NAME, …; "*" for lists
	Denied    bool   // the permission check refused it
	Err       string // the error answered, if any
}

// Check asks p's policy whether it allows action on resource (Authorize),
// and notes in c the principal, the operation, the resource and, when it is
// refused, that it was denied and why.
func (c *Call) Check(p Principal, action, resource string) error {
	c.Principal, c.Operation, c.Resource = p.Name, action, resource
	return c.denied(p.Authorize(action, resource))
}

// CheckAny is AuthorizeAny, noted in c as Check notes: the resource is not
// known yet (it is in the body not read).
func (c *Call) CheckAny(p Principal, action, typ string) error {
	c.Principal, c.Operation = p.Name, action
	return c.denied(p.AuthorizeAny(action, typ))
}

func (c *Call) denied(err error) error {
	if err != nil {
		c.Denied, c.Err = true, service.ErrorMessage(err)
	}
	return err
}
