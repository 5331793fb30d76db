package service_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// noAuth: these tests push on the server's disk, never over HTTP.
type noAuth struct{}

func (noAuth) Authorize(*http.Request, string, gitserver.Access) (string, error) {
	return "", gitserver.ErrForbidden
}

type pullEnv struct {
	t    *testing.T
	svc  *service.Service
	git  *gitserver.Server
	work string
	root string
}

func (e *pullEnv) run(args ...string) string {
	e.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = e.work
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.com",
		"GIT_COMMITTER_NAME=A", "GIT_COMMITTER_EMAIL=a@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (e *pullEnv) commit(branch, file, content string) {
	e.t.Helper()
	if e.run("branch", "--show-current") != branch {
		e.run("checkout", "-q", branch)
	}
	if err := os.WriteFile(filepath.Join(e.work, file), []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.run("add", file)
	e.run("commit", "-q", "-m", "change "+file)
	e.run("push", "-q", filepath.Join(e.root, "app.git"), branch)
}

func newPullEnv(t *testing.T) *pullEnv {
	return newPullEnvOn(t, nil, nil)
}

// newPullEnvOn is newPullEnv on a SQLite store wrapped by wrap, and the
// clock now (either nil for none).
func newPullEnvOn(t *testing.T, wrap func(store.Store) store.Store, now func() time.Time) *pullEnv {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var s store.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	e := &pullEnv{t: t, svc: newPullService(t, s, now), root: filepath.Join(dir, "git"), work: t.TempDir()}
	e.git, err = gitserver.New(e.root, noAuth{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := e.svc
	svc.SetPullRepos(e.git)
	if _, err := e.git.Create(ctx, "app", ""); err != nil {
		t.Fatal(err)
	}
	admin, _ := iam.ReadyMade("admin")
	for name, policy := range map[string]string{"alice": "operator", "bob": "operator", "carol": "approver", "dave": "operator"} {
		if _, _, err := svc.CreateToken(ctx, service.TokenRequest{Name: name, Policy: policy, Holder: admin}); err != nil {
			t.Fatal(err)
		}
	}
	e.run("init", "-q", "-b", "main")
	e.commit("main", "a.txt", "a\n")
	e.run("checkout", "-q", "-b", "feature")
	e.commit("feature", "a.txt", "a from feature\n")
	return e
}

func newPullService(t *testing.T, st store.Store, now func() time.Time) *service.Service {
	arts, err := artifact.NewDisk(filepath.Join(t.TempDir(), "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	return service.New(st, arts, service.Config{Lease: 30 * time.Second, SecretKey: make([]byte, service.SecretKeySize), Now: now})
}

func wantCode(t *testing.T, err error, code errcode.Code, text string) {
	t.Helper()
	if err == nil || service.ErrorCode(err) != code || !strings.Contains(err.Error(), text) {
		t.Fatalf("err = %v (%s), want %s containing %q", err, service.ErrorCode(err), code, text)
	}
}

// TestPullRequestApprovalRules: a template's rule binds pull requests of its
// repository and destination; merge is refused until the rule's pool has
// approved the current revision; a push makes earlier approvals stale; the
// author cannot approve; an override lets the merge through.
func TestPullRequestApprovalRules(t *testing.T) {
	ctx := context.Background()
	e := newPullEnv(t)
	svc := e.svc
	for _, bad := range []string{`{}`, `{"Version":"2018-11-08","Statements":[]}`,
		`{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":0}]}`,
		`{"Version":"2018-11-08","DestinationReferences":["main"],"Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1}]}`} {
		if _, err := svc.CreateApprovalRuleTemplate(ctx, "bad", "", bad); service.ErrorCode(err) != service.CodeInvalid {
			t.Errorf("template %s: err = %v, want invalid", bad, err)
		}
	}
	content := `{"Version":"2018-11-08","DestinationReferences":["refs/heads/main"],"Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":2,"ApprovalPoolMembers":["CodeCommitApprovers:000000000000:bob","policy/approver"]}]}`
	if _, err := svc.CreateApprovalRuleTemplate(ctx, "two-reviewers", "", content); err != nil {
		t.Fatal(err)
	}
	other := `{"Version":"2018-11-08","DestinationReferences":["refs/heads/release"],"Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":5}]}`
	if _, err := svc.CreateApprovalRuleTemplate(ctx, "release-only", "", other); err != nil {
		t.Fatal(err)
	}
	exists := func(repo string) error {
		_, err := e.git.Get(ctx, repo)
		return err
	}
	for _, name := range []string{"two-reviewers", "release-only"} {
		if _, err := svc.AssociateApprovalRuleTemplate(ctx, name, "app", true, exists); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.AssociateApprovalRuleTemplate(ctx, "two-reviewers", "nope", true, exists); err == nil {
		t.Error("associated with a repository that does not exist")
	}

	_, err := svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "", Source: "feature", Destination: "main", Principal: "alice"})
	wantCode(t, err, service.CodeInvalid, "title")
	_, err = svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "x", Source: "nope", Destination: "main", Principal: "alice"})
	wantCode(t, err, service.CodeNotFound, "sourceReference")
	pr, err := svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "Feature", Description: "does things", Source: "feature", Destination: "main", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Rules) != 1 || pr.Rules[0].FromTemplate != "two-reviewers" || pr.Rules[0].Satisfied {
		t.Fatalf("rules = %+v, want the main branch's template, unsatisfied", pr.Rules)
	}
	merge := service.MergePullRequestRequest{Repository: "app", ID: pr.ID, Strategy: gitserver.FastForward, Principal: "alice"}
	_, err = svc.MergePullRequest(ctx, merge)
	wantCode(t, err, service.CodeConflict, "two-reviewers not satisfied")

	_, err = svc.SetPullRequestApproval(ctx, "app", pr.ID, "alice", true)
	wantCode(t, err, service.CodeForbidden, "cannot approve")
	for _, who := range []string{"bob", "dave"} { // dave is not in the pool
		if _, err := svc.SetPullRequestApproval(ctx, "app", pr.ID, who, true); err != nil {
			t.Fatal(err)
		}
	}
	_, err = svc.MergePullRequest(ctx, merge)
	wantCode(t, err, service.CodeConflict, "not satisfied")
	// policy/approver counts tokens of the ready-made policy: a token cannot
	// pass its own document off as it (and inPool ignores documents anyway).
	admin, _ := iam.ReadyMade("admin")
	if _, _, err := svc.CreateToken(ctx, service.TokenRequest{Name: "mallory", Policy: "approver",
		Document: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sluice:*","Resource":"*"}]}`), Holder: admin}); err == nil {
		t.Fatal("a token's policy document named approver was taken")
	}
	got, err := svc.SetPullRequestApproval(ctx, "app", pr.ID, "carol", true)
	if err != nil || !got.Rules[0].Satisfied {
		t.Fatalf("after bob and carol: rules = %+v, %v; want satisfied", got.Rules, err)
	}
	// Carol takes hers back; then gives it again, and a push makes both stale.
	if got, _ := svc.SetPullRequestApproval(ctx, "app", pr.ID, "carol", false); got.Rules[0].Satisfied {
		t.Fatal("still satisfied after carol revoked")
	}
	svc.SetPullRequestApproval(ctx, "app", pr.ID, "carol", true)
	e.commit("feature", "b.txt", "b\n")
	got, _ = svc.PullRequest(ctx, "app", pr.ID)
	if got.Rules[0].Satisfied || len(got.CurrentApprovals()) != 0 {
		t.Fatalf("after a push: approvals of the new revision = %v, rule %+v", got.CurrentApprovals(), got.Rules[0])
	}
	_, err = svc.MergePullRequest(ctx, merge)
	wantCode(t, err, service.CodeConflict, "not satisfied")

	// An override sets the rule aside.
	if _, err := svc.OverridePullRequestApprovalRules(ctx, "app", pr.ID, "carol", true); err != nil {
		t.Fatal(err)
	}
	merged, err := svc.MergePullRequest(ctx, merge)
	if err != nil {
		t.Fatal(err)
	}
	if !merged.Merged || merged.Status != service.PullRequestClosed || merged.MergedBy != "alice" || merged.Override.Principal != "carol" {
		t.Errorf("merged = %+v", merged)
	}
	if head, _ := e.git.Head(ctx, "app", "main"); head != merged.MergeCommit || head != e.run("rev-parse", "feature") {
		t.Errorf("main = %s, want the feature's tip %s", head, merged.MergeCommit)
	}
	_, err = svc.MergePullRequest(ctx, merge)
	wantCode(t, err, service.CodeConflict, "closed")

	evs, err := svc.Events(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	approvals := map[string]bool{}
	for _, ev := range evs {
		if d, ok := ev.Detail.(service.PullRequestEventDetail); ok && ev.Source == "aws.codecommit" {
			kinds = append(kinds, d.Event)
			if d.Event == "pullRequestApprovalStateChanged" {
				approvals[d.ApprovalStatus] = true
			}
			if d.Event == "pullRequestApprovalRuleOverridden" && d.OverrideStatus != "OVERRIDE" {
				t.Errorf("override event's overrideStatus = %q", d.OverrideStatus)
			}
			if d.Event == "pullRequestMergeStatusUpdated" && (d.IsMerged != "True" || d.MergeOption != "FAST_FORWARD_MERGE") {
				t.Errorf("merge event = %+v", d)
			}
		}
	}
	if !approvals["APPROVE"] || !approvals["REVOKE"] {
		t.Errorf("approval events' approvalStatus = %v, want APPROVE and REVOKE", approvals)
	}
	if len(kinds) == 0 || kinds[0] != "pullRequestCreated" || kinds[len(kinds)-1] != "pullRequestMergeStatusUpdated" {
		t.Errorf("pull request events = %v", kinds)
	}
}

// TestPullRequestMergeConflictAndComments: a conflict is refused naming the
// file and changes nothing; comments on a file need a file of the source.
func TestPullRequestMergeConflictAndComments(t *testing.T) {
	ctx := context.Background()
	e := newPullEnv(t)
	svc := e.svc
	e.commit("main", "a.txt", "a from main\n")
	pr, err := svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "Feature", Source: "feature", Destination: "main", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CommentOnPullRequest(ctx, service.PullCommentRequest{Repository: "app", ID: pr.ID, Content: "why?", FilePath: "nope.txt", Line: 1, Principal: "bob"}); service.ErrorCode(err) != service.CodeInvalid {
		t.Errorf("comment on a missing file: %v", err)
	}
	c, err := svc.CommentOnPullRequest(ctx, service.PullCommentRequest{Repository: "app", ID: pr.ID, Content: "why?", FilePath: "a.txt", Line: 1, Principal: "bob"})
	if err != nil || c.Commit == "" || c.ID != 1 {
		t.Fatalf("comment = %+v, %v", c, err)
	}
	if _, err := svc.CommentOnPullRequest(ctx, service.PullCommentRequest{Repository: "app", ID: pr.ID, Content: "ok", Principal: "alice"}); err != nil {
		t.Fatal(err)
	}
	before, _ := e.git.Head(ctx, "app", "main")
	for _, strategy := range []string{gitserver.Squash, gitserver.ThreeWay} {
		_, err := svc.MergePullRequest(ctx, service.MergePullRequestRequest{Repository: "app", ID: pr.ID, Strategy: strategy, Principal: "alice"})
		wantCode(t, err, service.CodeConflict, "a.txt")
	}
	_, err = svc.MergePullRequest(ctx, service.MergePullRequestRequest{Repository: "app", ID: pr.ID, Strategy: gitserver.FastForward, Principal: "alice"})
	wantCode(t, err, service.CodeInvalid, "fast-forward")
	if after, _ := e.git.Head(ctx, "app", "main"); after != before {
		t.Error("main moved after refused merges")
	}
	got, _ := svc.PullRequest(ctx, "app", pr.ID)
	if got.Status != service.PullRequestOpen || len(got.Comments) != 2 {
		t.Errorf("after refused merges: %+v", got)
	}
	if _, err := svc.PullRequest(ctx, "other", pr.ID); service.ErrorCode(err) != service.CodeNotFound {
		t.Errorf("pull request read through another repository: %v", err)
	}
	title := "Renamed"
	if _, err := svc.UpdatePullRequest(ctx, service.PullRequestUpdate{Repository: "app", ID: pr.ID, Title: &title, Close: true}); err != nil {
		t.Fatal(err)
	}
	list, _ := svc.PullRequests(ctx, service.PullRequestFilter{Repository: "app", Status: service.PullRequestOpen})
	closed, _ := svc.PullRequests(ctx, service.PullRequestFilter{Repository: "app", Status: service.PullRequestClosed, Author: "alice"})
	if len(list) != 0 || len(closed) != 1 || closed[0].Title != "Renamed" || closed[0].Merged {
		t.Errorf("open = %v, closed = %v", list, closed)
	}
}

// TestPullRequestTriggers: a pipeline with a pullRequest filter on the
// destination main starts on OPEN, on a push to the source (UPDATED) and on
// CLOSED, once per source commit; one filtered on another destination does
// not; the pull request lists the executions it started.
func TestPullRequestTriggers(t *testing.T) {
	ctx := context.Background()
	e := newPullEnv(t)
	svc := e.svc
	decl := strings.ReplaceAll(servicetest.HostedPipeline, "RepositoryName: repo", "RepositoryName: app") + `
triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      pullRequest:
        - events: [OPEN, UPDATED, CLOSED]
          branches: {includes: [main]}
`
	servicetest.Apply(t, svc, decl)
	servicetest.Apply(t, svc, strings.ReplaceAll(strings.ReplaceAll(decl, "name: app\n", "name: other\n"), "includes: [main]", "includes: [release]"))
	pr, err := svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "Feature", Source: "feature", Destination: "main", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	first := pr.SourceCommit
	es, _ := svc.Executions(ctx, "app", 0, 10)
	if len(es) != 1 || es[0].TriggerVariables["PullRequestId"] != "1" || es[0].TriggerVariables["PullRequestEvent"] != "OPEN" || es[0].SourceRevisions[0].RevisionID != first {
		t.Fatalf("executions after OPEN = %+v", es)
	}
	if other, _ := svc.Executions(ctx, "other", 0, 10); len(other) != 0 {
		t.Errorf("pipeline filtered on release started: %+v", other)
	}
	// A push to the source branch, handed over as the git server does.
	e.commit("feature", "c.txt", "c\n")
	second := e.run("rev-parse", "feature")
	push := service.Push{ID: "p1", Repository: "app", Principal: "alice", Updates: []service.RefUpdate{{Ref: "refs/heads/feature", Old: first, New: second}}}
	for range 2 { // replayed: nothing starts twice
		if err := svc.HandlePush(ctx, push); err != nil {
			t.Fatal(err)
		}
	}
	es, _ = svc.Executions(ctx, "app", 0, 10)
	if len(es) != 2 || es[0].TriggerVariables["PullRequestEvent"] != "UPDATED" || es[0].TriggerVariables["SourceCommitId"] != second {
		t.Fatalf("executions after a push to the source = %d, newest %+v", len(es), es[0].TriggerVariables)
	}
	if _, err := svc.UpdatePullRequest(ctx, service.PullRequestUpdate{Repository: "app", ID: pr.ID, Close: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.PullRequest(ctx, "app", pr.ID)
	list := svc.PullRequestExecutions(ctx, got)
	if len(list) != 3 || list[0].Pipeline != "app" || list[0].Status == "" {
		t.Errorf("the pull request's executions = %+v, want 3 of app", list)
	}
}

// TestPullRequestFollowsDestinationMergedIn: when the destination is merged
// into the source, the pull request's merge base (whence its commits and
// diff are counted) follows.
func TestPullRequestFollowsDestinationMergedIn(t *testing.T) {
	ctx := context.Background()
	e := newPullEnv(t)
	e.commit("main", "b.txt", "b\n")
	pr, err := e.svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "Feature", Source: "feature", Destination: "main", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	mainTip := e.run("rev-parse", "main")
	if pr.MergeBase == mainTip {
		t.Fatalf("merge base %s is main's tip before main was merged in", pr.MergeBase)
	}
	e.run("checkout", "-q", "feature")
	e.run("merge", "-q", "--no-edit", "main")
	e.run("push", "-q", filepath.Join(e.root, "app.git"), "feature")
	got, err := e.svc.PullRequest(ctx, "app", pr.ID)
	if err != nil || got.MergeBase != mainTip {
		t.Fatalf("merge base = %s, %v; want main's tip %s", got.MergeBase, err, mainTip)
	}
}
