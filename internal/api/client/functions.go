package client

import (
	"bytes"
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
	"net/url"
)

// ApplyFunction sends a function file as it is; the server parses it.
func (c *Client) ApplyFunction(ctx context.Context, filename string, data []byte) (wire.FunctionApplyResult, error) {
	var out wire.FunctionApplyResult
	err := c.do(ctx, http.MethodPost, "/api/v1/functions?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// Functions lists functions.
func (c *Client) Functions(ctx context.Context) ([]wire.Function, error) {
	var out struct {
		Functions []wire.Function `json:"functions"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/functions", nil, &out)
	return out.Functions, err
}

// Function returns one function.
func (c *Client) Function(ctx context.Context, name string) (wire.Function, error) {
	var out wire.Function
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/functions/"+esc(name), nil, &out)
	return out, err
}

// DeleteFunction deletes a function.
func (c *Client) DeleteFunction(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/functions/"+esc(name), nil, nil)
}

// BaseURL is the server's URL as the client was given it, without a
// trailing slash: workers hand it to functions, which call the server back.
func (c *Client) BaseURL() string { return c.base }
