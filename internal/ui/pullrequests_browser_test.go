package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/wire"
)

// gitWork makes a work tree pushing to hosted repository repo with token.
func gitWork(t *testing.T, ts *testServer, repo, token string) func(args ...string) string {
	t.Helper()
	dir := t.TempDir()
	u, _ := url.Parse(ts.url + "/git/" + repo + ".git")
	u.User = url.UserPassword("git", token)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
			"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	run("remote", "add", "origin", u.String())
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app.txt", "hello\n")
	run("add", "-A")
	run("commit", "-q", "-m", "base")
	run("push", "-q", "origin", "main")
	run("checkout", "-q", "-b", "feature")
	write("app.txt", "hello, reviewers\n")
	run("commit", "-q", "-am", "greet the reviewers")
	run("push", "-q", "origin", "feature")
	return run
}

// TestBrowserPullRequest: a reviewer opens a pull request in the console,
// sees its rule unsatisfied, its commit and its diff, comments and
// approves; the rule turns satisfied; the developer merges it by squash
// with the button, and the page says it is merged. The viewer's page has no
// controls, and a viewer's forged approval is refused.
func TestBrowserPullRequest(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := context.Background()
	devToken := ts.token("dev", "operator")
	revToken := ts.token("rev", "approver")
	lookToken := ts.token("look", "viewer")
	if _, err := ts.api.CreateRepo(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.api.CreateApprovalRuleTemplate(ctx, "reviewed", "",
		`{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1,"ApprovalPoolMembers":["policy/approver"]}]}`); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.api.AssociateApprovalRuleTemplate(ctx, "reviewed", "app", true); err != nil {
		t.Fatal(err)
	}
	gitWork(t, ts, "app", devToken)
	dev := client.New(ts.url, devToken)
	pr, err := dev.CreatePullRequest(ctx, "app", wire.CreatePullRequestRequest{Title: "Greet the reviewers", Source: "feature", Destination: "main"})
	if err != nil {
		t.Fatal(err)
	}
	page := "/ui/repos/app/pulls/1"

	b := newBrowser(t, ts.url)
	b.signIn(revToken)
	b.do("open the pull request from the repository's list",
		chromedp.Navigate(ts.url+"/ui/repos/app/pulls"),
		chromedp.WaitVisible(chromedp.CSS(`#pull-1 a`)),
		chromedp.Click(chromedp.CSS(`#pull-1 a`)),
		chromedp.WaitVisible(chromedp.CSS(`#pull-title`)),
		chromedp.WaitVisible(chromedp.CSS(`#rule-reviewed[data-satisfied="false"]`)),
	)
	if got := b.text("#pull-diff"); !strings.Contains(got, "+hello, reviewers") || !strings.Contains(got, "-hello") {
		t.Errorf("the diff reads %q", got)
	}
	if got := b.text("#pull-commits"); !strings.Contains(got, "greet the reviewers") {
		t.Errorf("the commits read %q", got)
	}
	b.shot("pull-request-unapproved")
	b.do("comment on a line and approve",
		chromedp.SendKeys(chromedp.CSS(`#comment-content`), "friendly enough"),
		chromedp.SendKeys(chromedp.CSS(`#comment-file`), "app.txt"),
		chromedp.SendKeys(chromedp.CSS(`#comment-line`), "1"),
		chromedp.Click(chromedp.CSS(`#comment-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#comment-1`)),
		chromedp.Click(chromedp.CSS(`#approve-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#rule-reviewed[data-satisfied="true"]`)),
	)
	if got := b.text("#comment-1"); !strings.Contains(got, "rev") || !strings.Contains(got, "app.txt:1") || !strings.Contains(got, "friendly enough") {
		t.Errorf("the comment reads %q", got)
	}
	if got := b.text("#approved-by"); got != "rev" {
		t.Errorf("approved by %q", got)
	}
	b.shot("pull-request-approved")

	// A viewer sees the page without controls, and a forged approval is refused.
	v := newBrowserless(t, ts.url)
	v.signIn(lookToken)
	_, html := v.get(page)
	if !strings.Contains(html, "Greet the reviewers") || strings.Contains(html, "approve-button") || strings.Contains(html, "merge-squash") || strings.Contains(html, "comment-button") {
		t.Errorf("a viewer's pull request page: want it without controls")
	}
	resp, _ := v.post(page+"/approve", url.Values{"csrf": {v.csrf}}, "Accept", "application/json")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer's forged approval: %s, want 403", resp.Status)
	}

	d := newBrowser(t, ts.url)
	d.signIn(devToken)
	d.do("squash and merge",
		chromedp.Navigate(ts.url+page),
		chromedp.WaitVisible(chromedp.CSS(`#merge-squash`)),
		chromedp.Click(chromedp.CSS(`#merge-squash`)),
		chromedp.WaitVisible(chromedp.CSS(`#pull-status[data-status="MERGED"]`)),
	)
	d.shot("pull-request-merged")
	got, err := ts.api.PullRequest(ctx, "app", pr.ID)
	if err != nil || !got.Merged || got.MergeOption != "SQUASH_MERGE" || got.MergedBy != "dev" {
		t.Fatalf("after the merge button: %+v, %v", got, err)
	}
}
