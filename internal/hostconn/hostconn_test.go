package hostconn

import (
	"slices"
	"testing"
)

func TestBasicAndCloneURL(t *testing.T) {
	tests := []struct {
		kind, token, user, password string
	}{
		{GitHub, "ghp_x", "x-access-token", "ghp_x"},
		{GitHubEnterprise, "t", "x-access-token", "t"},
		{GitLab, "glpat-x", "oauth2", "glpat-x"},
		{GitLabSelfManaged, "t", "oauth2", "t"},
		{Bitbucket, "repo-token", "x-token-auth", "repo-token"},
		{Bitbucket, "alice:app-password", "alice", "app-password"},
		{Gitea, "abc", "x-access-token", "abc"},
		// A colon means user:password only for Bitbucket's app passwords.
		{GitHub, "a:b", "x-access-token", "a:b"},
	}
	for _, tt := range tests {
		s := Settings{Kind: tt.kind, URL: "https://h.example/", Token: tt.token}
		if u, p := s.Basic(); u != tt.user || p != tt.password {
			t.Errorf("%s %q: Basic() = %q, %q; want %q, %q", tt.kind, tt.token, u, p, tt.user, tt.password)
		}
		if !slices.Contains(s.Values(), tt.token) || !slices.Contains(s.Values(), tt.password) {
			t.Errorf("%s %q: Values() = %q misses the token or password", tt.kind, tt.token, s.Values())
		}
	}
	s := Settings{Kind: GitLab, URL: "https://gitlab.example/"}
	if got := s.CloneURL("/group/sub/repo/"); got != "https://gitlab.example/group/sub/repo.git" {
		t.Errorf("CloneURL = %q", got)
	}
	if len(s.Values()) != 0 {
		t.Errorf("Values of no token = %q", s.Values())
	}
	for kind, want := range map[string]string{GitHub: "GitHub", GitHubEnterprise: "GitHubEnterpriseServer", GitLab: "GitLab",
		GitLabSelfManaged: "GitLabSelfManaged", Bitbucket: "Bitbucket", Gitea: "Gitea"} {
		if got := ProviderType(kind); got != want {
			t.Errorf("ProviderType(%s) = %q, want %q", kind, got, want)
		}
	}
}
