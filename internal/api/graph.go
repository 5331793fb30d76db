package api

import (
	"bytes"
	"net/http"

	"github.com/sluice-ci/sluice/internal/depgraph"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// pipelineGraph answers GET /api/v1/graph?format=json|text|dot (json when
// not given): how the pipelines depend on one another.
func (s *Server) pipelineGraph(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "text" && format != "dot" {
		return service.Errorf(service.CodeInvalid, "format: unknown format %q (json, text or dot)", format)
	}
	g, err := s.svc.Graph(r.Context())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	switch format {
	case "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		err = g.Text(&buf)
	case "dot":
		w.Header().Set("Content-Type", "text/vnd.graphviz; charset=utf-8")
		err = g.DOT(&buf)
	default:
		out := wire.Graph{Nodes: []wire.GraphNode{}, Edges: []wire.GraphEdge{}}
		for _, n := range g.Nodes {
			gn := wire.GraphNode{Name: n.Name, Kind: string(n.Kind), Status: n.Status, Missing: n.Missing, Waiting: n.Waiting}
			if h := n.Holder; h != nil {
				gn.Holder = &wire.ExecutionRef{PipelineName: h.Pipeline, PipelineExecutionID: h.ExecutionID}
			}
			for _, q := range n.Queue {
				gn.Queue = append(gn.Queue, wire.ExecutionRef{PipelineName: q.Pipeline, PipelineExecutionID: q.ExecutionID})
			}
			out.Nodes = append(out.Nodes, gn)
		}
		for _, e := range g.Edges {
			ge := wire.GraphEdge{From: e.From, To: e.To, Kind: string(e.Kind), Detail: e.Detail}
			if e.Kind == depgraph.EdgeLock {
				ge.State, ge.Position, _ = g.LockUse(e.From, e.To)
			}
			out.Edges = append(out.Edges, ge)
		}
		return writeJSON(w, http.StatusOK, out)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
