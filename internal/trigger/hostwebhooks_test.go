package trigger_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/githost"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/trigger"
)

const hookSecret = "hook-secret-for-tests"

// connPipeline reads Codertocat/Hello-World through connection gh; its
// triggers are appended.
const connPipeline = `
name: web
pipelineType: V2
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: src
        provider: CodeStarSourceConnection
        configuration:
          ConnectionArn: arn:aws:codeconnections:us-east-1:000000000000:connection/gh
          FullRepositoryId: Codertocat/Hello-World
          BranchName: master
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: make
        provider: Commands
        inputArtifacts: [code]
        commands: [make]
`

func (f *fixture) connection(kind string) {
	f.t.Helper()
	c := &connection.Connection{Name: "gh", Kind: kind, Token: "gh-token", WebhookSecret: "gh-hook"}
	if kind == connection.KindGitea {
		c.URL = "http://127.0.0.1:1"
	}
	if _, err := f.svc.PutConnection(f.ctx, c); err != nil {
		f.t.Fatal(err)
	}
	if err := f.svc.PutSecret(f.ctx, "gh-hook", []byte(hookSecret)); err != nil {
		f.t.Fatal(err)
	}
}

// deliver sends testdata file (from internal/githost) as host event event,
// signed with secret.
func (f *fixture) deliver(h *trigger.ConnectionWebhooks, host githost.Host, event, file string, edit func(map[string]any), secret string) (trigger.HostWebhookResult, error) {
	f.t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "githost", "testdata", file))
	if err != nil {
		f.t.Fatal(err)
	}
	if edit != nil {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			f.t.Fatal(err)
		}
		edit(doc)
		raw, _ = json.Marshal(doc)
	}
	hdr := http.Header{}
	switch host {
	case githost.GitHub:
		hdr.Set("X-GitHub-Event", event)
	case githost.Gitea:
		hdr.Set("X-Gitea-Event", event)
	case githost.GitLab:
		hdr.Set("X-Gitlab-Event", event)
	case githost.Bitbucket:
		hdr.Set("X-Event-Key", event)
	}
	if secret != "" {
		name, value := githost.Sign(host, raw, []byte(secret))
		hdr.Set(name, value)
	}
	return h.Handle(f.ctx, "gh", hdr, raw)
}

// githubPush is github-push.json made a push to Codertocat/Hello-World's
// branch.
func githubPush(branch, after string, files ...string) func(map[string]any) {
	return func(doc map[string]any) {
		doc["ref"] = "refs/heads/" + branch
		doc["after"] = after
		doc["repository"].(map[string]any)["full_name"] = "Codertocat/Hello-World"
		if files != nil {
			doc["commits"] = []any{map[string]any{"id": after, "message": "m", "added": files}}
		}
	}
}

func TestConnectionWebhookPushStartsItsPipelines(t *testing.T) {
	f := newFixture(t)
	f.connection(connection.KindGitHub)
	f.apply(connPipeline)
	// Another pipeline on another repository of the connection, and one
	// with change detection off: neither starts.
	f.apply(strings.NewReplacer("name: web", "name: other", "Codertocat/Hello-World", "Codertocat/Other").Replace(connPipeline))
	f.apply(strings.NewReplacer("name: web", "name: quiet", "BranchName: master", "BranchName: master\n          DetectChanges: \"false\"").Replace(connPipeline))
	h := trigger.NewConnectionWebhooks(f.svc, nil)

	res, err := f.deliver(h, githost.GitHub, "push", "github-push.json", githubPush("master", c1), hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Started) != 1 || res.Started[0].Pipeline != "web" {
		t.Fatalf("started %+v, reasons %v", res.Started, res.Reasons)
	}
	es := f.executions("web")
	if len(es) != 1 || es[0].SourceRevisions[0].RevisionID != c1 || es[0].Trigger.Type != trigger.TriggerWebhookV2 ||
		es[0].TriggerVariables["BranchName"] != "master" || es[0].TriggerVariables["FullRepositoryName"] != "Codertocat/Hello-World" {
		t.Fatalf("execution %+v", es[0])
	}
	if n := len(f.executions("other")) + len(f.executions("quiet")); n != 0 {
		t.Errorf("%d executions of pipelines that do not follow the push", n)
	}
	// A pull request starts nothing of a pipeline without pull-request
	// triggers, and leaves its last-trigger note (the push) alone.
	res, err = f.deliver(h, githost.GitHub, "pull_request", "github-pull-request-opened.json", openPR("opened", c2), hookSecret)
	if err != nil || len(res.Started) != 0 {
		t.Fatalf("pull request: %+v, %v", res, err)
	}
	if note, _ := f.svc.LastTrigger(f.ctx, "web"); note == nil || !note.Started {
		t.Errorf("a pull request overwrote a push-only pipeline's note: %+v", note)
	}

	// A push to another branch starts nothing and says why.
	res, err = f.deliver(h, githost.GitHub, "push", "github-push.json", githubPush("dev", c2), hookSecret)
	if err != nil || len(res.Started) != 0 || !strings.Contains(strings.Join(res.Reasons, ";"), "follows branch master") {
		t.Fatalf("push to dev: %+v, %v", res, err)
	}
	// A deleted branch starts nothing.
	res, err = f.deliver(h, githost.GitHub, "push", "github-push.json", func(doc map[string]any) {
		githubPush("master", strings.Repeat("0", 40))(doc)
		doc["deleted"] = true
	}, hookSecret)
	if err != nil || len(res.Started) != 0 || !strings.Contains(strings.Join(res.Reasons, ";"), "was deleted") {
		t.Fatalf("deleted branch: %+v, %v", res, err)
	}
	note, _ := f.svc.LastTrigger(f.ctx, "web")
	if note == nil || note.Started || !strings.Contains(note.Reason, "was deleted") {
		t.Errorf("trigger note after a deleted branch: %+v", note)
	}
	if n := len(f.executions("web")); n != 1 {
		t.Errorf("%d executions after pushes that start nothing", n)
	}
}

func TestConnectionWebhookRefusals(t *testing.T) {
	f := newFixture(t)
	f.connection(connection.KindGitHub)
	f.apply(connPipeline)
	h := trigger.NewConnectionWebhooks(f.svc, nil)

	for _, c := range []struct {
		name, secret string
		want         string
	}{
		{"wrong signature", "not the secret", "X-Hub-Signature-256 does not match the body"},
		{"no signature", "", "no X-Hub-Signature-256 header"},
	} {
		_, err := f.deliver(h, githost.GitHub, "push", "github-push.json", githubPush("master", c1), c.secret)
		if service.ErrorCode(err) != service.CodeUnauthorized || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want unauthorized: %s", c.name, err, c.want)
		}
	}
	// Another host's signature of the right secret does not pass.
	if _, err := f.deliver(h, githost.Gitea, "push", "github-push.json", githubPush("master", c1), hookSecret); service.ErrorCode(err) != service.CodeUnauthorized {
		t.Errorf("a Gitea-signed delivery to a github connection: %v", err)
	}
	if _, err := h.Handle(f.ctx, "nope", http.Header{}, []byte(`{}`)); service.ErrorCode(err) != service.CodeNotFound {
		t.Errorf("unknown connection: %v", err)
	}
	if n := len(f.executions("web")); n != 0 {
		t.Errorf("refused deliveries started %d executions", n)
	}

	// A connection without a webhookSecret refuses every delivery.
	if _, err := f.svc.PutConnection(f.ctx, &connection.Connection{Name: "gh", Kind: connection.KindGitHub, Token: "gh-token"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.deliver(h, githost.GitHub, "push", "github-push.json", githubPush("master", c1), hookSecret); service.ErrorCode(err) != service.CodeUnauthorized ||
		!strings.Contains(err.Error(), "no webhookSecret") {
		t.Errorf("no webhookSecret: %v", err)
	}
}

func TestConnectionWebhookPushFilters(t *testing.T) {
	f := newFixture(t)
	f.connection(connection.KindGitHub)
	f.apply(connPipeline + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      push:
        - branches: {includes: ["release/*"]}
          filePaths: {includes: ["src/**"]}
        - tags: {includes: ["v*"]}
`)
	h := trigger.NewConnectionWebhooks(f.svc, nil)
	for _, c := range []struct {
		name  string
		edit  func(map[string]any)
		start bool
	}{
		{"the action's branch, filtered out", githubPush("master", c1, "src/a.go"), false},
		{"a release branch, files in src", githubPush("release/1", c1, "src/a.go"), true},
		// (its source job reads release/1: checked below)
		{"a release branch, files elsewhere", githubPush("release/1", c2, "docs/a.md"), false},
		{"a tag", func(doc map[string]any) {
			githubPush("x", c2)(doc)
			doc["ref"] = "refs/tags/v1.0"
		}, true},
	} {
		before := len(f.executions("web"))
		res, err := f.deliver(h, githost.GitHub, "push", "github-push.json", c.edit, hookSecret)
		if err != nil {
			t.Fatal(err)
		}
		if started := len(f.executions("web")) > before; started != c.start {
			t.Errorf("%s: started = %v, want %v (%v)", c.name, started, c.start, res.Reasons)
		}
	}
	j, err := f.svc.ClaimJob(f.ctx, "w", []string{"CodeStarSourceConnection"}, 0)
	if err != nil || j == nil || j.Job.Configuration["BranchName"] != "release/1" || j.Job.Revision != c1 {
		t.Errorf("the release push's source job: %+v, %v", j, err)
	}
}

// openPR is github-pull-request-opened.json with its action and head set.
func openPR(action, head string) func(map[string]any) {
	return func(doc map[string]any) {
		doc["action"] = action
		pr := doc["pull_request"].(map[string]any)
		pr["head"].(map[string]any)["sha"] = head
	}
}

func TestPullRequestTriggerStartsAndSupersedes(t *testing.T) {
	f := newFixture(t)
	f.connection(connection.KindGitHub)
	f.apply(connPipeline + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      pullRequest:
        - events: [OPEN, UPDATED]
          branches: {includes: [master]}
`)
	h := trigger.NewConnectionWebhooks(f.svc, nil)

	res, err := f.deliver(h, githost.GitHub, "pull_request", "github-pull-request-opened.json", openPR("opened", c1), hookSecret)
	if err != nil || len(res.Started) != 1 {
		t.Fatalf("opened: %+v, %v", res, err)
	}
	first := f.executions("web")[0]
	v := first.TriggerVariables
	if first.SourceRevisions[0].RevisionID != c1 || v["PullRequestId"] != "2" || v["SourceBranch"] != "changes" ||
		v["DestinationBranch"] != "master" || v["PullRequestEvent"] != "OPEN" || v["SourceCommitId"] != c1 {
		t.Fatalf("execution of the opened pull request: %+v", first)
	}
	// The source job reads the pull request's source branch, where its
	// head is.
	j, err := f.svc.ClaimJob(f.ctx, "w", []string{"CodeStarSourceConnection"}, 0)
	if err != nil || j == nil || j.Job.Configuration["BranchName"] != "changes" || j.Job.Revision != c1 {
		t.Fatalf("source job: %+v, %v", j, err)
	}
	// The same head again (a redelivery, or UPDATED without new commits)
	// starts nothing: one execution per head.
	res, err = f.deliver(h, githost.GitHub, "pull_request", "github-pull-request-opened.json", openPR("synchronize", c1), hookSecret)
	if err != nil || len(res.Started) != 0 {
		t.Fatalf("same head: %+v, %v", res, err)
	}
	// A push into the pull request's branch: a new head, a new execution,
	// and the first one, still running, is stopped.
	res, err = f.deliver(h, githost.GitHub, "pull_request", "github-pull-request-opened.json", openPR("synchronize", c2), hookSecret)
	if err != nil || len(res.Started) != 1 || len(res.Superseded) != 1 || res.Superseded[0].ExecutionID != first.ID {
		t.Fatalf("new head: %+v, %v", res, err)
	}
	old, err := f.svc.Execution(f.ctx, "web", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Status != engine.ExecutionStopping && old.Status != engine.ExecutionStopped {
		t.Errorf("the earlier head's execution is %s, want stopping or stopped", old.Status)
	}
	if !strings.Contains(old.StopReason, "superseded: pull request #2 moved to 222222222222") {
		t.Errorf("stop reason %q", old.StopReason)
	}
	// A labelled pull request, a pull request into another branch and a
	// closed one (CLOSED is not among the filter's events) start nothing.
	for _, c := range []struct {
		file string
		edit func(map[string]any)
	}{
		{"github-pull-request-labeled.json", nil},
		{"github-pull-request-opened.json", func(doc map[string]any) {
			openPR("opened", strings.Repeat("3", 40))(doc)
			doc["pull_request"].(map[string]any)["base"].(map[string]any)["ref"] = "dev"
		}},
		{"github-pull-request-closed.json", nil},
	} {
		res, err := f.deliver(h, githost.GitHub, "pull_request", c.file, c.edit, hookSecret)
		if err != nil || len(res.Started) != 0 || len(res.Reasons) == 0 {
			t.Errorf("%s: %+v, %v", c.file, res, err)
		}
	}
	if n := len(f.executions("web")); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}
	// Pushes do not start a pipeline whose trigger has only pull-request
	// filters.
	res, err = f.deliver(h, githost.GitHub, "push", "github-push.json", githubPush("master", strings.Repeat("4", 40)), hookSecret)
	if err != nil || len(res.Started) != 0 {
		t.Errorf("push: %+v, %v", res, err)
	}
}

type fakeFiles struct {
	files []string
	calls int
}

func (f *fakeFiles) ResolveCommit(_ context.Context, _ *connection.Connection, _, rev string) (string, error) {
	return rev + strings.Repeat("0", 40-len(rev)), nil
}

func (f *fakeFiles) PullRequestFiles(_ context.Context, _ *connection.Connection, _ string, _ int) ([]string, error) {
	f.calls++
	return f.files, nil
}

func TestPullRequestFilePathFilter(t *testing.T) {
	f := newFixture(t)
	f.connection(connection.KindGitHub)
	f.apply(connPipeline + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      pullRequest:
        - branches: {includes: ["**"]}
          filePaths: {includes: ["src/**"]}
`)
	files := &fakeFiles{files: []string{"docs/README.md"}}
	h := trigger.NewConnectionWebhooks(f.svc, files)
	if res, err := f.deliver(h, githost.GitHub, "pull_request", "github-pull-request-opened.json", openPR("opened", c1), hookSecret); err != nil || len(res.Started) != 0 {
		t.Fatalf("docs only: %+v, %v", res, err)
	}
	files.files = []string{"docs/README.md", "src/main.go"}
	if res, err := f.deliver(h, githost.GitHub, "pull_request", "github-pull-request-opened.json", openPR("synchronize", c2), hookSecret); err != nil || len(res.Started) != 1 {
		t.Fatalf("src touched: %+v, %v", res, err)
	}
	if files.calls != 2 {
		t.Errorf("files listed %d times, want once per delivery", files.calls)
	}
}

func TestConnectionWebhookOtherHosts(t *testing.T) {
	for _, c := range []struct {
		kind, event, file string
		host              githost.Host
		edit              func(map[string]any)
		want              int
	}{
		{connection.KindGitea, "push", "gitea-push.json", githost.Gitea, func(doc map[string]any) {
			doc["ref"] = "refs/heads/master"
			doc["repository"].(map[string]any)["full_name"] = "Codertocat/Hello-World"
		}, 1},
		{connection.KindGitLab, "Push Hook", "gitlab-push.json", githost.GitLab, func(doc map[string]any) {
			doc["ref"] = "refs/heads/master"
			doc["project"].(map[string]any)["path_with_namespace"] = "Codertocat/Hello-World"
		}, 1},
		// Bitbucket's push updates main and deletes old-feature; the
		// pipeline follows master, so it is edited to main.
		{connection.KindBitbucket, "repo:push", "bitbucket-push.json", githost.Bitbucket, func(doc map[string]any) {
			doc["repository"].(map[string]any)["full_name"] = "Codertocat/Hello-World"
		}, 1},
	} {
		t.Run(c.kind, func(t *testing.T) {
			f := newFixture(t)
			f.connection(c.kind)
			f.apply(strings.Replace(connPipeline, "BranchName: master", "BranchName: "+map[bool]string{true: "main", false: "master"}[c.host == githost.Bitbucket], 1))
			h := trigger.NewConnectionWebhooks(f.svc, nil)
			res, err := f.deliver(h, c.host, c.event, c.file, c.edit, hookSecret)
			if err != nil || len(res.Started) != c.want {
				t.Fatalf("%+v, %v", res, err)
			}
			if _, err := f.deliver(h, c.host, c.event, c.file, c.edit, "wrong"); service.ErrorCode(err) != service.CodeUnauthorized {
				t.Errorf("wrong secret: %v", err)
			}
		})
	}
}

// Bitbucket's pull-request deliveries abbreviate commits: the head is
// resolved through the host before the pipeline is pinned to it.
func TestBitbucketPullRequestHeadResolved(t *testing.T) {
	f := newFixture(t)
	f.connection(connection.KindBitbucket)
	f.apply(strings.Replace(connPipeline, "Codertocat/Hello-World", "team_name/repo_name", 1) + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      pullRequest:
        - events: [OPEN]
`)
	res, err := f.deliver(trigger.NewConnectionWebhooks(f.svc, nil), githost.Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created.json", nil, hookSecret)
	if err != nil || len(res.Started) != 0 || !strings.Contains(strings.Join(res.Reasons, ";"), "not a full commit id") {
		t.Fatalf("without the host's API: %+v, %v", res, err)
	}
	res, err = f.deliver(trigger.NewConnectionWebhooks(f.svc, &fakeFiles{}), githost.Bitbucket, "pullrequest:created", "bitbucket-pullrequest-created.json", nil, hookSecret)
	if err != nil || len(res.Started) != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	e := f.executions("web")[0]
	if want := "d3022fc0ca3d" + strings.Repeat("0", 28); e.SourceRevisions[0].RevisionID != want || e.TriggerVariables["PullRequestId"] != "12" {
		t.Errorf("execution %+v", e)
	}
}

// Attack: whoever holds another connection's webhook secret (another
// team's host, or a stranger's own Gitea) signs a delivery naming this
// connection's repository: it starts nothing of this connection's. A
// replayed delivery starts nothing twice.
func TestConnectionWebhookOtherConnectionAndReplay(t *testing.T) {
	f := newFixture(t)
	f.connection(connection.KindGitHub)
	if _, err := f.svc.PutConnection(f.ctx, &connection.Connection{Name: "theirs", Kind: connection.KindGitHub, Token: "t", WebhookSecret: "their-hook"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PutSecret(f.ctx, "their-hook", []byte("their secret")); err != nil {
		t.Fatal(err)
	}
	f.apply(connPipeline)
	h := trigger.NewConnectionWebhooks(f.svc, nil)
	raw, _ := json.Marshal(map[string]any{"ref": "refs/heads/master", "after": c1, "before": c2,
		"repository": map[string]any{"full_name": "Codertocat/Hello-World"}})
	hdr := http.Header{"X-Github-Event": {"push"}, "X-Github-Delivery": {"d-42"}}
	name, value := githost.Sign(githost.GitHub, raw, []byte("their secret"))
	hdr.Set(name, value)
	res, err := h.Handle(f.ctx, "theirs", hdr, raw)
	if err != nil || len(res.Started) != 0 || len(f.executions("web")) != 0 {
		t.Fatalf("another connection's delivery: %+v, %v", res, err)
	}
	// The same delivery to this connection with its secret starts once,
	// however often it is replayed.
	name, value = githost.Sign(githost.GitHub, raw, []byte(hookSecret))
	hdr.Set(name, value)
	for range 3 {
		if _, err := h.Handle(f.ctx, "gh", hdr, raw); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.executions("web")); n != 1 {
		t.Errorf("a replayed delivery started %d executions", n)
	}
}

// The pull request reaches the build's commands as #{trigger.NAME}, and an
// execution another trigger started reads them as empty.
func TestTriggerVariablesInCommands(t *testing.T) {
	f := newFixture(t)
	f.connection(connection.KindGitHub)
	f.apply(strings.Replace(connPipeline, "commands: [make]", `commands: ["echo pr=#{trigger.PullRequestId} from=#{trigger.SourceBranch}"]`, 1) + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      pullRequest:
        - events: [OPEN]
`)
	h := trigger.NewConnectionWebhooks(f.svc, nil)
	if res, err := f.deliver(h, githost.GitHub, "pull_request", "github-pull-request-opened.json", openPR("opened", c1), hookSecret); err != nil || len(res.Started) != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	if _, err := f.svc.StartExecution(f.ctx, service.StartRequest{Pipeline: "web", SourceRevisions: map[string]string{"src": c2}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for range 2 {
		j, err := f.svc.ClaimJob(f.ctx, "w", []string{"CodeStarSourceConnection"}, 0)
		if err != nil || j == nil {
			t.Fatalf("claim source: %v %v", j, err)
		}
		if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Succeeded: true}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		j, err := f.svc.ClaimJob(f.ctx, "w", []string{"Commands"}, 0)
		if err != nil || j == nil {
			t.Fatalf("claim build: %v %v", j, err)
		}
		got[j.Job.Revision+j.Job.ExecutionID] = j.Job.Commands[0]
	}
	var cmds []string
	for _, c := range got {
		cmds = append(cmds, c)
	}
	slices.Sort(cmds)
	if want := []string{"echo pr= from=", "echo pr=2 from=changes"}; !slices.Equal(cmds, want) {
		t.Errorf("commands %q, want %q", cmds, want)
	}
}
