package client

import (
	"context"
	"net/http"
)

// PutApprovalResult answers a manual approval.
func (c *Client) PutApprovalResult(ctx context.Context, pipeline string, req ApprovalResult) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(pipeline)+"/approvals", req, nil)
}

// Locks lists the locks with their holders and queues.
func (c *Client) Locks(ctx context.Context) ([]LockState, error) {
	var out []LockState
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/locks", nil, &out)
	return out, err
}
