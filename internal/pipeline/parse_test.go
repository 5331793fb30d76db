package pipeline

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// demoYAML is a native pipeline using every shortcut; demoPipeline is what it
// must parse to.
const demoYAML = `name: demo
executionMode: queued
variables:
  - name: ENV
    defaultValue: prod
    description: where to deploy
stages:
  - name: Source
    actions:
      - name: Checkout
        provider: Git
        configuration:
          Branch: main
          Poll: false
          Depth: 1
          Empty:
        outputArtifacts: [src]
        namespace: source
  - name: Build
    actions:
      - name: Test
        provider: Commands
        inputArtifacts: [src]
        commands:
          - make test
          - 'echo "#{source.CommitId} #{variables.ENV}"'
        outputArtifacts:
          - name: bin
            files: [bin/**]
          - report
        outputVariables: [VERSION]
        namespace: build
        timeoutInMinutes: 30
        maxAttempts: 3
      - name: Publish
        category: compute
        provider: Commands
        runOrder: 2
        inputArtifacts:
          - bin
          - name: report
        commands: ["echo #{build.VERSION} #{codepipeline.PipelineExecutionId}"]
`

func demoPipeline() *Pipeline {
	return &Pipeline{
		Name:          "demo",
		PipelineType:  "V2",
		ExecutionMode: Queued,
		Variables:     []Variable{{Name: "ENV", DefaultValue: "prod", Description: "where to deploy"}},
		Stages: []Stage{
			{Name: "Source", Actions: []Action{{
				Name:            "Checkout",
				ActionTypeID:    ActionTypeID{Category: CategorySource, Owner: "AWS", Provider: "Git", Version: "1"},
				RunOrder:        1,
				Configuration:   map[string]string{"Branch": "main", "Poll": "false", "Depth": "1", "Empty": ""},
				OutputArtifacts: []OutputArtifact{{Name: "src"}},
				Namespace:       "source",
			}}},
			{Name: "Build", Actions: []Action{
				{
					Name:             "Test",
					ActionTypeID:     ActionTypeID{Category: CategoryCompute, Owner: "AWS", Provider: "Commands", Version: "1"},
					RunOrder:         1,
					InputArtifacts:   []InputArtifact{{Name: "src"}},
					Commands:         []string{"make test", `echo "#{source.CommitId} #{variables.ENV}"`},
					OutputArtifacts:  []OutputArtifact{{Name: "bin", Files: []string{"bin/**"}}, {Name: "report"}},
					OutputVariables:  []string{"VERSION"},
					Namespace:        "build",
					TimeoutInMinutes: 30,
					MaxAttempts:      3,
				},
				{
					Name:           "Publish",
					ActionTypeID:   ActionTypeID{Category: CategoryCompute, Owner: "AWS", Provider: "Commands", Version: "1"},
					RunOrder:       2,
					InputArtifacts: []InputArtifact{{Name: "bin"}, {Name: "report"}},
					Commands:       []string{"echo #{build.VERSION} #{codepipeline.PipelineExecutionId}"},
				},
			}},
		},
	}
}

// demoJSON is demoPipeline in CodePipeline's long form.
const demoJSON = `{
  "name": "demo",
  "pipelineType": "V2",
  "executionMode": "QUEUED",
  "variables": [{"name": "ENV", "defaultValue": "prod", "description": "where to deploy"}],
  "stages": [
    {"name": "Source", "actions": [{
      "name": "Checkout",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "Git", "version": "1"},
      "runOrder": 1,
      "configuration": {"Branch": "main", "Poll": "false", "Depth": "1", "Empty": ""},
      "outputArtifacts": [{"name": "src"}],
      "inputArtifacts": [],
      "namespace": "source"
    }]},
    {"name": "Build", "actions": [{
      "name": "Test",
      "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
      "runOrder": 1,
      "inputArtifacts": [{"name": "src"}],
      "commands": ["make test", "echo \"#{source.CommitId} #{variables.ENV}\""],
      "outputArtifacts": [{"name": "bin", "files": ["bin/**"]}, {"name": "report"}],
      "outputVariables": ["VERSION"],
      "namespace": "build",
      "timeoutInMinutes": 30,
      "maxAttempts": 3
    }, {
      "name": "Publish",
      "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
      "runOrder": 2,
      "inputArtifacts": [{"name": "bin"}, {"name": "report"}],
      "commands": ["echo #{build.VERSION} #{codepipeline.PipelineExecutionId}"]
    }]}
  ]
}`

func mustParse(t *testing.T, name, src string) *Pipeline {
	t.Helper()
	p, err := Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return p
}

// errorLines returns err's messages, one per problem, and checks that err is
// a yamlnode.ErrorList whose entries all carry a file and a line.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list yamlnode.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, not yamlnode.ErrorList: %v", err, err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		if e.File == "" || e.Line <= 0 {
			t.Errorf("error without file or line: %#v", e)
		}
		out[i] = e.Error()
	}
	return out
}

func TestParseShapes(t *testing.T) {
	want := demoPipeline()
	indented := "  " + strings.ReplaceAll(demoJSON, "\n", "\n  ")
	tests := []struct {
		name, file, src string
	}{
		{"native YAML", "demo.yml", demoYAML},
		{"bare JSON", "demo.json", demoJSON},
		{"pipeline key JSON", "demo.json", `{"pipeline": ` + demoJSON + `}`},
		{"get-pipeline document", "demo.json", `{"pipeline": ` + demoJSON + `,
			"metadata": {"pipelineArn": "arn:aws:codepipeline:us-east-2:1:demo", "created": 1501626591.112, "updated": 1501626591.112, "version": 3}}`},
		{"create-pipeline input with tags", "demo.json", `{"pipeline": ` + demoJSON + `, "tags": [{"key": "Project", "value": "A"}]}`},
		{"JSON without a telling name", "-", demoJSON},
		{"JSON read as YAML", "demo.yaml", demoJSON},
		{"pipeline key YAML", "demo.yml", "pipeline:\n  " + strings.ReplaceAll(demoYAML, "\n", "\n  ")},
		{"indented JSON", "demo.json", indented},
		{"byte order mark", "demo.yml", "\xef\xbb\xbf" + demoYAML},
		{"CRLF line ends", "demo.yml", strings.ReplaceAll(demoYAML, "\n", "\r\n")},
		{"tabs in JSON", "demo.json", strings.ReplaceAll(demoJSON, "  ", "\t")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.file, tt.src)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", got.Canonical(), want.Canonical())
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	got := mustParse(t, "p.yml", `name: p
stages:
  - name: Source
    actions:
      - name: A
        provider: GitHub
        configuration: {Owner: o, Repo: r, Branch: main}
        outputArtifacts: [out]
  - name: Build
    actions:
      - name: B
        actionTypeId: {provider: Noop}
        runOrder: 0
      - name: C
        actionTypeId: {provider: Commands, category: Compute, owner: AWS, version: "2"}
        runOrder: 3
        commands: [x]
`)
	want := &Pipeline{
		Name: "p", PipelineType: "V2", ExecutionMode: Superseded,
		Stages: []Stage{
			{Name: "Source", Actions: []Action{
				{Name: "A", RunOrder: 1, OutputArtifacts: []OutputArtifact{{Name: "out"}},
					Configuration: map[string]string{"Owner": "o", "Repo": "r", "Branch": "main"},
					ActionTypeID:  ActionTypeID{Category: CategorySource, Owner: OwnerThirdParty, Provider: "GitHub", Version: "1"}},
			}},
			{Name: "Build", Actions: []Action{
				{Name: "B", RunOrder: 1, ActionTypeID: ActionTypeID{Category: CategoryBuild, Owner: OwnerAWS, Provider: "Noop", Version: "1"}},
				{Name: "C", RunOrder: 3, Commands: []string{"x"},
					ActionTypeID: ActionTypeID{Category: CategoryCompute, Owner: OwnerAWS, Provider: "Commands", Version: "2"}},
			}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %s\nwant %s", got.Canonical(), want.Canonical())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want []string
	}{
		{
			name: "a reference cut off by an unquoted comment",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: Build
    actions:
      - name: A
        provider: Commands
        commands:
          - echo "id #{codepipeline.PipelineExecutionId}"
          - make # a comment is fine
        configuration: {}
`,
			want: []string{
				`pipe.yml:8: stages[0].actions[0].commands[0]: "echo \"id" is cut short: YAML reads "#{codepipeline.PipelineExecutionId}\"" after a space as a comment; quote the whole value`,
			},
		},
		{
			name: "misspelt field, with the brief's example",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: Build
    actions:
      - name: A
        provider: Noop
      - comands: [make]
        name: B
        provider: Commands
`,
			want: []string{
				`pipe.yml:7: stages[0].actions[1].comands: unknown field (did you mean "commands"?)`,
				`pipe.yml:7: stages[0].actions[1].commands: required for provider "Commands"`,
			},
		},
		{
			name: "CloudFormation casing gets a suggestion",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: Build
    actions:
      - name: A
        provider: Noop
        RunOrder: 2
`,
			want: []string{`pipe.yml:7: stages[0].actions[0].RunOrder: unknown field (did you mean "runOrder"?)`},
		},
		{
			name: "unknown field without a close match",
			file: "pipe.yml",
			src: `name: demo
colour: blue
stages: [{name: S, actions: [{name: A, provider: Noop}]}]
`,
			want: []string{`pipe.yml:2: colour: unknown field`},
		},
		{
			name: "misspelt pipeline key",
			file: "pipe.json",
			src: `{
  "pipelin": {"name": "x"}
}`,
			want: []string{
				`pipe.json:1: name: required`,
				`pipe.json:1: stages: at least one stage is required`,
				`pipe.json:2: pipelin: unknown field (did you mean "pipeline"?)`,
			},
		},
		{
			name: "unknown field beside pipeline",
			file: "pipe.json",
			src: `{
  "pipeline": {"name": "x", "stages": [{"name": "S", "actions": [{"name": "A", "actionTypeId": {"provider": "Noop"}}]}]},
  "metadata": {"anything": [1, 2]},
  "metdata": {}
}`,
			want: []string{`pipe.json:4: metdata: unknown field (did you mean "metadata"?)`},
		},
		{
			name: "ignored CodePipeline fields are accepted",
			file: "pipe.json",
			src: `{"pipeline": {
  "name": "x", "roleArn": "arn", "artifactStore": {"type": "S3"}, "artifactStores": {}, "version": 3,
  "stages": [{"name": "S", "blockers": [], "onFailure": {"result": "ROLLBACK"},
    "actions": [{"name": "A", "roleArn": "arn", "actionTypeId": {"provider": "Noop"}}]}]}}`,
			want: nil,
		},
		{
			name: "artifactStores: regions, shape and exclusivity",
			file: "pipe.yml",
			src: `name: x
artifactStore: {type: S3, location: one}
artifactStores:
  us-east-1: {type: S3, location: ok-bucket}
  eu-west-1: {type: S3, location: ../../etc}
  x: {type: GCS, location: s3://other/prefix, encrytionKey: k}
stages:
  - name: S
    actions:
      - {name: A, provider: Noop, region: ap-south-1}
      - {name: B, provider: Noop, region: us-east-1}
`,
			want: []string{
				`pipe.yml:3: artifactStores: artifactStore and artifactStores are mutually exclusive: give artifactStore for a pipeline in one region, artifactStores for one whose actions run in several`,
				`pipe.yml:5: artifactStores.eu-west-1.location: "../../etc" is not an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)`,
				`pipe.yml:6: artifactStores.x.encrytionKey: unknown field (did you mean "encryptionKey"?)`,
				`pipe.yml:6: artifactStores.x: "x" is not a valid region: use 4 to 30 characters`,
				`pipe.yml:6: artifactStores.x.type: "GCS": the only artifact store type is S3`,
				`pipe.yml:6: artifactStores.x.location: "s3://other/prefix" is not an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)`,
				`pipe.yml:10: stages[0].actions[0].region: region "ap-south-1" has no artifact store in the pipeline's artifactStores (it has eu-west-1, us-east-1, x)`,
			},
		},
		{
			name: "YAML syntax error",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: Build
    actions: [
      {name: A
stages: 2
`,
			// libyaml names the line where the unclosed mapping starts.
			want: []string{`pipe.yml:5: invalid YAML: did not find expected ',' or '}'`},
		},
		{
			name: "YAML indentation error",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: Build
   actions: []
`,
			// libyaml names the line where the list it was reading starts;
			// the error names the line that does not fit in it.
			want: []string{`pipe.yml:4: invalid YAML: did not find expected '-' indicator`},
		},
		{
			name: "YAML indentation error deep in a file",
			file: "pipe.yml",
			src: `name: app
stages:
  - name: Build
    actions:
      - name: compile
        provider: Commands
        commands:
       - make
  - name: Deploy
    actions:
      - name: ship
        provider: Noop
`,
			want: []string{`pipe.yml:8: invalid YAML: did not find expected '-' indicator`},
		},
		{
			name: "YAML key indented less than its mapping",
			file: "pipe.yml",
			src: `name: app
stages:
  - name: Build
    actions:
      - name: compile
        provider: Commands
        runOrder: 1
       commands: [make]
`,
			want: []string{`pipe.yml:8: invalid YAML: did not find expected '-' indicator`},
		},
		{
			name: "YAML error on the first line",
			file: "pipe.yml",
			src:  "name: a: b\n",
			want: []string{`pipe.yml:1: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name: "control character",
			file: "pipe.yml",
			src:  "name: a\nstages:\n  - \x01\n",
			want: []string{`pipe.yml:3: invalid YAML: control characters are not allowed`},
		},
		{
			name: "invalid UTF-8",
			file: "pipe.yml",
			src:  "name: a\n\nstages: \xff\n",
			want: []string{`pipe.yml:3: invalid YAML: invalid leading UTF-8 octet`},
		},
		{
			name: "unknown anchor",
			file: "pipe.yml",
			src:  "name: a\nstages: *nope\n",
			want: []string{`pipe.yml:2: invalid YAML: unknown anchor "nope" referenced`},
		},
		{
			name: "JSON with an unquoted value",
			file: "pipe.json",
			src:  "{\n  \"name\": demo,\n  \"stages\": []\n}",
			want: []string{`pipe.json:2: invalid JSON: invalid character 'd' looking for beginning of value`},
		},
		{
			name: "JSON missing a brace",
			file: "pipe.json",
			src:  "{\n  \"name\": \"demo\",\n  \"stages\": [\n",
			want: []string{`pipe.json:3: invalid JSON: unexpected end of JSON input`},
		},
		{
			name: "JSON trailing comma",
			file: "pipe.json",
			src:  "{\n  \"name\": \"demo\",\n}",
			want: []string{`pipe.json:3: invalid JSON: invalid character '}' looking for beginning of object key string`},
		},
		{
			name: "JSON trailing data",
			file: "pipe.json",
			src:  "{}\n{}",
			want: []string{`pipe.json:2: invalid JSON: invalid character '{' after top-level value`},
		},
		{
			name: "empty file",
			file: "pipe.yml",
			src:  "# nothing here\n",
			want: []string{`pipe.yml:1: empty file: no pipeline in it`},
		},
		{
			name: "empty document",
			file: "pipe.yml",
			src:  "---\n",
			want: []string{`pipe.yml:2: empty document: no pipeline in it`},
		},
		{
			name: "null JSON",
			file: "pipe.json",
			src:  "null",
			want: []string{`pipe.json:1: empty document: no pipeline in it`},
		},
		{
			name: "two documents",
			file: "pipe.yml",
			src:  "name: a\nstages: []\n---\nname: b\n",
			want: []string{`pipe.yml:3: a file holds one pipeline, but this is a second YAML document`},
		},
		{
			name: "list at the top",
			file: "pipe.yml",
			src:  "- name: a\n",
			want: []string{`pipe.yml:1: a pipeline must be a mapping, not a list`},
		},
		{
			name: "pipeline key holding a list",
			file: "pipe.yml",
			src:  "pipeline:\n  - name: a\n",
			want: []string{`pipe.yml:2: pipeline: must be a mapping, not a list`},
		},
		{
			name: "CloudFormation template",
			file: "stack.yml",
			src:  "AWSTemplateFormatVersion: 2010-09-09\nResources: {}\n",
			want: []string{"stack.yml:1: this is a CloudFormation template: `sluice pipeline apply -f FILE [--parameter K=V]…` applies its AWS::CodePipeline::Pipeline resources"},
		},
		{
			name: "wrong types",
			file: "pipe.yml",
			src: `name: [demo]
stages:
  - name: S
    actions:
      - name: A
        provider: Commands
        runOrder: first
        timeoutInMinutes: 1.5
        commands: make
        configuration:
          Nested: {a: b}
          List: [1]
        inputArtifacts: [[x]]
`,
			want: []string{
				`pipe.yml:1: name: must be a string, not a list`,
				`pipe.yml:7: stages[0].actions[0].runOrder: must be a whole number, not "first"`,
				`pipe.yml:8: stages[0].actions[0].timeoutInMinutes: must be a whole number, not the number 1.5`,
				`pipe.yml:9: stages[0].actions[0].commands: must be a list, not "make"`,
				`pipe.yml:11: stages[0].actions[0].configuration.Nested: must be a string, number or boolean, not a mapping`,
				`pipe.yml:12: stages[0].actions[0].configuration.List: must be a string, number or boolean, not a list`,
				`pipe.yml:13: stages[0].actions[0].inputArtifacts[0]: must be an artifact name or a mapping with a name, not a list`,
			},
		},
		{
			name: "integer out of range",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: S
    actions:
      - name: A
        provider: Noop
        runOrder: 99999999999999999999999
`,
			want: []string{`pipe.yml:7: stages[0].actions[0].runOrder: 99999999999999999999999 is out of range`},
		},
		{
			name: "large runOrder is clamped, not wrapped",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: S
    actions:
      - name: A
        provider: Noop
        runOrder: 4294967297
`,
			want: []string{`pipe.yml:7: stages[0].actions[0].runOrder: 2147483648 is out of range 1 to 999`},
		},
		{
			name: "duplicate keys",
			file: "pipe.json",
			src: `{
  "name": "a",
  "stages": [{"name": "S", "actions": [{"name": "A", "actionTypeId": {"provider": "Noop"}}]}],
  "name": "b"
}`,
			want: []string{`pipe.json:4: name: given twice (first on line 2)`},
		},
		{
			name: "actionTypeId and shortcut together",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: S
    actions:
      - name: A
        actionTypeId: {provider: Noop}
        provider: Commands
`,
			want: []string{`pipe.yml:7: stages[0].actions[0].provider: conflicts with actionTypeId on line 6: give the action type one way or the other`},
		},
		{
			name: "unknown provider given flat",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: S
    actions:
      - name: A
        provider: Comands
`,
			want: []string{`pipe.yml:6: stages[0].actions[0].provider: unknown provider "Comands" (did you mean "Commands"?)`},
		},
		{
			name: "unknown provider in actionTypeId",
			file: "pipe.json",
			src: `{"name": "demo", "stages": [{"name": "S", "actions": [{"name": "A",
  "actionTypeId": {
    "category": "Build", "owner": "AWS",
    "provider": "codebuild", "version": "1"}}]}]}`,
			want: []string{`pipe.json:4: stages[0].actions[0].actionTypeId.provider: unknown provider "codebuild" (did you mean "CodeBuild"?)`},
		},
		{
			name: "category contradicting the provider",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: S
    actions:
      - name: A
        provider: Commands
        category: Deploy
        commands: [x]
`,
			want: []string{`pipe.yml:7: stages[0].actions[0].category: category "Deploy" does not match provider "Commands" (want "Compute")`},
		},
		{
			name: "owner contradicting the provider",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: S
    actions:
      - name: A
        actionTypeId:
          provider: CodeBuild
          owner: ThirdParty
        inputArtifacts: [x]
        configuration: {ProjectName: p}
`,
			want: []string{
				`pipe.yml:8: stages[0].actions[0].actionTypeId.owner: owner "ThirdParty" does not match provider "CodeBuild" (want "AWS")`,
				`pipe.yml:9: stages[0].actions[0].inputArtifacts[0]: input artifact "x" is not produced by any action`,
			},
		},
		{
			name: "validation errors carry lines, all of them, in file order",
			file: "pipe.yml",
			src: `name: my pipeline
executionMode: fast
variables:
  - name: ENV
  - name: ENV
stages:
  - name: Build
    actions:
      - name: Compile
        provider: Commands
        commands: ["echo #{variables.ENVV}"]
        inputArtifacts: [bin]
      - name: Link
        provider: Commands
        runOrder: 1000
        commands: [ld]
        outputArtifacts: [bin]
  - name: Build
    actions: []
`,
			want: []string{
				`pipe.yml:1: name: "my pipeline" is not a valid pipeline name: use 1 to 100 of A-Z a-z 0-9 . @ _ -`,
				`pipe.yml:2: executionMode: unknown execution mode "FAST" (want SUPERSEDED, QUEUED or PARALLEL)`,
				`pipe.yml:5: variables[1].name: variable "ENV" is already declared by variables[0]`,
				`pipe.yml:11: stages[0].actions[0].commands[0]: #{variables.ENVV} refers to undeclared pipeline variable "ENVV" (did you mean "ENV"?)`,
				`pipe.yml:12: stages[0].actions[0].inputArtifacts[0]: input artifact "bin" is produced by action "Link" in stage "Build", which does not run before this action`,
				`pipe.yml:15: stages[0].actions[1].runOrder: 1000 is out of range 1 to 999`,
				`pipe.yml:18: stages[1].name: stage name "Build" is already used by stages[0]`,
				`pipe.yml:19: stages[1].actions: at least one action is required`,
			},
		},
		{
			name: "missing fields are reported at their parent",
			file: "pipe.yml",
			src: `stages:
  - actions:
      - provider: Commands
`,
			want: []string{
				`pipe.yml:1: name: required`,
				`pipe.yml:2: stages[0].name: required`,
				`pipe.yml:3: stages[0].actions[0].name: required`,
				`pipe.yml:3: stages[0].actions[0].commands: required for provider "Commands"`,
			},
		},
		{
			name: "merge keys",
			file: "pipe.yml",
			src: `name: demo
x-step: &step
  provider: Commands
  commands: [make]
stages:
  - name: S
    actions:
      - <<: *step
        name: A
      - <<: [*step]
        name: B
        commands: [make install]
`,
			want: []string{`pipe.yml:2: x-step: unknown field`},
		},
		{
			name: "merge of itself",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: S
    actions:
      - &a
        name: A
        provider: Noop
        <<: *a
`,
			want: []string{`pipe.yml:5: stages[0].actions[0]: merge (<<) includes itself`},
		},
		{
			name: "merge of a scalar",
			file: "pipe.yml",
			src: `name: demo
<<: 5
stages: [{name: S, actions: [{name: A, provider: Noop}]}]
`,
			want: []string{`pipe.yml:2: merge (<<) takes a mapping or a list of mappings, not the number 5`},
		},
		{
			name: "exponential aliases stop at the budget",
			file: "pipe.yml",
			src: `name: demo
stages:
  - name: S
    actions:
      - name: A
        provider: Commands
        commands: &c0 [a, a, a, a, a, a, a, a, a, a]
x: &c1 [*c0, *c0, *c0, *c0, *c0, *c0, *c0, *c0, *c0, *c0]
`,
			want: []string{`pipe.yml:8: x: unknown field`},
		},
		{
			name: "application tags",
			file: "pipe.yml",
			src: `name: !Ref PipelineName
stages:
  - name: S
    actions:
      - name: A
        provider: Commands
        commands: !Split [",", "a,b"]
        configuration:
          When: 2024-01-01
          Blob: !!binary aGk=
`,
			want: []string{
				`pipe.yml:1: name: YAML tag !Ref is not supported`,
				`pipe.yml:7: stages[0].actions[0].commands: YAML tag !Split is not supported`,
			},
		},
		{
			name: "non-string key",
			file: "pipe.yml",
			src: `name: demo
? [a]
: b
stages: [{name: S, actions: [{name: A, provider: Noop}]}]
`,
			want: []string{`pipe.yml:2: keys must be strings, not a list`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.file, []byte(tt.src))
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

func TestParseValues(t *testing.T) {
	src := `name: 2024
pipelineType: v2
executionMode: Parallel
variables:
  - name: N
    defaultValue: 3
x: &shared
  provider: Commands
  commands: [make]
stages:
  - name: S
    actions:
      - &first
        name: A
        category: COMPUTE
        owner: aws
        provider: Commands
        version: 2
        commands: [make]
        timeoutInMinutes: 0x1E
        maxAttempts: 1_0
        configuration:
          Bool: true
          Int: 0x1F
          Float: 1.50
          Null: ~
          Quoted: "false"
          Merge: <<
          Multi: |
            line one
            line two
      - <<: *first
        name: B
        commands: [make install]
`
	_, err := Parse("p.yml", []byte(src))
	if got := errorLines(t, err); len(got) != 1 || got[0] != `p.yml:7: x: unknown field` {
		t.Fatalf("errors = %q", got)
	}
	p := mustParse(t, "p.yml", strings.Replace(src, "x: &shared\n  provider: Commands\n  commands: [make]\n", "", 1))
	if p.Name != "2024" || p.PipelineType != "V2" || p.ExecutionMode != Parallel {
		t.Errorf("name, type, mode = %q, %q, %q", p.Name, p.PipelineType, p.ExecutionMode)
	}
	if p.Variables[0].DefaultValue != "3" {
		t.Errorf("defaultValue = %q", p.Variables[0].DefaultValue)
	}
	a := p.Stages[0].Actions[0]
	wantID := ActionTypeID{Category: CategoryCompute, Owner: OwnerAWS, Provider: "Commands", Version: "2"}
	if a.ActionTypeID != wantID {
		t.Errorf("actionTypeId = %+v, want %+v", a.ActionTypeID, wantID)
	}
	if a.TimeoutInMinutes != 30 || a.MaxAttempts != 10 {
		t.Errorf("timeout, maxAttempts = %d, %d", a.TimeoutInMinutes, a.MaxAttempts)
	}
	wantConfig := map[string]string{
		"Bool": "true", "Int": "0x1F", "Float": "1.50", "Null": "", "Quoted": "false",
		"Merge": "<<", "Multi": "line one\nline two\n",
	}
	if !reflect.DeepEqual(a.Configuration, wantConfig) {
		t.Errorf("configuration = %q, want %q", a.Configuration, wantConfig)
	}
	b := p.Stages[0].Actions[1]
	if b.Name != "B" || b.ActionTypeID != wantID || !reflect.DeepEqual(b.Commands, []string{"make install"}) ||
		!reflect.DeepEqual(b.Configuration, wantConfig) {
		t.Errorf("merged action = %+v", b)
	}
}

func TestParseEmptyListsAreNil(t *testing.T) {
	p := mustParse(t, "p.json", `{"name": "p", "variables": [], "stages": [{"name": "S", "actions": [{
		"name": "A", "actionTypeId": {"provider": "Noop"}, "configuration": {},
		"inputArtifacts": [], "outputArtifacts": [], "commands": null, "outputVariables": []}]}]}`)
	a := p.Stages[0].Actions[0]
	if p.Variables != nil || a.Configuration != nil || a.InputArtifacts != nil || a.OutputArtifacts != nil ||
		a.Commands != nil || a.OutputVariables != nil {
		t.Errorf("empty values should decode as nil: %+v", a)
	}
}

func TestJSONEscapes(t *testing.T) {
	// Valid JSON that yaml.v3 alone would reject.
	p := mustParse(t, "p.json", `{"name": "p", "stages": [{"name": "S", "actions": [{
		"name": "A", "actionTypeId": {"provider": "Noop"}}]}],
		"variables": [{"name": "V", "defaultValue": "a\/b \ud83d\ude00 \u00e9"}]}`)
	if got, want := p.Variables[0].DefaultValue, "a/b 😀 é"; got != want {
		t.Errorf("defaultValue = %q, want %q", got, want)
	}
}

// TestParseHostileInputs feeds Parse files built to make it slow or huge: it
// must answer (the test's own timeout is the check) and keep its error list
// bounded by what the file holds.
func TestParseHostileInputs(t *testing.T) {
	var b strings.Builder

	b.WriteString("name: a\nstages: [{name: S, actions: [{name: A, provider: Noop}]}]\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "k%d%s: 1\n", i, strings.Repeat("x", 250))
	}
	longKeys := b.String()

	b.Reset()
	b.WriteString("name: a\nvariables:\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "  - name: v%d\n", i)
	}
	b.WriteString("stages:\n  - name: S\n    actions:\n      - name: A\n        provider: Commands\n        commands:\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "          - \"echo #{variables.w%d}\"\n", i)
	}
	manyRefs := b.String()

	b.Reset()
	b.WriteString("name: a\nstages:\n  - name: S\n    actions:\n      - &a {name: A, provider: Commands, commands: &c [")
	b.WriteString(strings.Repeat("a, ", 1000))
	b.WriteString("a]}\n")
	for i := 0; i < 2000; i++ {
		b.WriteString("      - *a\n")
	}
	aliasBomb := b.String()

	tests := []struct {
		name     string
		src      string
		contains string
		count    int
	}{
		{"many long unknown keys", longKeys, "unknown field", 2000},
		{"many references to undeclared variables", manyRefs, "refers to undeclared pipeline variable", 5000},
		{"aliases multiplying a long list", aliasBomb, "too large", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("hostile.yml", []byte(tt.src))
			n, hints := 0, 0
			for _, line := range errorLines(t, err) {
				if strings.Contains(line, tt.contains) {
					n++
				}
				if strings.Contains(line, "did you mean") {
					hints++
				}
			}
			if n != tt.count {
				t.Errorf("%d errors containing %q, want %d", n, tt.contains, tt.count)
			}
			if hints > maxSuggestions {
				t.Errorf("%d suggestions, want at most %d", hints, maxSuggestions)
			}
		})
	}
}
