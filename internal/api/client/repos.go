package client

import (
	"context"
	"github.com/sluice-ci/sluice/internal/wire"
	"net/http"
)

func (c *Client) fillCloneURL(r *wire.Repo) {
	if r.CloneURLPath != "" {
		r.CloneURL = c.base + r.CloneURLPath
	}
}

// CreateRepo creates an empty repository.
func (c *Client) CreateRepo(ctx context.Context, name, description string) (wire.Repo, error) {
	var out wire.Repo
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/repos", wire.CreateRepoRequest{Name: name, Description: description}, &out)
	c.fillCloneURL(&out)
	return out, err
}

// Repos lists repositories, sorted by name.
func (c *Client) Repos(ctx context.Context) ([]wire.Repo, error) {
	var out struct {
		Repos []wire.Repo `json:"repos"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/repos", nil, &out)
	for i := range out.Repos {
		c.fillCloneURL(&out.Repos[i])
	}
	return out.Repos, err
}

// Repo returns a repository.
func (c *Client) Repo(ctx context.Context, name string) (wire.Repo, error) {
	var out wire.Repo
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/repos/"+esc(name), nil, &out)
	c.fillCloneURL(&out)
	return out, err
}

// DeleteRepo deletes a repository with its history.
func (c *Client) DeleteRepo(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/repos/"+esc(name), nil, nil)
}

// ProtectBranch sets the rule for a branch of a repository, replacing the one
// it had; with both flags false the branch is no longer protected. It returns
// the repository with its rules.
func (c *Client) ProtectBranch(ctx context.Context, repo string, p wire.BranchProtection) (wire.Repo, error) {
	var out wire.Repo
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/repos/"+esc(repo)+"/protections", p, &out)
	c.fillCloneURL(&out)
	return out, err
}
