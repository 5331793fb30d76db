package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
)

// resPolicy is policy/NAME.
var resPolicy = pathResource("policy", "name")

func (s *Server) policyRoutes() {
	s.handle("GET /api/v1/policies", "ListPolicies", resAll, func(w http.ResponseWriter, r *http.Request) error {
		ps, err := s.svc.Policies(r.Context())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"policies": ps})
	})
	s.handle("GET /api/v1/policies/{name}", "GetPolicy", resPolicy, func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.svc.Policy(r.Context(), r.PathValue("name"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, p)
	})
	// PUT /api/v1/policies/NAME?filename=FILE takes the document (JSON or
	// YAML) as the body. The caller hands on only what it holds.
	s.handle("PUT /api/v1/policies/{name}", "PutPolicy", resPolicy, func(w http.ResponseWriter, r *http.Request) error {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxPolicyBody+1))
		if err != nil {
			return service.Errorf(service.CodeInvalid, "read request body: %v", err)
		}
		if len(data) > maxPolicyBody {
			return service.Errorf(service.CodeInvalid, "policy document: larger than %d bytes", maxPolicyBody)
		}
		c := caller(r)
		p, err := s.svc.PutPolicy(r.Context(), service.PolicyRequest{
			Name: r.PathValue("name"), Filename: r.URL.Query().Get("filename"), Document: data,
			Holder: c.Policy, HolderName: c.Name,
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, p)
	})
	s.handle("DELETE /api/v1/policies/{name}", "DeletePolicy", resPolicy, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.DeletePolicy(r.Context(), r.PathValue("name")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// maxPolicyBody bounds a policy document.
const maxPolicyBody = 64 << 10
