package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// triggerBase is a pipeline with one source action (App) and one build
// action (Test), 14 lines long, so that a triggers block appended to it
// starts on line 15.
const triggerBase = `name: mono
stages:
  - name: Source
    actions:
      - name: App
        provider: Git
        configuration: {RepositoryName: app, BranchName: main}
        outputArtifacts: [src]
  - name: Build
    actions:
      - name: Test
        provider: Commands
        inputArtifacts: [src]
        commands: [make test]
`

const triggersYAML = triggerBase + `triggers:
  - providerType: CodeStarSourceConnection
    gitConfiguration:
      sourceActionName: App
      push:
        - branches:
            includes: [main, "release/**"]
            excludes: [release/old]
          filePaths:
            includes: ["src/**"]
        - tags:
            includes: ["v*"]
  - providerType: schedule
    schedule: cron(0 12 * * ? *)
    timeZone: Europe/Paris
  - providerType: Schedule
    schedule: rate(5 minutes)
`

func wantTriggers() []Trigger {
	return []Trigger{
		{ProviderType: TriggerGit, GitConfiguration: &GitConfiguration{
			SourceActionName: "App",
			Push: []GitPushFilter{
				{
					Branches:  &GitFilter{Includes: []string{"main", "release/**"}, Excludes: []string{"release/old"}},
					FilePaths: &GitFilter{Includes: []string{"src/**"}},
				},
				{Tags: &GitFilter{Includes: []string{"v*"}}},
			},
		}},
		{ProviderType: TriggerSchedule, Schedule: "cron(0 12 * * ? *)", TimeZone: "Europe/Paris"},
		{ProviderType: TriggerSchedule, Schedule: "rate(5 minutes)"},
	}
}

func TestParseTriggers(t *testing.T) {
	p := mustParse(t, "pipe.yml", triggersYAML)
	if !reflect.DeepEqual(p.Triggers, wantTriggers()) {
		got, _ := json.Marshal(p.Triggers)
		want, _ := json.Marshal(wantTriggers())
		t.Errorf("triggers:\n%s\nwant\n%s", got, want)
	}
}

// TestTriggersRoundTrip writes triggers as YAML and as get-pipeline JSON and
// reads them back, and checks that Canonical keeps them.
func TestTriggersRoundTrip(t *testing.T) {
	p := mustParse(t, "pipe.yml", triggersYAML)

	out, err := MarshalYAML(p)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := Parse("round.yml", out)
	if err != nil {
		t.Fatalf("Parse(MarshalYAML(p)): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(fromYAML, p) {
		t.Errorf("YAML round trip changed the pipeline:\n%s\nwant\n%s\nYAML:\n%s", fromYAML.Canonical(), p.Canonical(), out)
	}

	doc, err := json.MarshalIndent(Document{Pipeline: *p, Metadata: &Metadata{Version: 3}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Parse("pipe.json", doc)
	if err != nil {
		t.Fatalf("Parse(get-pipeline JSON): %v\n%s", err, doc)
	}
	if !reflect.DeepEqual(fromJSON, p) {
		t.Errorf("JSON round trip changed the pipeline:\n%s\nwant\n%s", fromJSON.Canonical(), p.Canonical())
	}

	canon := p.Canonical()
	if !bytes.Contains(canon, []byte(`"triggers":[{"providerType":"Git","gitConfiguration":{"sourceActionName":"App"`)) ||
		!bytes.Contains(canon, []byte(`"timeZone":"Europe/Paris"`)) {
		t.Errorf("Canonical lost the triggers: %s", canon)
	}
	// CodePipeline's own spelling means the same pipeline.
	aws := strings.Replace(string(doc), `"providerType": "Git"`, `"providerType": "CodeStarSourceConnection"`, 1)
	if got := mustParse(t, "pipe.json", aws).Canonical(); !bytes.Equal(got, canon) {
		t.Errorf("CodeStarSourceConnection and Git differ in Canonical:\n%s\n%s", got, canon)
	}
	changed := mustParse(t, "pipe.yml", strings.Replace(triggersYAML, `"v*"`, `"v2*"`, 1)).Canonical()
	if bytes.Equal(changed, canon) {
		t.Errorf("a changed tag filter did not change Canonical")
	}
}

func TestTriggerErrors(t *testing.T) {
	tests := []struct {
		name     string
		triggers string // appended to triggerBase; its first line is line 15
		want     []string
	}{
		{
			name: "invalid glob",
			triggers: `triggers:
  - providerType: Git
    gitConfiguration:
      sourceActionName: App
      push:
        - branches:
            includes:
              - main
              - "[main"
`,
			want: []string{`pipe.yml:23: triggers[0].gitConfiguration.push[0].branches.includes[1]: invalid glob "[main": unclosed [ (a character class ends with ])`},
		},
		{
			name: "invalid globs everywhere",
			triggers: `triggers:
  - providerType: Git
    gitConfiguration:
      sourceActionName: App
      push:
        - branches: {includes: ["{a,{b}}"], excludes: ["a}"]}
          filePaths: {excludes: ["src/[z-a]", "docs/\\"]}
        - tags: {includes: ["[]"]}
`,
			want: []string{
				`pipe.yml:20: triggers[0].gitConfiguration.push[0].branches.includes[0]: invalid glob "{a,{b}}": groups { } cannot be nested`,
				`pipe.yml:20: triggers[0].gitConfiguration.push[0].branches.excludes[0]: invalid glob "a}": } without a { before it (escape it as \})`,
				`pipe.yml:21: triggers[0].gitConfiguration.push[0].filePaths.excludes[0]: invalid glob "src/[z-a]": range z-a runs backwards`,
				`pipe.yml:21: triggers[0].gitConfiguration.push[0].filePaths.excludes[1]: invalid glob "docs/\\": ends with a lone \ (escape it as \\)`,
				`pipe.yml:22: triggers[0].gitConfiguration.push[1].tags.includes[0]: invalid glob "[]": empty character class []`,
			},
		},
		{
			name: "unknown provider type",
			triggers: `triggers:
  - providerType: Gti
`,
			want: []string{`pipe.yml:16: triggers[0].providerType: unknown trigger type "Gti" (want Git, CodeStarSourceConnection, Schedule or Pipeline) (did you mean "Git"?)`},
		},
		{
			name: "missing provider type and git configuration",
			triggers: `triggers:
  - gitConfiguration: {sourceActionName: App}
  - providerType: Git
  - providerType: Git
    gitConfiguration:
`,
			want: []string{
				`pipe.yml:16: triggers[0].providerType: required: Git, Schedule or Pipeline`,
				`pipe.yml:17: triggers[1].gitConfiguration: required for a Git trigger`,
				`pipe.yml:19: triggers[2].gitConfiguration: required for a Git trigger`,
			},
		},
		{
			name: "source action name",
			triggers: `triggers:
  - providerType: Git
    gitConfiguration: {sourceActionName: Test}
  - providerType: Git
    gitConfiguration: {sourceActionName: Ap}
  - providerType: Git
    gitConfiguration: {}
  - providerType: Git
    gitConfiguration: {sourceActionName: App}
  - providerType: Git
    gitConfiguration: {sourceActionName: App}
`,
			want: []string{
				`pipe.yml:17: triggers[0].gitConfiguration.sourceActionName: action "Test" in stage "Build" is a Compute action, not a Source action`,
				`pipe.yml:19: triggers[1].gitConfiguration.sourceActionName: no source action named "Ap" (did you mean "App"?)`,
				`pipe.yml:21: triggers[2].gitConfiguration.sourceActionName: required`,
				`pipe.yml:25: triggers[4].gitConfiguration.sourceActionName: source action "App" already has a trigger (triggers[3]); give it one trigger with several push filters`,
			},
		},
		{
			name: "push filter shapes",
			triggers: `triggers:
  - providerType: Git
    gitConfiguration:
      sourceActionName: App
      push:
        - {}
        - branches: {includes: [main]}
          tags: {includes: [v1]}
        - filePaths: {includes: [src/**]}
`,
			want: []string{
				`pipe.yml:20: triggers[0].gitConfiguration.push[0]: give branches, tags, or branches with filePaths`,
				`pipe.yml:22: triggers[0].gitConfiguration.push[1].tags: tags cannot be combined with branches or filePaths in one push filter; use a push filter of its own`,
				`pipe.yml:23: triggers[0].gitConfiguration.push[2].filePaths: filePaths needs branches beside it (the branches whose pushes are filtered by path)`,
			},
		},
		{
			name: "limits",
			triggers: `triggers:
  - providerType: Git
    gitConfiguration:
      sourceActionName: App
      push:
        - branches: {includes: [a, b, c, d, e, f, g, h, i]}
        - branches: {}
        - tags: {excludes: ["` + strings.Repeat("x", 256) + `"]}
        - tags: {includes: [v1]}
`,
			want: []string{
				`pipe.yml:19: triggers[0].gitConfiguration.push: too many push filters: 4, at most 3`,
				`pipe.yml:20: triggers[0].gitConfiguration.push[0].branches.includes: too many patterns: 9, at most 8`,
				`pipe.yml:21: triggers[0].gitConfiguration.push[1].branches: give includes, excludes or both`,
				`pipe.yml:22: triggers[0].gitConfiguration.push[2].tags.excludes[0]: too long: 256 characters, at most 255`,
			},
		},
		{
			name: "unknown fields and wrong shapes",
			triggers: `triggers:
  - providerType: Git
    gitConfiguration:
      sourceActionName: App
      psuh: []
      push:
        - branch: {includes: [main]}
          tags: {includes: [[v1]], exclude: [x]}
    schedul: rate(5 minutes)
`,
			want: []string{
				`pipe.yml:19: triggers[0].gitConfiguration.psuh: unknown field (did you mean "push"?)`,
				`pipe.yml:21: triggers[0].gitConfiguration.push[0].branch: unknown field (did you mean "branches"?)`,
				`pipe.yml:22: triggers[0].gitConfiguration.push[0].tags.includes[0]: must be a string, not a list`,
				`pipe.yml:22: triggers[0].gitConfiguration.push[0].tags.exclude: unknown field (did you mean "excludes"?)`,
				`pipe.yml:23: triggers[0].schedul: unknown field (did you mean "schedule"?)`,
			},
		},
		{
			name: "triggers not a list",
			triggers: `triggers: {providerType: Git}
`,
			want: []string{`pipe.yml:15: triggers: must be a list, not a mapping`},
		},
		{
			name: "schedules",
			triggers: `triggers:
  - providerType: Schedule
    schedule: cron(0 12 ? * 8 *)
  - providerType: Schedule
    schedule: rate(1 minutes)
    timeZone: Europe/Pari
  - providerType: Schedule
  - providerType: Schedule
    schedule: rate(1 hour)
    gitConfiguration: {sourceActionName: App}
    timeZone: Local
`,
			want: []string{
				`pipe.yml:17: triggers[0].schedule: cron: day-of-week "8": out of range 1-7`,
				`pipe.yml:19: triggers[1].schedule: rate: "1 minutes": with 1, the unit is singular: rate(1 minute)`,
				`pipe.yml:20: triggers[1].timeZone: unknown time zone "Europe/Pari"`,
				`pipe.yml:21: triggers[2].schedule: required for a Schedule trigger: cron(...) or rate(...), as in "cron(0 12 * * ? *)" or "rate(5 minutes)"`,
				`pipe.yml:24: triggers[3].gitConfiguration: only Git triggers take a gitConfiguration`,
				`pipe.yml:25: triggers[3].timeZone: time zone "Local" depends on the machine; name a zone such as "Europe/Paris"`,
			},
		},
		{
			name: "pipeline triggers",
			triggers: `triggers:
  - providerType: Pipeline
    pipeline: {name: infra, on: [succeeded, Failed]}
  - providerType: Pipeline
  - providerType: Pipeline
    pipeline: {name: mono, on: [Sucess, Failed, Failed], when: x}
    schedule: rate(1 hour)
`,
			want: []string{
				`pipe.yml:18: triggers[1].pipeline: required for a Pipeline trigger: the upstream pipeline's name, as in pipeline: {name: infra, on: [Succeeded]}`,
				`pipe.yml:19: triggers[2]: a Pipeline trigger takes only pipeline: {name, on}`,
				`pipe.yml:20: triggers[2].pipeline.when: unknown field`,
				`pipe.yml:20: triggers[2].pipeline.name: a pipeline cannot trigger itself`,
				`pipe.yml:20: triggers[2].pipeline.on[0]: unknown state "Sucess" (want "Succeeded", "Failed", "Stopped" or "Superseded")`,
				`pipe.yml:20: triggers[2].pipeline.on[2]: Failed is listed twice`,
			},
		},
		{
			name: "git trigger with schedule fields",
			triggers: `triggers:
  - providerType: Git
    gitConfiguration: {sourceActionName: App}
    schedule: rate(1 hour)
    timeZone: UTC
`,
			want: []string{
				`pipe.yml:18: triggers[0].schedule: only Schedule triggers take a schedule`,
				`pipe.yml:19: triggers[0].timeZone: only Schedule triggers take a timeZone`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := triggerBase + tt.triggers
			if n := strings.Count(triggerBase, "\n"); n != 14 {
				t.Fatalf("triggerBase has %d lines, want 14", n)
			}
			p, err := Parse("pipe.yml", []byte(src))
			got := errorLines(t, err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if (err == nil) != (p != nil) {
				t.Errorf("Parse returned pipeline %v with error %v", p != nil, err)
			}
		})
	}
}

func TestTriggersNeedV2(t *testing.T) {
	src := "pipelineType: V1\n" + triggersYAML
	_, err := Parse("pipe.yml", []byte(src))
	got := errorLines(t, err)
	want := []string{
		`pipe.yml:13: stages[1].actions[0].provider: Commands actions need pipelineType V2`,
		`pipe.yml:16: triggers: triggers need pipelineType V2`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTriggerWithoutSources(t *testing.T) {
	p := &Pipeline{Name: "p", Stages: []Stage{{Name: "S", Actions: []Action{{Name: "A", ActionTypeID: ActionTypeID{Provider: "Noop"}}}}}}
	p.Triggers = []Trigger{{ProviderType: TriggerGit, GitConfiguration: &GitConfiguration{SourceActionName: "Src"}}}
	errs := p.Validate()
	if len(errs) != 1 || errs[0].Path != "triggers[0].gitConfiguration.sourceActionName" ||
		!strings.Contains(errs[0].Msg, "the pipeline has no source actions") {
		t.Errorf("Validate = %v", errs)
	}
}

func TestTriggerBuiltInCode(t *testing.T) {
	p := mustParse(t, "pipe.yml", triggersYAML)
	p.Triggers[0].ProviderType = providerTypeAlias
	errs := p.Validate()
	if len(errs) != 1 || errs[0].Path != "triggers[0].providerType" || !strings.Contains(errs[0].Msg, `write "Git"`) {
		t.Errorf("Validate = %v", errs)
	}
}

func TestGitTriggerOnNonGitSource(t *testing.T) {
	src := strings.Replace(triggerBase, "provider: Git\n        configuration: {RepositoryName: app, BranchName: main}",
		"provider: S3\n        configuration: {S3Bucket: bkt, S3ObjectKey: k}", 1) + `triggers:
  - providerType: Git
    gitConfiguration: {sourceActionName: App}
`
	_, err := Parse("pipe.yml", []byte(src))
	got := errorLines(t, err)
	want := []string{`pipe.yml:17: triggers[0].gitConfiguration.sourceActionName: source action "App" has provider "S3", whose changes are not git pushes`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern string
		yes, no []string
	}{
		{"main", []string{"main"}, []string{"main2", "feature/main", "Main", ""}},
		{"feature/*", []string{"feature/x", "feature/"}, []string{"feature/x/y", "feature", "features/x"}},
		{"feature/**", []string{"feature/x", "feature/x/y/z"}, []string{"feature", "other/feature/x"}},
		{"release**", []string{"release", "release-1", "release/1.0/hotfix"}, []string{"prerelease"}},
		{"**", []string{"", "a", "a/b/c"}, nil},
		{"*", []string{"", "main"}, []string{"a/b"}},
		{"**/README.md", []string{"README.md", "docs/README.md", "a/b/README.md"}, []string{"xREADME.md", "README.mdx", "docs/README.md/x"}},
		{"src/**/*.go", []string{"src/main.go", "src/a/b/main.go"}, []string{"src/main.js", "lib/src/main.go", "src/.go/x"}},
		{"src/**", []string{"src/a", "src/a/b"}, []string{"src", "srcx/a"}},
		{"**/*.js", []string{"a.js", "x/y/a.js"}, []string{"a.jsx"}},
		{"common/**/*.js", []string{"common/a.js", "common/x/a.js"}, []string{"common.js"}},
		{"*.{java,class}", []string{"A.java", "A.class"}, []string{"A.go", "dir/A.java", "A.{java,class}"}},
		{"{main,release/*}", []string{"main", "release/x"}, []string{"release/x/y", "mai"}},
		{"{}", []string{""}, []string{"a"}},
		{"a,b", []string{"a,b"}, []string{"a", "b"}},
		{"foo.?", []string{"foo.c"}, []string{"foo.cc", "foo.", "foo./"}},
		{"v[0-9]*", []string{"v1.2", "v0"}, []string{"va", "v"}},
		{"[!a-c]x", []string{"dx", "Ax"}, []string{"ax", "cx", "/x", "x"}},
		{"[^a-c]x", []string{"dx"}, []string{"bx"}},
		{"[-a]", []string{"-", "a"}, []string{"b"}},
		{"[a-]", []string{"-", "a"}, []string{"b"}},
		{`[*?\]`, []string{"*", "?", `\`}, []string{"a"}},
		{`\*`, []string{"*"}, []string{"a", `\*`}},
		{`\{a,b\}`, []string{"{a,b}"}, []string{"a"}},
		{"a.b", []string{"a.b"}, []string{"axb"}},
		{"(x)+|y$", []string{"(x)+|y$"}, []string{"x", "xx", "y"}},
		{"été*", []string{"été", "été-2024"}, []string{"ete"}},
		{"[é-ë]", []string{"é", "ê"}, []string{"e"}},
	}
	for _, tc := range tests {
		f := &GitFilter{Includes: []string{tc.pattern}}
		for _, v := range tc.yes {
			if !f.Match(v) {
				t.Errorf("%q does not match %q, want it to", tc.pattern, v)
			}
		}
		for _, v := range tc.no {
			if f.Match(v) {
				t.Errorf("%q matches %q, want it not to", tc.pattern, v)
			}
		}
	}
}

func TestGlobInvalid(t *testing.T) {
	for pattern, want := range map[string]string{
		"":        "empty pattern",
		"[main":   "unclosed [",
		"[!abc":   "unclosed [",
		"[]":      "empty character class",
		"[!]":     "empty character class",
		"{a,{b}}": "cannot be nested",
		"a}":      "} without a {",
		"{a,b":    "unclosed {",
		`a\`:      `lone \`,
		"[z-a]":   "runs backwards",
		"[a/b]":   "cannot match /",
		"[!/]":    "cannot match /",
		"[.-0]":   "cannot match /",
		"\xff":    "UTF-8",
	} {
		_, err := compileGlob(pattern)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("compileGlob(%q) = %v, want an error containing %q", pattern, err, want)
		}
		// An invalid pattern matches nothing, rather than everything.
		if (&GitFilter{Includes: []string{pattern}}).Match("[main") {
			t.Errorf("invalid %q matches", pattern)
		}
	}
}

func TestGitFilterMatch(t *testing.T) {
	tests := []struct {
		filter *GitFilter
		value  string
		want   bool
	}{
		{nil, "anything", true},
		{&GitFilter{}, "anything", true},
		{&GitFilter{Includes: []string{"main", "release/**"}, Excludes: []string{"release/old/**"}}, "main", true},
		{&GitFilter{Includes: []string{"main", "release/**"}, Excludes: []string{"release/old/**"}}, "release/1", true},
		{&GitFilter{Includes: []string{"main", "release/**"}, Excludes: []string{"release/old/**"}}, "release/old/x", false},
		{&GitFilter{Includes: []string{"main", "release/**"}, Excludes: []string{"release/old/**"}}, "dev", false},
		// No includes means everything, less the excludes.
		{&GitFilter{Excludes: []string{"wip/**"}}, "dev", true},
		{&GitFilter{Excludes: []string{"wip/**"}}, "wip/a", false},
		// Excludes win over includes.
		{&GitFilter{Includes: []string{"**"}, Excludes: []string{"main"}}, "main", false},
	}
	for _, tc := range tests {
		if got := tc.filter.Match(tc.value); got != tc.want {
			t.Errorf("%+v.Match(%q) = %v, want %v", tc.filter, tc.value, got, tc.want)
		}
	}
}

func TestGitPushFilterMatch(t *testing.T) {
	branches := GitPushFilter{Branches: &GitFilter{Includes: []string{"main", "release/*"}}}
	tags := GitPushFilter{Tags: &GitFilter{Includes: []string{"v*"}, Excludes: []string{"*-rc*"}}}
	paths := GitPushFilter{
		Branches:  &GitFilter{Includes: []string{"main"}},
		FilePaths: &GitFilter{Includes: []string{"src/**"}, Excludes: []string{"**/*.md"}},
	}
	tests := []struct {
		name   string
		filter GitPushFilter
		branch string
		tag    string
		files  []string
		want   bool
	}{
		{"branch in", branches, "main", "", nil, true},
		{"branch glob", branches, "release/2", "", nil, true},
		{"branch out", branches, "dev", "", nil, false},
		{"tag push against a branch filter", branches, "", "main", nil, false},
		{"tag in", tags, "", "v1.0", nil, true},
		{"tag excluded", tags, "", "v1.0-rc1", nil, false},
		{"tag out", tags, "", "release-1", nil, false},
		{"branch push against a tag filter", tags, "v1", "", nil, false},
		{"file in", paths, "main", "", []string{"src/a.go"}, true},
		{"only excluded files", paths, "main", "", []string{"src/README.md", "docs/x.go"}, false},
		{"one file in among others", paths, "main", "", []string{"docs/x", "src/README.md", "src/b/c.go"}, true},
		{"no changed files", paths, "main", "", nil, false},
		{"files in, branch out", paths, "dev", "", []string{"src/a.go"}, false},
		{"empty filter", GitPushFilter{}, "anything", "", nil, true},
	}
	for _, tc := range tests {
		if got := tc.filter.Match(tc.branch, tc.tag, tc.files); got != tc.want {
			t.Errorf("%s: Match(%q, %q, %q) = %v, want %v", tc.name, tc.branch, tc.tag, tc.files, got, tc.want)
		}
	}
}

// BenchmarkPushFilterManyFiles measures filtering a large push, where the
// patterns are compiled once and matched against every file.
func BenchmarkPushFilterManyFiles(b *testing.B) {
	f := GitPushFilter{
		Branches:  &GitFilter{Includes: []string{"main"}},
		FilePaths: &GitFilter{Includes: []string{"services/payments/**", "libs/**/*.go"}, Excludes: []string{"**/*.md", "**/testdata/**"}},
	}
	files := make([]string, 5000)
	for i := range files {
		files[i] = fmt.Sprintf("services/web/pkg%d/file%d.ts", i%50, i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if f.Match("main", "", files) {
			b.Fatal("matched")
		}
	}
}
