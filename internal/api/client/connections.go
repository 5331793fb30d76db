package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/hostconn"
)

// Connection is a connection as the API shows it: it names the secret with
// its keys, never holds them.
type Connection struct {
	Name        string                `json:"name"`
	Kind        string                `json:"kind"`
	Region      string                `json:"region"`
	Endpoint    string                `json:"endpoint,omitempty"`
	Endpoints   map[string]string     `json:"endpoints,omitempty"`
	S3PathStyle *bool                 `json:"s3PathStyle,omitempty"`
	Bucket      string                `json:"bucket,omitempty"`
	Credentials ConnectionCredentials `json:"credentials"`
	Role        *awsconn.Role         `json:"role,omitempty"`
	Created     time.Time             `json:"created"`
	Updated     time.Time             `json:"updated"`
}

// ConnectionCredentials says where a connection's keys come from: the
// secret's name, or the worker's own environment.
type ConnectionCredentials struct {
	Secret     string `json:"secret,omitempty"`
	FromWorker bool   `json:"fromWorker,omitempty"`
}

// PathStyle is whether S3 buckets are addressed in the path: as the
// connection says, else exactly when it has an endpoint.
func (c Connection) PathStyle() bool {
	if c.S3PathStyle != nil {
		return *c.S3PathStyle
	}
	return c.Endpoint != "" || c.Endpoints["s3"] != ""
}

// ConnectionApplyResult says what applying a connection did.
type ConnectionApplyResult struct {
	Name       string     `json:"name"`
	Created    bool       `json:"created"`
	Changed    bool       `json:"changed"`
	Connection Connection `json:"connection"`
}

// ApplyConnection sends a connection file as it is; the server parses it.
func (c *Client) ApplyConnection(ctx context.Context, filename string, data []byte) (ConnectionApplyResult, error) {
	var out ConnectionApplyResult
	err := c.do(ctx, http.MethodPost, "/api/v1/connections?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// Connections lists connections.
func (c *Client) Connections(ctx context.Context) ([]Connection, error) {
	var out struct {
		Connections []Connection `json:"connections"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/connections", nil, &out)
	return out.Connections, err
}

// Connection returns one connection.
func (c *Client) Connection(ctx context.Context, name string) (Connection, error) {
	var out Connection
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/connections/"+esc(name), nil, &out)
	return out, err
}

// DeleteConnection deletes a connection.
func (c *Client) DeleteConnection(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/connections/"+esc(name), nil, nil)
}

// RegionConnection, in the job protocol's path, asks for the connection a
// job's action region picks; no connection has this name.
const RegionConnection = "-"

// JobConnection gets the connection a held job uses, with its keys: the
// one named, or for "" the one its action's region picks.
func (c *Client) JobConnection(ctx context.Context, jobID, worker, name string) (awsconn.Settings, error) {
	if name == "" {
		name = RegionConnection
	}
	path := "/api/v1/jobs/" + esc(jobID) + "/connections/" + esc(name)
	var out awsconn.Settings
	err := c.doJSON(ctx, http.MethodGet, path+"?workerId="+url.QueryEscape(worker), nil, &out)
	return out, err
}

// JobGitConnection gets the git host connection a held connection source
// job reads its repository through, with the token.
func (c *Client) JobGitConnection(ctx context.Context, jobID, worker string) (hostconn.Settings, error) {
	var out hostconn.Settings
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/jobs/"+esc(jobID)+"/git-connection?workerId="+url.QueryEscape(worker), nil, &out)
	return out, err
}
