package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
)

func (s *Server) reportRoutes() {
	s.handle("PUT /api/v1/jobs/{id}/reports/{group}", "PutJobReport", resJob, func(w http.ResponseWriter, r *http.Request) error {
		raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<20+1))
		if err != nil {
			return service.Errorf(service.CodeInvalid, "read report: %v", err)
		}
		if err := s.svc.PutReport(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"), r.PathValue("group"), raw); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.handle("GET /api/v1/jobs/{id}/cache", "GetJobCache", resJob, func(w http.ResponseWriter, r *http.Request) error {
		rc, err := s.svc.OpenCache(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"))
		return serveZip(w, rc, err, "the build cache")
	})
	s.handle("PUT /api/v1/jobs/{id}/cache", "PutJobCache", resJob, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.PutCache(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"), r.Body); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.handle("GET /api/v1/pipelines/{name}/executions/{id}/reports", "ListReports", resPipeline, func(w http.ResponseWriter, r *http.Request) error {
		reports, err := s.svc.Reports(r.Context(), r.PathValue("name"), r.PathValue("id"), r.URL.Query().Get("action"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"reports": reports})
	})
}
