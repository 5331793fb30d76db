package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"

	"github.com/sluice-ci/sluice/internal/wire"
)

// ApplyDeployGroup sends a deployment group file as it is; the server parses it.
func (c *Client) ApplyDeployGroup(ctx context.Context, filename string, data []byte) (wire.DeployGroupApplyResult, error) {
	var out wire.DeployGroupApplyResult
	err := c.do(ctx, http.MethodPost, "/api/v1/deployment-groups?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// DeployGroups lists deployment groups, of one application if app is not empty.
func (c *Client) DeployGroups(ctx context.Context, app string) ([]wire.DeployGroup, error) {
	var out struct {
		Groups []wire.DeployGroup `json:"deploymentGroups"`
	}
	p := "/api/v1/deployment-groups"
	if app != "" {
		p += "?" + url.Values{"application": {app}}.Encode()
	}
	err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out.Groups, err
}

// DeployGroup returns one deployment group.
func (c *Client) DeployGroup(ctx context.Context, app, name string) (wire.DeployGroup, error) {
	var out wire.DeployGroup
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/deployment-groups/"+esc(app)+"/"+esc(name), nil, &out)
	return out, err
}

// DeleteDeployGroup deletes a deployment group.
func (c *Client) DeleteDeployGroup(ctx context.Context, app, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/deployment-groups/"+esc(app)+"/"+esc(name), nil, nil)
}
