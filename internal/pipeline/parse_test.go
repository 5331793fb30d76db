package pipeline

import (
	"errors"
	"reflect"
	"strings"
	"testing"
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
// an ErrorList whose entries all carry a file and a line.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, not ErrorList: %v", err, err)
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
					ActionTypeID: ActionTypeID{Category: CategorySource, Owner: OwnerThirdParty, Provider: "GitHub", Version: "1"}},
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
