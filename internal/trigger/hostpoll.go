package trigger

import (
	"context"
	"fmt"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// HostHeads reads the head of the branch a connection source action
// (CodeStarSourceConnection, CodeConnections, GitHub) follows, through its
// git host connection; where names the branch and repository for messages.
// NotPolled tells the errors of actions whose changes come otherwise (their
// connection takes the host's webhooks).
type HostHeads interface {
	Head(ctx context.Context, pipeline, stage, action, provider string, cfg map[string]string) (head, where string, err error)
	NotPolled(err error) bool
}

// WithHosts makes the poller also follow the branches connection source
// actions name (DetectChanges or PollForSourceChanges not false), reading
// them with h, and returns it.
func (p *Poller) WithHosts(h HostHeads) *Poller { p.hosts = h; return p }

func (p *Poller) pollHost(ctx context.Context, name, stage string, a pipeline.Action) error {
	hctx, cancel := context.WithTimeout(ctx, pollTimeout)
	head, where, err := p.hosts.Head(hctx, name, stage, a.Name, a.ActionTypeID.Provider, a.Configuration)
	cancel()
	switch {
	case err != nil && p.hosts.NotPolled(err):
		return nil
	case err != nil:
		if where == "" {
			where = "the repository of action " + a.Name
		}
		return p.svc.NoteIgnored(ctx, name, service.TriggerNote{
			Type: service.TriggerPoll, Detail: "poll of " + where, Reason: err.Error(),
		})
	}
	return p.follow(ctx, name, a.Name, head, fmt.Sprintf("new commit %s on %s", short(head), where))
}
