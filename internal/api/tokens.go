package api

import (
	"net/http"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/service"
)

// maxTokenLifetime bounds a token's expiry, in seconds.
const maxTokenLifetime = 100 * 365 * 24 * 3600

func (s *Server) tokenRoutes() {
	s.handle("POST /api/v1/tokens", "CreateToken", bodyResource("token", 1<<20, jsonName), func(w http.ResponseWriter, r *http.Request) error {
		var req client.CreateTokenRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		if req.ExpiresInSeconds < 0 || req.ExpiresInSeconds > maxTokenLifetime {
			return service.Errorf(service.CodeInvalid, "expiresInSeconds: must be from 0 (never) to %d (100 years)", maxTokenLifetime)
		}
		secret, info, err := s.svc.CreateToken(r.Context(), service.TokenRequest{
			Name: req.Name, Policy: req.Policy, Document: []byte(req.PolicyDocument),
			ExpiresIn: time.Duration(req.ExpiresInSeconds) * time.Second,
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, client.CreatedToken{Name: info.Name, Policy: info.Policy, Token: secret, Expires: info.Expires})
	})
	s.handle("GET /api/v1/tokens", "ListTokens", resAll, func(w http.ResponseWriter, r *http.Request) error {
		tokens, err := s.svc.Tokens(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"tokens": tokens})
	})
	s.handle("DELETE /api/v1/tokens/{name}", "RevokeToken", resToken, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.RevokeToken(r.Context(), r.PathValue("name")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
