package client

import (
	"bytes"
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
	"net/url"
)

// ApplyProject sends a build project file as it is; the server parses it.
func (c *Client) ApplyProject(ctx context.Context, filename string, data []byte) (wire.Project, error) {
	var out wire.Project
	err := c.do(ctx, http.MethodPost, "/api/v1/projects?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// Projects lists build projects.
func (c *Client) Projects(ctx context.Context) ([]wire.Project, error) {
	var out struct {
		Projects []wire.Project `json:"projects"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/projects", nil, &out)
	return out.Projects, err
}

// Project returns one build project.
func (c *Client) Project(ctx context.Context, name string) (wire.Project, error) {
	var out wire.Project
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/projects/"+esc(name), nil, &out)
	return out, err
}

// DeleteProject deletes a build project.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/projects/"+esc(name), nil, nil)
}
