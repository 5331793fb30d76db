package api

import (
	"encoding/json"
	"net/http"

	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/wire"
)

func (s *Server) commitStatusRoutes() {
	s.handle("GET /api/v1/pipelines/{name}/executions/{id}/commit-statuses", "ListCommitStatuses", resPipeline, s.commitStatuses)
}

// commitStatuses lists the statuses an execution set on its git host,
// newest first, with how sending each went.
func (s *Server) commitStatuses(w http.ResponseWriter, r *http.Request) error {
	name, id := r.PathValue("name"), r.PathValue("id")
	if _, err := s.svc.Execution(r.Context(), name, id); err != nil {
		return err
	}
	ds, err := s.svc.Store().Deliveries(r.Context(), event.CommitStatusSource(name, id), 100)
	if err != nil {
		return err
	}
	out := struct {
		CommitStatuses []wire.CommitStatus `json:"commitStatuses"`
	}{CommitStatuses: []wire.CommitStatus{}}
	for _, d := range ds {
		var t struct {
			Connection, Repository, Commit, State, Context, Description, URL string
		}
		_ = json.Unmarshal(d.Target, &t) // a target sluice wrote; a field it lacks shows empty
		out.CommitStatuses = append(out.CommitStatuses, wire.CommitStatus{
			Connection: t.Connection, Repository: t.Repository, Commit: t.Commit, State: t.State, Context: t.Context,
			Description: t.Description, TargetURL: t.URL, Delivery: d.Status, Attempts: d.Attempts, LastError: d.LastError,
			Created: d.Created, Updated: d.Updated,
		})
	}
	return writeJSON(w, http.StatusOK, out)
}
