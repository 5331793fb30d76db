package buildproject

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	full := "name: app-build\n" +
		"description: builds the app\n" +
		"buildspec: ci/buildspec.yml\n" +
		"environmentVariables:\n" +
		"  - name: STAGE\n" +
		"    value: prod\n" +
		"  - name: DB_PASSWORD\n" +
		"    value: db/password\n" +
		"    type: secrets_manager\n" +
		"timeoutInMinutes: 30\n" +
		"isolation: bubblewrap\n" +
		"network: false\n"
	codebuild := `{
  "name": "app-build",
  "source": {"type": "GITHUB", "location": "https://example.com/x.git", "buildspec": "version: 0.2\nphases:\n  build:\n    commands: [make]\n"},
  "artifacts": {"type": "NO_ARTIFACTS"},
  "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL",
    "environmentVariables": [{"name": "TOKEN", "value": "tok", "type": "PARAMETER_STORE"}]},
  "serviceRole": "arn:aws:iam::1:role/x",
  "timeoutInMinutes": 90
}`
	tests := []struct {
		name string
		file string
		src  string
		want *Project
	}{
		{"defaults", "project.yml", "name: app\n", New("app")},
		{"full", "project.yml", full, &Project{
			Name: "app-build", Description: "builds the app", Buildspec: "ci/buildspec.yml",
			EnvironmentVariables: []EnvironmentVariable{
				{Name: "STAGE", Value: "prod", Type: TypePlaintext},
				{Name: "DB_PASSWORD", Value: "db/password", Type: TypeSecretsManager},
			},
			TimeoutInMinutes: 30, Isolation: IsolationBubblewrap, Network: false,
		}},
		{"codebuild json", "project.json", codebuild, &Project{
			Name: "app-build", Buildspec: "version: 0.2\nphases:\n  build:\n    commands: [make]\n",
			EnvironmentVariables: []EnvironmentVariable{{Name: "TOKEN", Value: "tok", Type: TypeParameterStore}},
			TimeoutInMinutes:     90, Isolation: IsolationAuto, Network: true, ServiceRole: "arn:aws:iam::1:role/x",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.file, []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", p, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want string
	}{
		{"unknown type", "project.yml", "name: app\nenvironmentVariables:\n  - name: A\n    value: a\n  - name: B\n    value: b\n    type: SECRET\n",
			`project.yml:7: environmentVariables[1].type: unknown type "SECRET" (PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER)`},
		{"unknown field", "project.yml", "name: app\ntimeout: 5\n",
			`project.yml:2: timeout: unknown field`},
		{"did you mean", "project.yml", "name: app\ntimeoutInMinute: 5\n",
			`project.yml:2: timeoutInMinute: unknown field (did you mean "timeoutInMinutes"?)`},
		{"did you mean in case", "project.yml", "name: app\nenvironmentVariables:\n  - Name: A\n",
			"project.yml:3: environmentVariables[0].Name: unknown field (did you mean \"name\"?)\n" +
				"project.yml:3: environmentVariables[0].name: required"},
		{"name", "project.yml", "name: -app\n",
			`project.yml:1: name: "-app" is not a project name (2-255 letters, digits, - and _, starting with a letter or digit)`},
		{"name missing", "project.yml", "description: x\n", `project.yml:1: name: required`},
		{"timeout range", "project.yml", "name: app\ntimeoutInMinutes: 2161\n",
			`project.yml:2: timeoutInMinutes: 2161 is out of range (5 to 2160)`},
		{"timeout type", "project.yml", "name: app\ntimeoutInMinutes: soon\n",
			`project.yml:2: timeoutInMinutes: must be a whole number, not "soon"`},
		{"isolation", "project.yml", "name: app\nisolation: docker\n",
			`project.yml:2: isolation: unknown isolation "docker" (auto, bubblewrap or none)`},
		{"network", "project.yml", "name: app\nnetwork: [1]\n",
			`project.yml:2: network: must be true or false, not a list`},
		{"duplicate and reserved names", "project.yml", "name: app\nenvironmentVariables:\n  - {name: A, value: a}\n  - {name: A, value: b}\n  - {name: CODEBUILD_X, value: c}\n",
			"project.yml:4: environmentVariables[1].name: A given twice (first as environmentVariables[0])\n" +
				"project.yml:5: environmentVariables[2].name: CODEBUILD_X: names starting with CODEBUILD_ are reserved"},
		{"secret without name", "project.yml", "name: app\nenvironmentVariables:\n  - name: A\n    type: SECRETS_MANAGER\n",
			`project.yml:3: environmentVariables[0].value: required: the name of the sluice secret holding the value`},
		{"buildspec outside", "project.yml", "name: app\nbuildspec: ../x.yml\n",
			`project.yml:2: buildspec: "../x.yml" is not a path inside the source (nor inline YAML: it has no version: line)`},
		{"inline buildspec lines", "project.yml", "name: app\nbuildspec: |\n  version: 0.2\n  phases:\n    build:\n      commands: {a: b}\n",
			`project.yml:6: buildspec.phases.build.commands: must be a list of strings, not a mapping`},
		{"buildspec mapping", "project.yml", "name: app\nbuildspec:\n  version: 0.2\n",
			`project.yml:3: buildspec: must be a string: a path inside the source, or the buildspec itself as a block (buildspec: |)`},
		{"buildspec twice", "project.yml", "name: app\nbuildspec: a.yml\nsource:\n  buildspec: b.yml\n",
			`project.yml:4: source.buildspec: given twice (also as buildspec, line 2)`},
		{"codebuild nested paths", "p.json", "{\n\"name\": \"app\",\n\"environment\": {\"environmentVariables\": [\n {\"name\": \"A\", \"value\": \"a\", \"type\": \"X\"}]},\n\"source\": {\"buildspec\": \"/abs.yml\", \"typo\": 1}\n}\n",
			"p.json:4: environment.environmentVariables[0].type: unknown type \"X\" (PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER)\n" +
				"p.json:5: source.typo: unknown field (did you mean \"type\"?)\n" +
				"p.json:5: source.buildspec: \"/abs.yml\" is not a path inside the source (nor inline YAML: it has no version: line)"},
		{"duplicate key", "project.yml", "name: app\nname: b\n", `project.yml:2: name: given twice (first on line 1)`},
		{"not a mapping", "project.yml", "- a\n", `project.yml:1: a build project must be a mapping, not a list`},
		{"empty", "project.yml", "", `project.yml:1: empty file: no build project in it`},
		{"bad json", "p.json", "{\n\"name\": }\n", `p.json:2: invalid JSON: invalid character '}' looking for beginning of value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file, []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	p := New("app")
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.TimeoutInMinutes = 4
	p.EnvironmentVariables = []EnvironmentVariable{{Name: "", Type: "PLAINTEXT"}}
	want := "environmentVariables[0].name: required\ntimeoutInMinutes: 4 is out of range (5 to 2160)"
	if err := p.Validate(); err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if !IsInline("version: 0.2\nphases: {}\n") || IsInline("buildspec.yml") || !strings.Contains(New("x").Buildspec, ".yml") {
		t.Fatal("IsInline")
	}
}
