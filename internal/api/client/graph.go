package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// Graph is GET /api/v1/graph?format=json: how pipelines depend on one another.
type Graph struct {
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
}

// GraphNode is a pipeline (kind "pipeline"), a pipeline name known only at run
// time (kind "dynamic", named as written, #{...} included) or a lock (kind
// "lock", named "lock:NAME"). Missing marks a pipeline referenced but not
// declared; Status is a pipeline's latest execution status, "" if it never ran.
type GraphNode struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Status  string `json:"status"`
	Missing bool   `json:"missing"`
}

// GraphEdge points from what comes first to what follows: Kind "gate" (To
// waits on From), "trigger" (From's end starts To), "invoke" (From starts To
// and waits for it) or "lock" (pipeline From holds lock To). Detail says
// where it is declared: the action as STAGE/ACTION and its condition, the
// upstream states ("Succeeded,Failed"), or "pipeline" / "stage NAME" for a lock.
type GraphEdge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

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
