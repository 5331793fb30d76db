package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Policy is a named policy: a role pipelines and build projects run with.
type Policy struct {
	Name      string          `json:"name"`
	ReadyMade bool            `json:"readyMade,omitempty"`
	Document  json.RawMessage `json:"document"`
	Created   time.Time       `json:"created,omitzero"`
	Updated   time.Time       `json:"updated,omitzero"`
}

// PutPolicy stores a named policy from a document in JSON or YAML; filename
// names it in errors.
func (c *Client) PutPolicy(ctx context.Context, name, filename string, document []byte) (Policy, error) {
	var out Policy
	err := c.do(ctx, http.MethodPut, "/api/v1/policies/"+esc(name)+"?filename="+url.QueryEscape(filename),
		bytes.NewReader(document), "application/yaml", &out)
	return out, err
}

// Policies lists the stored policies.
func (c *Client) Policies(ctx context.Context) ([]Policy, error) {
	var out struct {
		Policies []Policy `json:"policies"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/policies", nil, &out)
	return out.Policies, err
}

// Policy returns a named policy, stored or ready-made.
func (c *Client) Policy(ctx context.Context, name string) (Policy, error) {
	var out Policy
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/policies/"+esc(name), nil, &out)
	return out, err
}

// DeletePolicy deletes a stored policy.
func (c *Client) DeletePolicy(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/policies/"+esc(name), nil, nil)
}
