package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
)

const maxSecret = 64 << 10

func (s *Server) secretRoutes() {
	s.handle("GET /api/v1/secrets", "ListSecrets", resAll, s.listSecrets)
	s.handle("PUT /api/v1/secrets/{name...}", "PutSecret", resSecret, s.putSecret)
	s.handle("DELETE /api/v1/secrets/{name...}", "DeleteSecret", resSecret, s.deleteSecret)
	s.handle("GET /api/v1/jobs/{id}/secrets/{name...}", "GetJobSecret", resJob, s.jobSecret)
	s.handle("POST /api/v1/admin/reencrypt", "ReencryptSecrets", resAll, s.reencryptSecrets)
}

// reencryptSecrets rewrites the sealed values under the current secret key
// (a step of rotating it); the report names what, never a value.
func (s *Server) reencryptSecrets(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.svc.ReencryptSecrets(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) error {
	value, err := io.ReadAll(io.LimitReader(r.Body, maxSecret+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read secret value: %v", err)
	}
	if err := s.svc.PutSecret(r.Context(), r.PathValue("name"), value); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) error {
	secrets, err := s.svc.Secrets(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"secrets": secrets})
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteSecret(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) jobSecret(w http.ResponseWriter, r *http.Request) error {
	value, err := s.svc.JobSecret(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"), r.PathValue("name"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(value)
	return err
}
