package client

import (
	"bytes"
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"io"
	"net/http"
	"net/url"
)

// PutSecret stores a secret's value.
func (c *Client) PutSecret(ctx context.Context, name string, value []byte) error {
	return c.do(ctx, http.MethodPut, "/api/v1/secrets/"+esc(name), bytes.NewReader(value), "application/octet-stream", nil)
}

// Secrets lists secrets.
func (c *Client) Secrets(ctx context.Context) ([]wire.SecretInfo, error) {
	var out struct {
		Secrets []wire.SecretInfo `json:"secrets"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/secrets", nil, &out)
	return out.Secrets, err
}

// DeleteSecret deletes a secret.
func (c *Client) DeleteSecret(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/secrets/"+esc(name), nil, nil)
}

// JobSecret reads a secret that a held job names in its configuration.
func (c *Client) JobSecret(ctx context.Context, jobID, worker, name string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/jobs/"+esc(jobID)+"/secrets/"+esc(name)+"?workerId="+url.QueryEscape(worker), nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// ReencryptSecrets asks the server to rewrite every sealed value under its
// current secret key.
func (c *Client) ReencryptSecrets(ctx context.Context) (wire.ReencryptReport, error) {
	var out wire.ReencryptReport
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/admin/reencrypt", nil, &out)
	return out, err
}
