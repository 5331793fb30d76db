package pipeline

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// prBase is a pipeline whose source action reads a repository through a git
// host connection, 15 lines long, so that a triggers block appended to it
// starts on line 16.
const prBase = `name: web
stages:
  - name: Source
    actions:
      - name: App
        provider: CodeStarSourceConnection
        configuration: {ConnectionArn: "arn:aws:codeconnections:us-east-1:000000000000:connection/gh", FullRepositoryId: octo/web, BranchName: main}
        outputArtifacts: [src]
  - name: Build
    actions:
      - name: Test
        provider: Commands
        inputArtifacts: [src]
        commands: [make test]
pipelineType: V2
`

func TestParsePullRequestTriggers(t *testing.T) {
	src := prBase + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: App
      pullRequest:
        - events: [open, UPDATED]
          branches: {includes: [main, "release/**"], excludes: [release/old]}
          filePaths: {includes: ["src/**"]}
        - events: [CLOSED]
`
	p := mustParse(t, "web.yml", src)
	want := []GitPullRequestFilter{
		{Events: []string{"OPEN", "UPDATED"}, Branches: &GitFilter{Includes: []string{"main", "release/**"}, Excludes: []string{"release/old"}},
			FilePaths: &GitFilter{Includes: []string{"src/**"}}},
		{Events: []string{"CLOSED"}},
	}
	if got := p.Triggers[0].GitConfiguration.PullRequest; !reflect.DeepEqual(got, want) {
		t.Fatalf("pullRequest = %+v, want %+v", got, want)
	}
	// Written back (YAML, and get-pipeline JSON) it reads the same.
	out, err := MarshalYAML(p)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := Parse("back.yml", out); err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("YAML round trip: %v\n%s", err, out)
	}
	doc, _ := json.Marshal(Document{Pipeline: *p})
	if back, err := Parse("back.json", doc); err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("JSON round trip: %v\n%s", err, doc)
	}
	if !strings.Contains(string(p.Canonical()), `"pullRequest":[{"events":["OPEN","UPDATED"]`) {
		t.Errorf("Canonical lost the pull-request filters: %s", p.Canonical())
	}
}

func TestPullRequestTriggerErrors(t *testing.T) {
	for _, c := range []struct{ name, triggers, want string }{
		{"unknown event", `
      pullRequest:
        - events: [OPENED]`, `web.yml:21: triggers[0].gitConfiguration.pullRequest[0].events[0]: unknown pull-request event "OPENED" (want "OPEN", "UPDATED" or "CLOSED")`},
		{"twice", `
      pullRequest:
        - events: [OPEN, OPEN]`, `web.yml:21: triggers[0].gitConfiguration.pullRequest[0].events[1]: OPEN is listed twice`},
		{"empty events", `
      pullRequest:
        - events: []`, `triggers[0].gitConfiguration.pullRequest[0].events: give at least one event`},
		{"unknown field", `
      pullRequest:
        - tags: {includes: [v1]}`, `web.yml:21: triggers[0].gitConfiguration.pullRequest[0].tags: unknown field`},
		{"bad glob", `
      pullRequest:
        - branches: {includes: ["feat/[z-a]"]}`, `triggers[0].gitConfiguration.pullRequest[0].branches.includes[0]: invalid glob "feat/[z-a]": range z-a runs backwards`},
		{"empty filter", `
      pullRequest:
        - branches: {includes: [main]}
          filePaths: {}`, `triggers[0].gitConfiguration.pullRequest[0].filePaths: give includes, excludes or both`},
		{"paths without branches", `
      pullRequest:
        - filePaths: {includes: [src/**]}`, `web.yml:21: triggers[0].gitConfiguration.pullRequest[0].filePaths: filePaths needs branches beside it`},
		{"too many", `
      pullRequest: [{events: [OPEN]}, {events: [OPEN]}, {events: [OPEN]}, {events: [OPEN]}]`, `triggers[0].gitConfiguration.pullRequest: too many pull-request filters: 4, at most 3`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := prBase + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: App` + c.triggers + "\n"
			_, err := Parse("web.yml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v\nwant %s", err, c.want)
			}
		})
	}
}

// A source without pull requests (a remote git URL): a pull-request trigger
// on it is refused rather than silently never firing. Hosted repositories
// (Git, CodeCommit) have pull requests of their own.
func TestPullRequestTriggerNeedsConnectionSource(t *testing.T) {
	trig := `pipelineType: V2
triggers:
  - providerType: Git
    gitConfiguration:
      sourceActionName: App
      pullRequest:
        - events: [OPEN]
`
	if _, err := Parse("mono.yml", []byte(triggerBase+trig)); err != nil {
		t.Errorf("pull-request trigger on a hosted repository: %v", err)
	}
	remote := strings.Replace(triggerBase, "provider: Git\n        configuration: {RepositoryName: app, BranchName: main}",
		"provider: GitRemote\n        configuration: {URL: \"https://example.com/app.git\", BranchName: main}", 1)
	_, err := Parse("mono.yml", []byte(remote+trig))
	if err == nil || !strings.Contains(err.Error(), "triggers[0].gitConfiguration.pullRequest: pull-request triggers need a source action of provider CodeStarSourceConnection or CodeConnections") {
		t.Errorf("err = %v", err)
	}
}

func TestGitPullRequestFilterMatch(t *testing.T) {
	f := GitPullRequestFilter{Events: []string{"OPEN", "UPDATED"}, Branches: &GitFilter{Includes: []string{"main", "release/*"}},
		FilePaths: &GitFilter{Includes: []string{"src/**"}, Excludes: []string{"**/*.md"}}}
	for _, c := range []struct {
		event, branch string
		files         []string
		want          bool
	}{
		{"OPEN", "main", []string{"src/a.go"}, true},
		{"UPDATED", "release/1.2", []string{"docs/x", "src/b/c.go"}, true},
		{"CLOSED", "main", []string{"src/a.go"}, false},      // event not listed
		{"OPEN", "feature", []string{"src/a.go"}, false},     // destination branch
		{"OPEN", "release/1/2", []string{"src/a.go"}, false}, // * stops at /
		{"OPEN", "main", []string{"src/README.md"}, false},   // excluded file
		{"OPEN", "main", []string{"docs/a.go"}, false},       // no included file
		{"OPEN", "main", nil, false},                         // files unknown
	} {
		if got := f.Match(c.event, c.branch, c.files); got != c.want {
			t.Errorf("Match(%s, %s, %v) = %v, want %v", c.event, c.branch, c.files, got, c.want)
		}
	}
	if !(GitPullRequestFilter{}).Match("CLOSED", "anything", nil) {
		t.Errorf("an empty filter does not match every change")
	}
	if (GitPullRequestFilter{Branches: &GitFilter{Excludes: []string{"main"}}}).Match("OPEN", "main", nil) {
		t.Errorf("an excluded destination branch matches")
	}
}

func TestCommitStatusSettings(t *testing.T) {
	p := mustParse(t, "web.yml", prBase)
	if !p.ReportsCommitStatus() || p.CommitStatusContext() != "sluice/web" {
		t.Errorf("defaults: report %v, context %q", p.ReportsCommitStatus(), p.CommitStatusContext())
	}
	p = mustParse(t, "web.yml", prBase+"commitStatus: {report: false, context: ci/web}\n")
	if p.ReportsCommitStatus() || p.CommitStatusContext() != "ci/web" {
		t.Errorf("set: report %v, context %q", p.ReportsCommitStatus(), p.CommitStatusContext())
	}
	out, _ := MarshalYAML(p)
	if back, err := Parse("back.yml", out); err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("round trip: %v\n%s", err, out)
	}
	for _, c := range []struct{ src, want string }{
		{"commitStatus: {report: maybe}\n", "web.yml:16: commitStatus.report:"},
		{"commitStatus: {contex: x}\n", "web.yml:16: commitStatus.contex: unknown field"},
		{"commitStatus: {context: " + strings.Repeat("x", 101) + "}\n", "commitStatus.context: too long: 101 characters, at most 100"},
	} {
		if _, err := Parse("web.yml", []byte(prBase+c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %s", c.src, err, c.want)
		}
	}
}

func TestTriggerNamespace(t *testing.T) {
	ok := strings.Replace(prBase, "commands: [make test]", `commands: ["echo #{trigger.PullRequestId} #{trigger.SourceBranch}"]`, 1)
	mustParse(t, "web.yml", ok)
	bad := strings.Replace(prBase, "commands: [make test]", `commands: ["echo #{trigger.PullRequestNumber}"]`, 1)
	if _, err := Parse("web.yml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "#{trigger.PullRequestNumber}: the trigger namespace holds only") {
		t.Errorf("unknown trigger variable: %v", err)
	}
	ns := strings.Replace(prBase, "        outputArtifacts: [src]", "        outputArtifacts: [src]\n        namespace: trigger", 1)
	if _, err := Parse("web.yml", []byte(ns)); err == nil || !strings.Contains(err.Error(), `namespace "trigger" is reserved`) {
		t.Errorf("namespace trigger: %v", err)
	}
}
