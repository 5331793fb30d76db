package api

import (
	"context"
	"net/http"
	"time"
)

// Operations are what an operator's tools read: Prometheus's metrics and
// the readiness probe's check. Both may be nil (tests of the API alone).
type Operations struct {
	// Metrics serves the metrics in Prometheus's text format.
	Metrics http.Handler
	// Ready says why the server cannot serve yet (store or artifact store
	// unreachable), nil when it can. Its message is shown to anyone: it
	// must name the part, not its address or credentials.
	Ready func(ctx context.Context) error
}

// SetOperations sets what /metrics and /readyz answer with.
func (s *Server) SetOperations(ops Operations) { s.ops = ops }

// operationsRoutes are /readyz, open to the load balancer's probe, and
// /metrics, which needs a token allowed sluice:GetMetrics: metric labels name
// pipelines, which a stranger may not learn. Prometheus sends the token as a
// bearer token (authorization.credentials_file in its scrape config).
func (s *Server) operationsRoutes() {
	s.exempt("GET /readyz", "readiness probe: says only ready or which part is not, needs no token",
		http.HandlerFunc(s.readyz))
	s.handle("GET /metrics", "GetMetrics", resAll, func(w http.ResponseWriter, r *http.Request) error {
		if s.ops.Metrics == nil {
			http.NotFound(w, r)
			return nil
		}
		s.ops.Metrics.ServeHTTP(w, r)
		return nil
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.ops.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.ops.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	w.Write([]byte("ready\n"))
}
