package client

import (
	"bytes"
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
	"net/url"
)

// PutPolicy stores a named policy from a document in JSON or YAML; filename
// names it in errors.
func (c *Client) PutPolicy(ctx context.Context, name, filename string, document []byte) (wire.Policy, error) {
	var out wire.Policy
	err := c.do(ctx, http.MethodPut, "/api/v1/policies/"+esc(name)+"?filename="+url.QueryEscape(filename),
		bytes.NewReader(document), "application/yaml", &out)
	return out, err
}

// Policies lists the stored policies.
func (c *Client) Policies(ctx context.Context) ([]wire.Policy, error) {
	var out struct {
		Policies []wire.Policy `json:"policies"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/policies", nil, &out)
	return out.Policies, err
}

// Policy returns a named policy, stored or ready-made.
func (c *Client) Policy(ctx context.Context, name string) (wire.Policy, error) {
	var out wire.Policy
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/policies/"+esc(name), nil, &out)
	return out, err
}

// DeletePolicy deletes a stored policy.
func (c *Client) DeletePolicy(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/policies/"+esc(name), nil, nil)
}
