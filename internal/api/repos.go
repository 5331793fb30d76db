package api

import (
	"errors"
	"net/http"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// repoRoutes registers the hosted repositories' API (CodeCommit's
// create/list/get/delete-repository, and branch protection). The repositories
// themselves are served by gitserver.Server at /git/.
func (s *Server) repoRoutes(repos *gitserver.Server) {
	s.handle("POST /api/v1/repos", "CreateRepository", bodyResource("repository", 1<<20, jsonName), func(w http.ResponseWriter, r *http.Request) error {
		var req wire.CreateRepoRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		repo, err := repos.Create(r.Context(), req.Name, req.Description)
		if err != nil {
			return repoError(err)
		}
		s.log.Info("repository created", "repository", repo.Name, "principal", Principal(r.Context()))
		return writeJSON(w, http.StatusCreated, repoView(r, repo))
	})
	s.handle("GET /api/v1/repos", "ListRepositories", resAll, func(w http.ResponseWriter, r *http.Request) error {
		list, err := repos.List(r.Context())
		if err != nil {
			return repoError(err)
		}
		out := struct {
			Repos []wire.Repo `json:"repos"`
		}{Repos: make([]wire.Repo, 0, len(list))}
		for _, repo := range list {
			out.Repos = append(out.Repos, repoView(r, repo))
		}
		return writeJSON(w, http.StatusOK, out)
	})
	s.handle("GET /api/v1/repos/{name}", "GetRepository", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		repo, err := repos.Get(r.Context(), r.PathValue("name"))
		if err != nil {
			return repoError(err)
		}
		return writeJSON(w, http.StatusOK, repoView(r, repo))
	})
	s.handle("DELETE /api/v1/repos/{name}", "DeleteRepository", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		if err := repos.Delete(r.Context(), r.PathValue("name")); err != nil {
			return repoError(err)
		}
		s.log.Info("repository deleted", "repository", r.PathValue("name"), "principal", Principal(r.Context()))
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.handle("POST /api/v1/repos/{name}/protections", "PutBranchProtection", resRepository, func(w http.ResponseWriter, r *http.Request) error {
		var req wire.BranchProtection
		if err := decode(r, &req); err != nil {
			return err
		}
		name := r.PathValue("name")
		p := gitserver.Protection{Branch: req.Branch, NoForcePush: req.NoForcePush, NoDelete: req.NoDelete}
		if err := repos.Protect(r.Context(), name, p); err != nil {
			return repoError(err)
		}
		repo, err := repos.Get(r.Context(), name)
		if err != nil {
			return repoError(err)
		}
		return writeJSON(w, http.StatusOK, repoView(r, repo))
	})
}

// repoError maps the git server's errors onto the API's codes.
func repoError(err error) error {
	var code errcode.Code
	switch {
	case errors.Is(err, gitserver.ErrInvalid):
		code = service.CodeInvalid
	case errors.Is(err, gitserver.ErrNotFound):
		code = service.CodeNotFound
	case errors.Is(err, gitserver.ErrExists):
		code = service.CodeConflict
	case errors.Is(err, gitserver.ErrForbidden):
		code = service.CodeForbidden
	case errors.Is(err, gitserver.ErrUnauthenticated):
		code = service.CodeUnauthorized
	default:
		return err
	}
	return service.Errorf(code, "%s", err.Error())
}

func repoView(r *http.Request, repo gitserver.Repo) wire.Repo {
	v := wire.Repo{
		Name:         repo.Name,
		Description:  repo.Description,
		Created:      repo.Created,
		Protections:  []wire.BranchProtection{},
		CloneURLPath: repo.CloneURLPath,
		CloneURL:     baseURL(r) + repo.CloneURLPath,
	}
	for _, p := range repo.Protections {
		v.Protections = append(v.Protections, wire.BranchProtection{Branch: p.Branch, NoForcePush: p.NoForcePush, NoDelete: p.NoDelete})
	}
	return v
}

// baseURL is the server's URL as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
