package trigger_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/githost/giteatest"
	"github.com/sluice-ci/sluice/internal/trigger"
)

// TestGiteaWebhooksForReal points a real Gitea's webhook at the connection
// webhook: its own signature and payloads for a push, a pull request and a
// push into it, and a delivery signed with another secret.
func TestGiteaWebhooksForReal(t *testing.T) {
	g := giteatest.Start(t)
	repo := g.CreateRepo(t, "web", false)
	f := newFixture(t)
	if _, err := f.svc.PutConnection(f.ctx, &connection.Connection{Name: "gh", Kind: connection.KindGitea, URL: g.URL, Token: "gitea-token", WebhookSecret: "gh-hook"}); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"gh-hook": hookSecret, "gitea-token": g.AdminToken} {
		if err := f.svc.PutSecret(f.ctx, name, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	f.apply(strings.NewReplacer("Codertocat/Hello-World", repo.FullName, "BranchName: master", "BranchName: main").Replace(connPipeline) + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      push:
        - branches: {includes: [main]}
      pullRequest:
        - events: [OPEN, UPDATED]
          branches: {includes: [main]}
          filePaths: {includes: ["src/**"]}
`)
	h := trigger.NewConnectionWebhooks(f.svc, trigger.HostFiles{Secrets: f.svc})
	var mu sync.Mutex
	var answers []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, err := h.Handle(r.Context(), "gh", r.Header, body)
		code := http.StatusOK
		if err != nil {
			code = http.StatusUnauthorized
		}
		mu.Lock()
		answers = append(answers, code)
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer srv.Close()
	hook := func(secret string) {
		g.API(t, http.MethodPost, "/repos/"+repo.FullName+"/hooks", map[string]any{
			"type": "gitea", "active": true, "events": []string{"push", "pull_request"},
			"config": map[string]string{"url": srv.URL, "content_type": "json", "secret": secret},
		}, nil)
	}
	hook(hookSecret)

	wait := func(what string, cond func([]*engine.Execution) bool) []*engine.Execution {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			es := f.executions("web")
			if cond(es) {
				return es
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d executions %+v\ngitea log:\n%s", what, len(es), es, g.Log())
			}
			time.Sleep(50 * time.Millisecond) // polling Gitea's asynchronous delivery, not standing in for a signal
		}
	}

	main1 := g.Commit(t, repo, "main", "first", map[string]string{"README.md": "hello\n"})
	es := wait("the push to main", func(es []*engine.Execution) bool { return len(es) == 1 })
	if es[0].SourceRevisions[0].RevisionID != main1 || es[0].TriggerVariables["ProviderType"] != "Gitea" {
		t.Fatalf("push execution %+v", es[0])
	}

	g.Push(t, repo, "origin", "HEAD:refs/heads/feature")
	head1 := g.Commit(t, repo, "feature", "app", map[string]string{"src/app.go": "package app\n"})
	var pr struct {
		Number int `json:"number"`
	}
	g.API(t, http.MethodPost, "/repos/"+repo.FullName+"/pulls", map[string]any{"title": "Add the app", "head": "feature", "base": "main"}, &pr)
	es = wait("the opened pull request", func(es []*engine.Execution) bool { return len(es) == 2 })
	opened := es[0]
	if opened.SourceRevisions[0].RevisionID != head1 || opened.TriggerVariables["PullRequestId"] != itoa(pr.Number) ||
		opened.TriggerVariables["SourceBranch"] != "feature" || opened.TriggerVariables["PullRequestTitle"] != "Add the app" {
		t.Fatalf("pull request execution %+v", opened)
	}

	head2 := g.Commit(t, repo, "feature", "more", map[string]string{"src/more.go": "package app\n"})
	es = wait("the updated pull request", func(es []*engine.Execution) bool { return len(es) == 3 })
	if es[0].SourceRevisions[0].RevisionID != head2 || es[0].TriggerVariables["PullRequestEvent"] != "UPDATED" {
		t.Fatalf("updated pull request execution %+v", es[0])
	}
	old, _ := f.svc.Execution(f.ctx, "web", opened.ID)
	if old.Status != engine.ExecutionStopping && old.Status != engine.ExecutionStopped {
		t.Errorf("the first head's execution is %s, want stopped", old.Status)
	}

	// A push to the pull request that touches no src file: the push to
	// feature matches no push filter and the pull request's file filter
	// still matches (the pull request changes src/), so the new head runs.
	// A second webhook signed with another secret is refused, every time.
	hook("not the connection's secret")
	head3 := g.Commit(t, repo, "feature", "docs", map[string]string{"docs/x.md": "x\n"})
	wait("the second head's update", func(es []*engine.Execution) bool { return len(es) == 4 && es[0].SourceRevisions[0].RevisionID == head3 })
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		refused := 0
		for _, c := range answers {
			if c == http.StatusUnauthorized {
				refused++
			}
		}
		mu.Unlock()
		if refused >= 2 { // the push and the pull request's update
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wrongly signed deliveries were not refused: %v", answers)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(f.executions("web")); n != 4 {
		t.Errorf("%d executions, want 4", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
