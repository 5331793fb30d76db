package client

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"
)

// Function is a function as the API shows it: what the Function (Lambda)
// invoke action runs.
type Function struct {
	Name             string            `json:"name"`
	Command          []string          `json:"command,omitempty"`
	URL              string            `json:"url,omitempty"`
	Environment      map[string]string `json:"environment,omitempty"`
	WorkingDirectory string            `json:"workingDirectory,omitempty"`
	TimeoutInMinutes int               `json:"timeoutInMinutes"`
	Created          time.Time         `json:"created"`
	Updated          time.Time         `json:"updated"`
}

// FunctionApplyResult says what applying a function did.
type FunctionApplyResult struct {
	Name     string   `json:"name"`
	Created  bool     `json:"created"`
	Changed  bool     `json:"changed"`
	Function Function `json:"function"`
}

// ApplyFunction sends a function file as it is; the server parses it.
func (c *Client) ApplyFunction(ctx context.Context, filename string, data []byte) (FunctionApplyResult, error) {
	var out FunctionApplyResult
	err := c.do(ctx, http.MethodPost, "/api/v1/functions?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// Functions lists functions.
func (c *Client) Functions(ctx context.Context) ([]Function, error) {
	var out struct {
		Functions []Function `json:"functions"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/functions", nil, &out)
	return out.Functions, err
}

// Function returns one function.
func (c *Client) Function(ctx context.Context, name string) (Function, error) {
	var out Function
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
