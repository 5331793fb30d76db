// Package hostconn is what a worker is handed for the git host connection a
// source action uses (the job protocol's GetJobGitConnection): the host's
// kind and base URL and the token that reads its repositories. It knows how
// each host spells a clone URL and which user name goes with a token.
package hostconn

import (
	"strings"
)

// Kinds of git hosts, as connection kinds name them.
const (
	GitHub            = "github"
	GitHubEnterprise  = "github-enterprise"
	GitLab            = "gitlab"
	GitLabSelfManaged = "gitlab-self-managed"
	Bitbucket         = "bitbucket"
	Gitea             = "gitea"
)

// Settings is a git host connection as one job may use it. Token is a
// secret: only the worker holding the job gets it, and its log masks it.
type Settings struct {
	// Name is the connection's name; "" for a GitHub action whose
	// OAuthToken names a secret rather than a connection.
	Name string `json:"name,omitempty"`
	Kind string `json:"kind"`
	// URL is the host's base URL, without a trailing slash.
	URL   string `json:"url"`
	Token string `json:"token"`
}

// CloneURL is the https clone URL of repository fullName (OWNER/NAME, or
// GROUP/SUBGROUP/NAME on GitLab) on the host. It holds no credentials.
func (s Settings) CloneURL(fullName string) string {
	return strings.TrimRight(s.URL, "/") + "/" + strings.Trim(fullName, "/") + ".git"
}

// Basic is the user name and password git sends for the token: the user
// name each host documents for tokens (GitHub's x-access-token, GitLab's
// oauth2, Bitbucket's x-token-auth), or, for a token written USER:PASSWORD
// (a Bitbucket app password), those two.
func (s Settings) Basic() (user, password string) {
	if u, p, ok := strings.Cut(s.Token, ":"); ok && s.Kind == Bitbucket {
		return u, p
	}
	switch s.Kind {
	case GitLab, GitLabSelfManaged:
		return "oauth2", s.Token
	case Bitbucket:
		return "x-token-auth", s.Token
	default:
		// GitHub, GitHub Enterprise and Gitea take any user name with a
		// token as the password.
		return "x-access-token", s.Token
	}
}

// ProviderType is CodeConnections' name for the kind of host, as the
// ProviderType output variable holds it; Gitea, which CodeConnections does
// not know, is "Gitea".
func ProviderType(kind string) string {
	switch kind {
	case GitHub:
		return "GitHub"
	case GitHubEnterprise:
		return "GitHubEnterpriseServer"
	case GitLab:
		return "GitLab"
	case GitLabSelfManaged:
		return "GitLabSelfManaged"
	case Bitbucket:
		return "Bitbucket"
	case Gitea:
		return "Gitea"
	}
	return kind
}

// Values are the secret strings in s, for a log masker.
func (s Settings) Values() []string {
	if s.Token == "" {
		return nil
	}
	out := []string{s.Token}
	if _, p := s.Basic(); p != s.Token && p != "" {
		out = append(out, p)
	}
	return out
}
