// Package hostsource is the Source actions that read a repository on a git
// host (GitHub, GitHub Enterprise, GitLab, Bitbucket, Gitea) through a git
// host connection: CodeStarSourceConnection, CodeConnections (its newer
// name) and GitHub version 1. The server resolves the connection from the
// job's own configuration (ConnectionArn; for GitHub, Connection or the
// secret OAuthToken names) and hands this worker its token; the clone
// itself is gitsource's, over HTTPS, with the token only in git's
// environment and scrubbed from the log.
//
// Outputs: CODE_ZIP (the commit's tree, no .git) or, for the connection
// source, CODEBUILD_CLONE_REF (a full clone with .git, the branch checked
// out at the commit and tracking origin; the clone's remote URL holds no
// credentials). Variables are CodePipeline's: for the connection source
// CommitId, CommitMessage, AuthorDate, BranchName, FullRepositoryName,
// ProviderType and ConnectionArn; for GitHub CommitId, CommitMessage,
// AuthorDate, CommitterDate, BranchName, RepositoryName and CommitUrl.
package hostsource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-ci/sluice/internal/hostconn"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/gitsource"
)

// Provider names this package runs.
const (
	ProviderCodeStarSourceConnection = "CodeStarSourceConnection"
	ProviderCodeConnections          = "CodeConnections"
	ProviderGitHub                   = "GitHub"
)

// Provider runs the connection source actions.
type Provider struct {
	// Git is the git binary, default "git".
	Git string
}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg := job.Configuration
	repo, branch, ok := Repository(job.Provider, cfg)
	if !ok {
		return provider.Result{}, fmt.Errorf("hostsource cannot run provider %q", job.Provider)
	}
	format := cfg["OutputArtifactFormat"]
	// Checked again now that variables are resolved: the name becomes a
	// path on the host, which must not climb out of it.
	if err := pipeline.CheckFullRepositoryID(repo); err != nil {
		return provider.Result{}, fmt.Errorf("configuration: %w", err)
	}
	if job.Provider == ProviderGitHub && strings.Count(repo, "/") != 1 {
		return provider.Result{}, fmt.Errorf("configuration Owner and Repo: %q is not OWNER/REPO", repo)
	}
	if job.GitHost == nil {
		return provider.Result{}, fmt.Errorf("repository %s: this worker cannot get git host connections", repo)
	}
	conn, err := job.GitHost(ctx)
	if err != nil {
		return provider.Result{}, fmt.Errorf("repository %s: %w", repo, err)
	}
	user, password := conn.Basic()
	whose := "the token of connection " + conn.Name
	if conn.Name == "" {
		whose = "the token in OAuthToken's secret"
	}
	hint := " with " + whose + ": the host refused it"
	g := gitsource.Provider{Git: p.Git}
	c, err := g.RunRemote(ctx, job, gitsource.Remote{
		URL: conn.CloneURL(repo), User: user, Password: password,
		Name: repo, AuthHint: hint, Branch: branch, Format: format,
		HeadRef: cfg[pipeline.ConfigHeadRef],
	})
	if errors.Is(err, gitsource.ErrRepositoryNotFound) {
		// Hosts answer 404 for a private repository the token may not read.
		return provider.Result{}, fmt.Errorf("%w, or %s may not read it", err, whose)
	}
	if err != nil {
		return provider.Result{}, err
	}
	vars := map[string]string{
		"CommitId":      c.ID,
		"CommitMessage": c.Message,
		"AuthorDate":    c.AuthorDate,
		"BranchName":    branch,
	}
	if job.Provider == ProviderGitHub {
		vars["CommitterDate"] = c.CommitterDate
		vars["RepositoryName"] = cfg["Repo"]
		vars["CommitUrl"] = commitURL(conn, repo, c.ID)
	} else {
		vars["FullRepositoryName"] = repo
		vars["ProviderType"] = hostconn.ProviderType(conn.Kind)
		vars["ConnectionArn"] = cfg["ConnectionArn"]
	}
	return provider.Result{Summary: c.Subject(), OutputVariables: vars}, nil
}

// commitURL is the API URL of the commit, as GitHub's CommitUrl variable
// holds it (https://api.github.com/repos/OWNER/REPO/git/commits/ID); for a
// GitHub Enterprise or Gitea host, its own API.
func commitURL(c hostconn.Settings, repo, id string) string {
	api := strings.TrimRight(c.URL, "/") + "/api/v3"
	switch {
	case c.Kind == hostconn.GitHub && c.URL == "https://github.com":
		api = "https://api.github.com"
	case c.Kind == hostconn.Gitea:
		api = strings.TrimRight(c.URL, "/") + "/api/v1"
	}
	return api + "/repos/" + repo + "/git/commits/" + id
}

// Repository returns the repository (OWNER/NAME) and branch an action of
// provider reads; ok is false for a provider this package does not run.
func Repository(providerName string, cfg map[string]string) (repo, branch string, ok bool) {
	switch providerName {
	case ProviderCodeStarSourceConnection, ProviderCodeConnections:
		repo, branch = cfg["FullRepositoryId"], cfg["BranchName"]
	case ProviderGitHub:
		repo, branch = cfg["Owner"]+"/"+cfg["Repo"], cfg["Branch"]
	default:
		return "", "", false
	}
	return strings.Trim(strings.TrimSpace(repo), "/"), strings.TrimPrefix(strings.TrimSpace(branch), "refs/heads/"), true
}

// ErrWebhooks is what Heads.Conn returns, wrapped or alone, for an action
// whose connection takes the host's webhooks, so its branch is not polled.
var ErrWebhooks = errors.New("the connection takes webhooks")

// Heads reads the heads of the branches connection source actions follow,
// for the poller (DetectChanges, PollForSourceChanges).
type Heads struct {
	// Conn returns the git host connection an action uses, as its jobs
	// would get it, and whether the connection takes webhooks.
	Conn func(ctx context.Context, pipeline, stage, action string) (conn hostconn.Settings, webhooks bool, err error)
	// Git is the git binary, default "git"; Env is git's base environment.
	Git string
	Env []string
}

// Head returns the head commit of the branch action a of pipeline follows,
// and where that is (branch B of OWNER/NAME) for messages. For an action
// whose connection takes webhooks it returns ErrWebhooks.
func (h Heads) Head(ctx context.Context, pipeline, stage, action, providerName string, cfg map[string]string) (head, where string, err error) {
	repo, branch, ok := Repository(providerName, cfg)
	if !ok {
		return "", "", fmt.Errorf("provider %s reads no git host", providerName)
	}
	where = fmt.Sprintf("branch %s of %s", branch, repo)
	conn, webhooks, err := h.Conn(ctx, pipeline, stage, action)
	switch {
	case err != nil:
		return "", where, err
	case webhooks:
		return "", where, ErrWebhooks
	}
	user, password := conn.Basic()
	head, err = gitsource.RemoteHeads{Git: h.Git, Env: h.Env}.Head(ctx, conn.CloneURL(repo), branch, []byte(user+":"+password))
	return head, where, err
}

// NotPolled reports whether err says the action is not polled.
func (Heads) NotPolled(err error) bool { return errors.Is(err, ErrWebhooks) }
