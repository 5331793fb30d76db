package client

import (
	"context"
	"net/http"
	"time"
)

// Repo is a hosted git repository (CodeCommit's repository).
type Repo struct {
	Name        string             `json:"name"`
	Description string             `json:"description,omitempty"`
	Created     time.Time          `json:"created"`
	Protections []BranchProtection `json:"protections"`
	// CloneURLPath is the clone URL's path on the server, e.g. /git/NAME.git.
	CloneURLPath string `json:"cloneUrlPath"`
	// CloneURL is the URL git clones and pushes: the server fills it in from the
	// request it answers, the Go client from its own base URL.
	CloneURL string `json:"cloneUrl"`
}

// BranchProtection is the rule for one branch of a repository.
type BranchProtection struct {
	Branch      string `json:"branch"`
	NoForcePush bool   `json:"noForcePush"`
	NoDelete    bool   `json:"noDelete"`
}

// CreateRepoRequest creates a repository.
type CreateRepoRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

func (c *Client) fillCloneURL(r *Repo) {
	if r.CloneURLPath != "" {
		r.CloneURL = c.base + r.CloneURLPath
	}
}

// CreateRepo creates an empty repository.
func (c *Client) CreateRepo(ctx context.Context, name, description string) (Repo, error) {
	var out Repo
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/repos", CreateRepoRequest{Name: name, Description: description}, &out)
	c.fillCloneURL(&out)
	return out, err
}

// Repos lists repositories, sorted by name.
func (c *Client) Repos(ctx context.Context) ([]Repo, error) {
	var out struct {
		Repos []Repo `json:"repos"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/repos", nil, &out)
	for i := range out.Repos {
		c.fillCloneURL(&out.Repos[i])
	}
	return out.Repos, err
}

// Repo returns a repository.
func (c *Client) Repo(ctx context.Context, name string) (Repo, error) {
	var out Repo
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
func (c *Client) ProtectBranch(ctx context.Context, repo string, p BranchProtection) (Repo, error) {
	var out Repo
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/repos/"+esc(repo)+"/protections", p, &out)
	c.fillCloneURL(&out)
	return out, err
}
