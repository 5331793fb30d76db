package api

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/api/client"
)

func (s *Server) tokenRoutes() {
	s.handle("POST /api/v1/tokens", func(w http.ResponseWriter, r *http.Request) error {
		var req client.CreateTokenRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		secret, err := s.svc.CreateToken(r.Context(), req.Name, req.Policy)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, client.CreatedToken{Name: req.Name, Policy: req.Policy, Token: secret})
	})
	s.handle("GET /api/v1/tokens", func(w http.ResponseWriter, r *http.Request) error {
		tokens, err := s.svc.Tokens(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"tokens": tokens})
	})
	s.handle("DELETE /api/v1/tokens/{name}", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.DeleteToken(r.Context(), r.PathValue("name")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
