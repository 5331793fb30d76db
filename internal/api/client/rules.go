package client

import (
	"bytes"
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
	"net/url"
)

// ApplyRule sends a rule file as it is; the server parses it.
func (c *Client) ApplyRule(ctx context.Context, filename string, data []byte) (wire.RuleApplyResult, error) {
	var out wire.RuleApplyResult
	err := c.do(ctx, http.MethodPost, "/api/v1/rules?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// Rules lists rules.
func (c *Client) Rules(ctx context.Context) ([]wire.Rule, error) {
	var out struct {
		Rules []wire.Rule `json:"rules"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/rules", nil, &out)
	return out.Rules, err
}

// Rule returns one rule.
func (c *Client) Rule(ctx context.Context, name string) (wire.Rule, error) {
	var out wire.Rule
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/rules/"+esc(name), nil, &out)
	return out, err
}

// DeleteRule deletes a rule.
func (c *Client) DeleteRule(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/rules/"+esc(name), nil, nil)
}

// RuleFailures lists a rule's dead letters: deliveries that never got
// through, newest first.
func (c *Client) RuleFailures(ctx context.Context, name string) ([]wire.RuleDelivery, error) {
	var out struct {
		Failures []wire.RuleDelivery `json:"failures"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/rules/"+esc(name)+"/failures", nil, &out)
	return out.Failures, err
}
