package client

import (
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
)

// PutApprovalResult answers a manual approval.
func (c *Client) PutApprovalResult(ctx context.Context, pipeline string, req wire.ApprovalResult) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(pipeline)+"/approvals", req, nil)
}

// Locks lists the locks with their holders and queues.
func (c *Client) Locks(ctx context.Context) ([]wire.LockState, error) {
	var out []wire.LockState
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/locks", nil, &out)
	return out, err
}
