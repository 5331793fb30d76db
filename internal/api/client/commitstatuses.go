package client

import (
	"context"
	"net/http"

	"github.com/sluice-ci/sluice/internal/wire"
)

// CommitStatuses lists the statuses an execution set on its git host,
// newest first, with how sending each went.
func (c *Client) CommitStatuses(ctx context.Context, name, id string) ([]wire.CommitStatus, error) {
	var out struct {
		CommitStatuses []wire.CommitStatus `json:"commitStatuses"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/pipelines/"+esc(name)+"/executions/"+esc(id)+"/commit-statuses", nil, &out)
	return out.CommitStatuses, err
}
