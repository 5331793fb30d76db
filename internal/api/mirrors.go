package api

import (
	"net/http"
	"time"

	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/mirror"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// Mirrors says what happened to a repository's mirror, and is told when a
// mirror is set (mirror.Runner).
type Mirrors interface {
	Status(repo, mirror string) (mirror.Status, bool)
	Pushed(repo string)
}

// SetMirrors gives the API the mirror runner, for the mirrors' status.
// Call it before serving.
func (s *Server) SetMirrors(m Mirrors) { s.mirrors = m }

func (s *Server) mirrorRoutes(repos *gitserver.Server) {
	s.handle("GET /api/v1/repos/{name}/mirrors", "ListRepositoryMirrors", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		repo, err := repos.Get(r.Context(), r.PathValue("name"))
		if err != nil {
			return repoError(err)
		}
		out := wire.MirrorList{Mirrors: make([]wire.Mirror, 0, len(repo.Mirrors))}
		for _, m := range repo.Mirrors {
			out.Mirrors = append(out.Mirrors, s.mirrorView(repo.Name, m))
		}
		return writeJSON(w, http.StatusOK, out)
	})
	s.handle("PUT /api/v1/repos/{name}/mirrors/{mirror}", "PutRepositoryMirror", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		var req wire.PutMirrorRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		m := gitserver.Mirror{Name: r.PathValue("mirror"), URL: req.URL, Direction: req.Direction, Username: req.Username,
			PasswordSecret: req.PasswordSecret, Interval: time.Duration(req.IntervalSeconds) * time.Second}
		// The mirror sends the secret to a URL its author chose: that needs
		// the right to read it, as a rule's webhook secret does.
		if m.PasswordSecret != "" {
			if err := caller(r).Authorize("GetSecretValue", "secret/"+m.PasswordSecret); err != nil {
				return service.Errorf(service.CodeForbidden, "mirror %s uses secret %s: %s", m.Name, m.PasswordSecret, service.ErrorMessage(err))
			}
			if _, err := s.svc.MirrorSecret(r.Context(), m.PasswordSecret); err != nil {
				return service.Errorf(service.CodeInvalid, "passwordSecret: %s", service.ErrorMessage(err))
			}
		}
		ci := callInfoFrom(r.Context())
		ci.setParam("url", m.URL)
		ci.setParam("direction", m.Direction)
		name := r.PathValue("name")
		if err := repos.SetMirror(r.Context(), name, m); err != nil {
			return repoError(err)
		}
		if s.mirrors != nil {
			s.mirrors.Pushed(name) // a new push mirror gets everything now
		}
		return writeJSON(w, http.StatusOK, s.mirrorView(name, m))
	})
	s.handle("DELETE /api/v1/repos/{name}/mirrors/{mirror}", "DeleteRepositoryMirror", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		if err := repos.DeleteMirror(r.Context(), r.PathValue("name"), r.PathValue("mirror")); err != nil {
			return repoError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func (s *Server) mirrorView(repo string, m gitserver.Mirror) wire.Mirror {
	v := wire.Mirror{Name: m.Name, URL: m.URL, Direction: m.Direction, Username: m.Username,
		PasswordSecret: m.PasswordSecret, IntervalSeconds: int64(m.Interval / time.Second)}
	if s.mirrors == nil {
		return v
	}
	st, ok := s.mirrors.Status(repo, m.Name)
	if !ok {
		return v
	}
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	v.Status = &wire.MirrorStatus{LastAttempt: at(st.LastAttempt), LastSuccess: at(st.LastSuccess), LastError: st.LastError,
		Failures: st.Failures, NextAttempt: at(st.NextAttempt), Pending: st.Pending}
	return v
}
