package api

import (
	"context"
	"net/http"
	"time"

	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// maxTokenLifetime bounds a token's expiry, in seconds.
const maxTokenLifetime = 100 * 365 * 24 * 3600

func (s *Server) tokenRoutes() {
	s.handle("POST /api/v1/tokens", "CreateToken", bodyResource("token", 1<<20, jsonName), func(w http.ResponseWriter, r *http.Request) error {
		var req wire.CreateTokenRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		return s.issueToken(w, r, req, s.svc.CreateToken)
	})
	s.handle("POST /api/v1/tokens/{name}/rotate", "RotateToken", resToken, func(w http.ResponseWriter, r *http.Request) error {
		var req wire.CreateTokenRequest
		if r.ContentLength != 0 {
			if err := decode(r, &req); err != nil {
				return err
			}
		}
		req.Name = r.PathValue("name")
		return s.issueToken(w, r, req, s.svc.RotateToken)
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

// issueToken creates or rotates a token for the caller, who hands on at most
// what it holds, and names the granted policy in the request's audit record.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, req wire.CreateTokenRequest,
	issue func(context.Context, service.TokenRequest) (string, service.TokenInfo, error)) error {
	if req.ExpiresInSeconds < 0 || req.ExpiresInSeconds > maxTokenLifetime {
		return service.Errorf(service.CodeInvalid, "expiresInSeconds: must be from 0 (never) to %d (100 years)", maxTokenLifetime)
	}
	p := caller(r)
	ci := callInfoFrom(r.Context())
	if req.PolicyDocument != "" {
		ci.setParam("policy", req.Policy+" (inline policy "+iam.Digest(req.PolicyDocument)+" of the text sent)")
	} else if req.Policy != "" {
		ci.setParam("policy", req.Policy)
	}
	secret, info, err := issue(r.Context(), service.TokenRequest{
		Name: req.Name, Policy: req.Policy, Document: []byte(req.PolicyDocument),
		ExpiresIn: time.Duration(req.ExpiresInSeconds) * time.Second,
		Holder:    p.Policy, HolderName: p.Name,
	})
	if err != nil {
		return err
	}
	// What was granted, as stored: a ready-made name, or the document's
	// file name and the digest of its stored JSON.
	ci.setParam("policy", iam.Describe(info.Policy, string(info.PolicyDocument)))
	out := wire.CreatedToken{Name: info.Name, Policy: info.Policy, Token: secret, Expires: info.Expires}
	if req.AWSKeys {
		key, err := s.svc.CreateAccessKey(r.Context(), secret)
		if err != nil {
			// Its secret would never be shown: a token nobody can use.
			if rerr := s.svc.RevokeToken(context.WithoutCancel(r.Context()), info.Name); rerr != nil {
				s.log.Error("revoking a token whose access key could not be made", "token", info.Name, "err", rerr)
			}
			return err
		}
		out.AccessKeyID, out.SecretAccessKey = key.ID, key.Secret
		ci.setParam("accessKeyId", key.ID)
	}
	return writeJSON(w, http.StatusCreated, out)
}
