package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/githost/giteatest"
)

// TestConnectionSource drives a CodeStarSourceConnection source through the
// built binary against a real Gitea: the connection resolves from an
// imported ConnectionArn (its arns), the source clones the private
// repository with the connection's token as CODEBUILD_CLONE_REF and a
// Commands step runs git log in the clone; variables and the revision are
// CodePipeline's; a pinned start builds an older commit; polling starts the
// pipeline on a new commit; an unknown ARN, a deleted branch and a token
// that cannot read the repository each fail the source action with a clear
// error and nothing after it runs. The token never appears in a log, the
// API's output or the server's log.
func TestConnectionSource(t *testing.T) {
	t.Parallel()
	g := giteatest.Start(t)
	repo := g.CreateRepo(t, "app", true)
	c1 := g.Commit(t, repo, "main", "first", map[string]string{"a.txt": "version 1\n"})
	c2 := g.Commit(t, repo, "main", "second", map[string]string{"a.txt": "version 2\n"})
	outsider := g.CreateUser(t, "outsider")

	s := startServer(t, "--poll-interval", pollInterval)
	for name, value := range map[string]string{"gitea-token": g.AdminToken, "outsider-token": outsider} {
		if r := runCLIStdin(t, cliEnv(s.url, s.token), value, "secret", "put", name); r.code != 0 {
			t.Fatalf("secret put: %s", r)
		}
	}
	const imported = "arn:aws:codestar-connections:us-east-1:123456789012:connection/8d2b7d8e-1111-2222-3333-444455556666"
	dir := s.scratch("hostsource")
	conn := filepath.Join(dir, "gitea.yml")
	writeFile(t, conn, "name: gitea\nkind: gitea\nurl: "+g.URL+"\ntoken: gitea-token\narns:\n  - "+imported+"\n")
	s.ok("connection", "apply", "-f", conn)
	writeFile(t, conn, "name: outsider\nkind: gitea\nurl: "+g.URL+"\ntoken: outsider-token\n")
	s.ok("connection", "apply", "-f", conn)

	role := ""
	pipe := func(name, arn, branch, extra string) {
		s.applyYAML(name, "name: "+name+"\nexecutionMode: PARALLEL\n"+role+"stages:\n  - name: Source\n    actions:\n      - name: src\n"+
			"        actionTypeId: {category: Source, owner: AWS, provider: CodeStarSourceConnection, version: '1'}\n"+
			"        namespace: SourceVariables\n        outputArtifacts: [code]\n"+
			"        configuration:\n          ConnectionArn: "+arn+"\n          FullRepositoryId: "+repo.FullName+"\n"+
			"          BranchName: "+branch+"\n          OutputArtifactFormat: CODEBUILD_CLONE_REF\n"+extra+
			"  - name: Build\n    actions:\n      - name: show\n        provider: Commands\n        inputArtifacts: [code]\n"+
			"        commands:\n          - git log --format='log %H %s'\n          - cat a.txt\n"+
			"          - 'echo \"commit #{SourceVariables.CommitId} of #{SourceVariables.FullRepositoryName} on #{SourceVariables.ProviderType}\"'\n")
	}
	pipe("app", imported, "main", "          DetectChanges: 'false'\n")
	id := s.start("app")
	e := s.waitEnd("app", id, "Succeeded")
	wantRevision(t, e, "src", c2, "second")
	vars := e.action(t, "src").OutputVariables
	wantEqual(t, "CommitId", vars["CommitId"], c2)
	wantEqual(t, "ConnectionArn", vars["ConnectionArn"], imported)
	wantEqual(t, "BranchName", vars["BranchName"], "main")
	log := s.ok("logs", "app", id, "show")
	wantContains(t, "show log", log, "log "+c2+" second", "log "+c1+" first", "version 2",
		"commit "+c2+" of "+repo.FullName+" on Gitea")

	// A CodeBuild action gets the clone, .git included, as
	// CODEBUILD_SRC_DIR, and the commit as CODEBUILD_RESOLVED_SOURCE_VERSION.
	project := filepath.Join(dir, "project.yml")
	writeFile(t, project, "name: from-clone\nbuildspec: |\n  version: 0.2\n  phases:\n    build:\n      commands:\n"+
		"        - cd \"$CODEBUILD_SRC_DIR\" && echo \"head $(git rev-parse HEAD) on $(git rev-parse --abbrev-ref HEAD)\"\n"+
		"        - echo \"resolved $CODEBUILD_RESOLVED_SOURCE_VERSION\"\n"+
		"        - git -C \"$CODEBUILD_SRC_DIR\" log --format='built %s' -2\n")
	s.ok("project", "apply", "-f", project)
	s.applyYAML("built", "name: built\nstages:\n  - name: Source\n    actions:\n      - name: src\n"+
		"        actionTypeId: {category: Source, owner: AWS, provider: CodeConnections, version: '1'}\n        outputArtifacts: [code]\n"+
		"        configuration: {ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/gitea', FullRepositoryId: "+repo.FullName+
		", BranchName: main, OutputArtifactFormat: CODEBUILD_CLONE_REF, DetectChanges: 'false'}\n"+
		"  - name: Build\n    actions:\n      - name: build\n        provider: CodeBuild\n        inputArtifacts: [code]\n"+
		"        configuration: {ProjectName: from-clone}\n")
	built := s.start("built")
	s.waitEnd("built", built, "Succeeded")
	wantContains(t, "build log", s.ok("logs", "built", built, "build"), "head "+c2+" on main", "resolved "+c2, "built second", "built first")

	// A pinned start builds the older commit.
	pinned := strings.TrimSpace(s.ok("start", "app", "--source-revision", "src="+c1))
	e = s.waitEnd("app", pinned, "Succeeded")
	wantRevision(t, e, "src", c1, "first")
	wantContains(t, "pinned show log", s.ok("logs", "app", pinned, "show"), "version 1", "log "+c1+" first")

	// Refusals: each fails the source action and runs nothing after it.
	refused := map[string]string{
		"unknown": "ConnectionArn arn:aws:codeconnections:us-east-1:000000000000:connection/nobody names no connection: add it to the arns: of a git host connection",
		"deleted": "branch gone not found in repository " + repo.FullName,
		"blind":   "repository " + repo.FullName + " not found, or the token of connection outsider may not read it",
	}
	g.Commit(t, repo, "gone", "doomed", map[string]string{"a.txt": "x\n"})
	g.DeleteBranch(t, repo, "gone")
	pipe("unknown", "arn:aws:codeconnections:us-east-1:000000000000:connection/nobody", "main", "          DetectChanges: 'false'\n")
	pipe("deleted", imported, "gone", "          DetectChanges: 'false'\n")
	pipe("blind", "arn:aws:codeconnections:us-east-1:000000000000:connection/outsider", "main", "          DetectChanges: 'false'\n")
	// Attack: a pipeline author whose role may not read the connection's
	// token names the connection anyway; the worker is refused the token.
	policy := filepath.Join(dir, "limited.json")
	writeFile(t, policy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":"secret/other"}]}`)
	s.ok("policy", "apply", "limited", "-f", policy)
	role = "role: limited\n"
	pipe("sneaky", imported, "main", "          DetectChanges: 'false'\n")
	role = ""
	refused["sneaky"] = "connection gitea: role limited of pipeline sneaky does not allow sluice:GetSecretValue on secret/gitea-token"
	for name, want := range refused {
		id := s.start(name)
		e := s.waitEnd(name, id, "Failed")
		wantContains(t, name+" summary", e.action(t, "src").Summary, want)
		if st := e.actionStatus("show"); st != "" && st != "NotStarted" {
			t.Errorf("%s: show ran (%s) after the source failed", name, st)
		}
	}

	// Polling: the first look records the head; a new commit starts one
	// execution at it.
	s.apply("testdata/poll-canary.yml")
	pipe("polled", imported, "main", "")
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 0 {
		t.Fatalf("executions after the first poll = %+v, want none", es)
	}
	c3 := g.Commit(t, repo, "main", "third", map[string]string{"a.txt": "version 3\n"})
	note := s.nextTrigger("polled", nil)
	e = s.wantStarted("polled", note, 1, "Succeeded")
	wantEqual(t, "polled trigger", e.Trigger.TriggerType, "PollForSourceChanges")
	wantContains(t, "polled trigger detail", e.Trigger.TriggerDetail, c3[:12], "branch main of "+repo.FullName)
	wantRevision(t, e, "src", c3, "third")
	s.pollRounds()
	if es := s.executions("polled"); len(es) != 1 {
		t.Fatalf("executions after more polls = %d, want one", len(es))
	}

	// The token is nowhere a user or the operator can read it.
	var shown strings.Builder
	for _, name := range []string{"app", "built", "unknown", "deleted", "blind", "sneaky", "polled"} {
		for _, e := range s.executions(name) {
			shown.WriteString(s.ok("execution", "get", name, e.PipelineExecutionID, "-o", "json"))
			for _, a := range []string{"src", "show", "build"} {
				shown.WriteString(s.cli("logs", name, e.PipelineExecutionID, a).stdout)
			}
		}
	}
	shown.WriteString(s.ok("connection", "list", "-o", "json"))
	shown.WriteString(s.ok("connection", "get", "gitea", "-o", "json"))
	for i := 1; i <= s.runs; i++ {
		raw, _ := os.ReadFile(filepath.Join(s.base, fmt.Sprintf("server-%d.log", i)))
		shown.Write(raw)
	}
	for _, token := range []string{g.AdminToken, outsider} {
		if strings.Contains(shown.String(), token) {
			t.Errorf("a token appears in logs, API output or the server's log")
		}
	}
	if !strings.Contains(shown.String(), c2) {
		t.Errorf("the output searched for tokens holds nothing of the executions")
	}
}
