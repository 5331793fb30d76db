package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/githost/giteatest"
)

// TestForkPullRequest through the built binary against a real Gitea: a
// user forks a repository and opens a pull request from the fork; the
// pipelines whose pull-request trigger it matches build the fork's head,
// read from the base repository's refs/pull/N/head (the fork's branch is
// not in the base repository, and the fork's clone URL is never used).
// The attack: the fork's head is code its author controls, so a build of
// it gets no secret — not even the connection's token its role allows —
// unless the pipeline says forkSecrets: true; the source action itself
// still reads through the connection. The same build of a pull request
// within the repository gets the secret.
func TestForkPullRequest(t *testing.T) {
	t.Parallel()
	g := giteatest.Start(t)
	base := g.CreateRepo(t, "upstream", false)
	g.Commit(t, base, "main", "first", map[string]string{"a.txt": "from main\n"})
	forker := g.CreateUser(t, "forker")
	fork := g.Fork(t, base, forker)
	if fork.FullName != "forker/upstream" {
		t.Fatalf("fork %+v", fork)
	}
	head := g.Commit(t, fork, "feature", "fork change", map[string]string{"a.txt": "from the fork\n"})

	s := startServer(t)
	env := cliEnv(s.url, s.token)
	for name, value := range map[string]string{"gitea-token": g.AdminToken, "gitea-hook": giteaHookSecret} {
		if r := runCLIStdin(t, env, value, "secret", "put", name); r.code != 0 {
			t.Fatalf("secret put %s: %s", name, r)
		}
	}
	dir := s.scratch("fork")
	conn := filepath.Join(dir, "gitea.yml")
	writeFile(t, conn, fmt.Sprintf("name: gitea\nkind: gitea\nurl: %s\ntoken: gitea-token\nwebhookSecret: gitea-hook\n", g.URL))
	s.ok("connection", "apply", "-f", conn)
	// The build asks for the connection's own token, which the default
	// role allows (the source action needs it too).
	project := filepath.Join(dir, "project.yml")
	writeFile(t, project, "name: uses-token\nbuildspec: |\n  version: 0.2\n  phases:\n    build:\n      commands:\n"+
		"        - echo \"token of length ${#T}\"\n        - cat a.txt\n"+
		"environmentVariables:\n  - {name: T, value: gitea-token, type: SECRETS_MANAGER}\n")
	s.ok("project", "apply", "-f", project)
	pipe := func(name, extra string) {
		s.applyYAML(name, fmt.Sprintf(`name: %s
pipelineType: V2
executionMode: PARALLEL
%sstages:
  - name: Source
    actions:
      - name: src
        provider: CodeStarSourceConnection
        configuration:
          ConnectionArn: arn:aws:codeconnections:us-east-1:000000000000:connection/gitea
          FullRepositoryId: %s
          BranchName: main
        outputArtifacts: [code]
  - name: Build
    actions:
      - name: show
        provider: Commands
        inputArtifacts: [code]
        commands: ["cat a.txt"]
      - name: build
        provider: CodeBuild
        runOrder: 2
        inputArtifacts: [code]
        configuration: {ProjectName: uses-token}
triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      pullRequest:
        - events: [OPEN, UPDATED]
          branches: {includes: [main]}
commitStatus:
  report: false
`, name, extra, base.FullName))
	}
	pipe("ci", "")
	pipe("trusting", "forkSecrets: true\n")
	g.API(t, http.MethodPost, "/repos/"+base.FullName+"/hooks", map[string]any{
		"type": "gitea", "active": true, "events": []string{"pull_request"},
		"config": map[string]string{"url": s.url + "/webhooks/connections/gitea", "content_type": "json", "secret": giteaHookSecret},
	}, nil)

	var pr struct {
		Number int `json:"number"`
	}
	g.API(t, http.MethodPost, "/repos/"+base.FullName+"/pulls", map[string]any{"title": "From a fork", "head": "forker:feature", "base": "main"}, &pr)

	id := waitExecutionOf(t, s, "ci", head)
	e := s.waitEnd("ci", id, "Failed")
	wantEqual(t, "source", e.actionStatus("src"), "Succeeded")
	wantEqual(t, "fork head read", e.action(t, "src").OutputVariables["CommitId"], head)
	wantContains(t, "trigger", e.Trigger.TriggerDetail, "forker/upstream:feature into main")
	wantContains(t, "the fork's head is built", s.ok("logs", "ci", id, "show"), "from the fork")
	wantContains(t, "the build is refused its secret", e.action(t, "build").Summary,
		"builds pull request #"+strconv.Itoa(pr.Number)+" from fork forker/upstream: its jobs get no secrets or connections", "forkSecrets: true")
	srcLog := s.ok("logs", "ci", id, "src")
	wantContains(t, "source log", srcLog, "refs/pull/"+strconv.Itoa(pr.Number)+"/head")
	if strings.Contains(srcLog, fork.CloneURL) || strings.Contains(srcLog, "forker/upstream.git") {
		t.Errorf("the source read the fork's clone URL:\n%s", srcLog)
	}

	id = waitExecutionOf(t, s, "trusting", head)
	s.waitEnd("trusting", id, "Succeeded")
	wantContains(t, "trusted build log", s.ok("logs", "trusting", id, "build"), fmt.Sprintf("token of length %d", len(g.AdminToken)), "from the fork")

	// A pull request within the repository: the same build gets the
	// secret.
	g.Push(t, base, "origin", "HEAD:refs/heads/topic")
	inside := g.Commit(t, base, "topic", "inside change", map[string]string{"a.txt": "from a branch\n"})
	g.API(t, http.MethodPost, "/repos/"+base.FullName+"/pulls", map[string]any{"title": "Inside", "head": "topic", "base": "main"}, nil)
	id = waitExecutionOf(t, s, "ci", inside)
	s.waitEnd("ci", id, "Succeeded")
	wantContains(t, "inside build log", s.ok("logs", "ci", id, "build"), fmt.Sprintf("token of length %d", len(g.AdminToken)), "from a branch")
	if strings.Contains(s.ok("logs", "ci", id, "build"), g.AdminToken) {
		t.Error("the token is in the build log")
	}
}
