package githost_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/sluice-ci/sluice/internal/githost"
	"github.com/sluice-ci/sluice/internal/githost/giteatest"
)

// TestGiteaForReal sets statuses, lists a pull request's files and
// resolves an abbreviated commit on a real Gitea.
func TestGiteaForReal(t *testing.T) {
	g := giteatest.Start(t)
	repo := g.CreateRepo(t, "web", false)
	base := g.Commit(t, repo, "main", "first", map[string]string{"README.md": "hello\n"})
	g.Push(t, repo, "origin", "HEAD:refs/heads/feature")
	head := g.Commit(t, repo, "feature", "second", map[string]string{"src/app.go": "package app\n", "README.md": ""})
	ctx := context.Background()
	cl := &githost.Client{Host: githost.Gitea, BaseURL: g.URL, Token: g.AdminToken}

	for _, st := range []githost.State{githost.StatePending, githost.StateFailure} {
		err := cl.SetStatus(ctx, repo.FullName, base, githost.Status{State: st, Context: "sluice/web",
			Description: "web " + string(st), TargetURL: "http://sluice.test/ui/pipelines/web/executions/e1"})
		if err != nil {
			t.Fatalf("set %s: %v", st, err)
		}
	}
	var combined struct {
		State    string `json:"state"`
		Statuses []struct {
			Status      string `json:"status"`
			Context     string `json:"context"`
			TargetURL   string `json:"target_url"`
			Description string `json:"description"`
		} `json:"statuses"`
	}
	g.API(t, http.MethodGet, "/repos/"+repo.FullName+"/commits/"+base+"/status", nil, &combined)
	if combined.State != "failure" || len(combined.Statuses) != 1 {
		t.Fatalf("combined status %+v", combined)
	}
	if s := combined.Statuses[0]; s.Context != "sluice/web" || s.TargetURL != "http://sluice.test/ui/pipelines/web/executions/e1" || s.Description != "web failure" {
		t.Errorf("status %+v", s)
	}

	// A token that cannot write is refused, for good.
	reader := g.CreateUser(t, "reader", "read:repository")
	err := (&githost.Client{Host: githost.Gitea, BaseURL: g.URL, Token: reader}).SetStatus(ctx, repo.FullName, base, githost.Status{State: githost.StateSuccess, Context: "x"})
	if !githost.IsPermanent(err) {
		t.Errorf("a read-only token: %v", err)
	}

	var pr struct {
		Number int `json:"number"`
	}
	g.API(t, http.MethodPost, "/repos/"+repo.FullName+"/pulls", map[string]any{"title": "t", "head": "feature", "base": "main"}, &pr)
	files, err := cl.PullRequestFiles(ctx, repo.FullName, pr.Number)
	slices.Sort(files)
	if err != nil || !slices.Equal(files, []string{"README.md", "src/app.go"}) {
		t.Errorf("files of the pull request: %v, %v", files, err)
	}
	if full, err := cl.ResolveCommit(ctx, repo.FullName, head[:12]); err != nil || full != head {
		t.Errorf("resolve %s: %q, %v", head[:12], full, err)
	}
}
