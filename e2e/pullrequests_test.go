package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// prView is what `sluice pr get -o json` prints, in part.
type prView struct {
	ID           int64    `json:"pullRequestId"`
	Status       string   `json:"pullRequestStatus"`
	Merged       bool     `json:"isMerged"`
	MergeCommit  string   `json:"mergeCommitId"`
	Approved     []string `json:"approvedBy"`
	OverriddenBy string   `json:"overriddenBy"`
	Commits      []struct {
		ID string `json:"commitId"`
	} `json:"commits"`
	Rules []struct {
		Name      string `json:"approvalRuleName"`
		Satisfied bool   `json:"satisfied"`
	} `json:"approvalRules"`
	Comments []struct {
		FilePath string `json:"filePath"`
		Line     int    `json:"filePosition"`
	} `json:"comments"`
	Pipelines []struct {
		Pipeline string `json:"pipelineName"`
	} `json:"pipelines"`
}

// TestPullRequests through the real binary: a template requiring an
// approver's approval binds main; a developer opens a pull request, cannot
// approve their own, cannot merge before the rule is satisfied nor override
// it (a permission of its own); an approver's approval satisfies it; a
// conflicting request is refused naming the file; a squash merge lands on
// main and starts the pipeline following main; the pull request shows the
// pipelines its pullRequest trigger started. A viewer can read but not
// approve.
func TestPullRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.ok("repo", "create", "app")
	dev := strings.TrimSpace(s.ok("token", "create", "dev", "--policy", "operator"))
	rev := strings.TrimSpace(s.ok("token", "create", "rev", "--policy", "approver"))
	look := strings.TrimSpace(s.ok("token", "create", "look", "--policy", "viewer"))
	as := func(token string, args ...string) result { return runCLI(t, cliEnv(s.url, token), args...) }

	dir := s.scratch("prs")
	rule := filepath.Join(dir, "rule.json")
	writeFile(t, rule, `{"Version":"2018-11-08","DestinationReferences":["refs/heads/main"],"Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1,"ApprovalPoolMembers":["policy/approver"]}]}`)
	s.ok("pr", "template", "create", "reviewed", "-f", rule)
	s.ok("pr", "template", "associate", "reviewed", "app")
	ci := filepath.Join(dir, "ci.yml")
	writeFile(t, ci, `name: ci
executionMode: PARALLEL
pipelineType: V2
stages:
  - name: Source
    actions:
      - name: src
        provider: CodeCommit
        configuration: {RepositoryName: app, BranchName: main}
        outputArtifacts: [code]
  - name: Check
    actions:
      - name: check
        provider: Noop
        inputArtifacts: [code]
triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: src
      push:
        - branches: {includes: [main]}
      pullRequest:
        - events: [OPEN, UPDATED]
          branches: {includes: [main]}
`)
	s.apply(ci)

	g := newGit(t, s)
	work := filepath.Join(dir, "work")
	g.initRepo(work)
	g.run(work, "remote", "add", "origin", s.gitURL("app"))
	g.commit(work, "base", map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	g.run(work, "push", "-q", "origin", "main")
	g.run(work, "checkout", "-q", "-b", "feature")
	g.commit(work, "feature", map[string]string{"a.txt": "a from feature\n"})
	g.run(work, "push", "-q", "origin", "feature")
	g.run(work, "checkout", "-q", "-b", "clash", "main")
	g.commit(work, "clash", map[string]string{"b.txt": "b from clash\n"})
	g.run(work, "push", "-q", "origin", "clash")
	g.run(work, "checkout", "-q", "main")
	g.commit(work, "main moves", map[string]string{"b.txt": "b from main\n"})
	g.run(work, "push", "-q", "origin", "main")

	out := as(dev, "pr", "create", "app", "--source", "feature", "--destination", "main", "--title", "Feature")
	if out.code != 0 {
		t.Fatal(out)
	}
	wantContains(t, "pr create", out.stdout, "pull request 1 opened", "rule reviewed (template reviewed): not satisfied")
	if r := as(dev, "pr", "approve", "app", "1"); r.code == 0 || !strings.Contains(r.stderr, "cannot approve") {
		t.Errorf("author approves own: %s", r)
	}
	if r := as(look, "pr", "approve", "app", "1"); r.code == 0 || !strings.Contains(r.stderr, "not allowed sluice:UpdatePullRequestApprovalState on repository/app") {
		t.Errorf("viewer approves: %s", r)
	}
	if r := as(dev, "pr", "merge", "app", "1", "--strategy", "squash"); r.code == 0 || !strings.Contains(r.stderr, "reviewed not satisfied") {
		t.Errorf("merge before approval: %s", r)
	}
	if r := as(dev, "pr", "override", "app", "1"); r.code == 0 || !strings.Contains(r.stderr, "not allowed sluice:OverridePullRequestApprovalRules") {
		t.Errorf("developer overrides: %s", r)
	}
	if r := as(rev, "pr", "comment", "app", "1", "-m", "why this line?", "--file", "a.txt", "--line", "1"); r.code != 0 {
		t.Fatal(r)
	}
	if r := as(rev, "pr", "approve", "app", "1"); r.code != 0 || !strings.Contains(r.stdout, "rule reviewed (template reviewed): satisfied") {
		t.Fatalf("approve: %s", r)
	}
	var pr prView
	s.json(&pr, "pr", "get", "app", "1")
	if len(pr.Approved) != 1 || pr.Approved[0] != "rev" || len(pr.Commits) != 1 || len(pr.Comments) != 1 || pr.Comments[0].FilePath != "a.txt" {
		t.Errorf("pr get = %+v", pr)
	}
	if len(pr.Pipelines) != 1 || pr.Pipelines[0].Pipeline != "ci" {
		t.Errorf("pipelines of the pull request = %+v, want ci's OPEN execution", pr.Pipelines)
	}
	diff := s.ok("pr", "get", "app", "1", "--diff")
	wantContains(t, "pr get --diff", diff, "+a from feature")

	// The conflicting request: refused naming the file, by every strategy that merges.
	if r := as(dev, "pr", "create", "app", "--source", "clash", "--title", "Clash"); r.code != 0 {
		t.Fatal(r)
	}
	s.ok("pr", "override", "app", "2")
	for _, strategy := range []string{"squash", "three-way"} {
		if r := as(dev, "pr", "merge", "app", "2", "--strategy", strategy); r.code == 0 || !strings.Contains(r.stderr, "conflicts") || !strings.Contains(r.stderr, "b.txt") {
			t.Errorf("merge of a conflict by %s: %s", strategy, r)
		}
	}
	if r := as(dev, "pr", "merge", "app", "2", "--strategy", "fast-forward"); r.code == 0 || !strings.Contains(r.stderr, "cannot be fast-forwarded") {
		t.Errorf("fast-forward of a diverged branch: %s", r)
	}

	before := len(s.executions("ci"))
	if r := as(dev, "pr", "merge", "app", "1", "--strategy", "squash", "-m", "Feature (squashed)"); r.code != 0 {
		t.Fatal(r)
	}
	s.json(&pr, "pr", "get", "app", "1")
	if !pr.Merged || pr.Status != "CLOSED" {
		t.Fatalf("after merge: %+v", pr)
	}
	g.run(work, "pull", "-q", "origin", "main")
	wantEqual(t, "main after the squash merge", g.head(work, "HEAD"), pr.MergeCommit)
	wantEqual(t, "a.txt on main", readFile(t, filepath.Join(work, "a.txt")), "a from feature\n")
	wantEqual(t, "the merge commit's message", g.run(work, "log", "-1", "--format=%s"), "Feature (squashed)")
	// The merge is a push to main: the pipeline following main starts.
	eventually(t, 20*time.Second, "the merge to start ci", func() bool { return len(s.executions("ci")) > before })

	list := s.ok("pr", "list", "app", "--status", "open")
	wantContains(t, "pr list --status open", list, "Clash")
	if strings.Contains(list, "\tFeature") || strings.Contains(list, " Feature ") {
		t.Errorf("a merged pull request listed as open:\n%s", list)
	}
	audit := s.ok("audit", "--limit", "500")
	wantContains(t, "audit", audit, "OverridePullRequestApprovalRules", "MergePullRequestBySquash")
}
