package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// Graph returns the pipelines' dependency graph as the server writes it in
// format: "text", "dot" (Graphviz) or "json" (a Graph).
func (c *Client) Graph(ctx context.Context, format string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/graph?"+url.Values{"format": {format}}.Encode(), nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
