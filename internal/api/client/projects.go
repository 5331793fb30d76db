package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"
)

// Project is a build project as the API shows it.
type Project struct {
	Name                 string                `json:"name"`
	Description          string                `json:"description,omitempty"`
	Buildspec            string                `json:"buildspec"`
	EnvironmentVariables []EnvironmentVariable `json:"environmentVariables"`
	TimeoutInMinutes     int                   `json:"timeoutInMinutes"`
	Isolation            string                `json:"isolation"`
	Network              bool                  `json:"network"`
	Created              time.Time             `json:"created"`
	Updated              time.Time             `json:"updated"`
}

// EnvironmentVariable is one of a project's variables; for PARAMETER_STORE and
// SECRETS_MANAGER, Value is the secret's name, not its value.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"`
}

// ApplyProject sends a build project file as it is; the server parses it.
func (c *Client) ApplyProject(ctx context.Context, filename string, data []byte) (Project, error) {
	var out Project
	err := c.do(ctx, http.MethodPost, "/api/v1/projects?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// Projects lists build projects.
func (c *Client) Projects(ctx context.Context) ([]Project, error) {
	var out struct {
		Projects []Project `json:"projects"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/projects", nil, &out)
	return out.Projects, err
}

// Project returns one build project.
func (c *Client) Project(ctx context.Context, name string) (Project, error) {
	var out Project
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/projects/"+esc(name), nil, &out)
	return out, err
}

// DeleteProject deletes a build project.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/projects/"+esc(name), nil, nil)
}
