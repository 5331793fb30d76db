package build

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/provider"
)

type fixture struct {
	job *provider.Job
	log *bytes.Buffer
}

func newJob(t *testing.T, project Project, config map[string]string, outputs ...string) fixture {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, "src")
	tools := filepath.Join(root, "tools")
	for _, d := range []string{src, tools, filepath.Join(root, "out"), filepath.Join(root, "scratch")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(src, "main.txt"), []byte("source"), 0o644)
	os.WriteFile(filepath.Join(tools, "tool.txt"), []byte("tool"), 0o644)
	raw, _ := json.Marshal(project)
	log := &bytes.Buffer{}
	j := &provider.Job{
		ID: "job-1", Pipeline: "app", Attempt: 1, Provider: "Build", Configuration: config, Project: raw,
		WorkDir: src, Inputs: []string{"code", "tools"}, InputDirs: map[string]string{"code": src, "tools": tools},
		ScratchDir: filepath.Join(root, "scratch"), Env: []string{"PATH=" + os.Getenv("PATH")}, Log: log,
		Secret: func(ctx context.Context, name string) ([]byte, error) {
			if name == "npm-token" {
				return []byte("s3cret"), nil
			}
			return nil, errors.New("no such secret")
		},
	}
	for _, o := range outputs {
		j.Outputs = append(j.Outputs, provider.Output{Name: o, Path: filepath.Join(root, "out", o+".zip")})
	}
	return fixture{job: j, log: log}
}

func zipNames(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		out[f.Name] = b.String()
	}
	return out
}

const spec = `version: 0.2
env:
  exported-variables: [VERSION]
phases:
  build:
    commands:
      - export VERSION=1.$STAGE
      - mkdir -p dist docs
      - cat main.txt > dist/app.txt
      - cat $CODEBUILD_SRC_DIR_tools/tool.txt > dist/tool.txt
      - echo "$TOKEN" > dist/token.txt
      - echo manual > docs/manual.txt
artifacts:
  files: ["**/*"]
  base-directory: dist
  secondary-artifacts:
    docs:
      files: ["docs/*"]
`

func TestBuildRunsProjectBuildspec(t *testing.T) {
	f := newJob(t, Project{Name: "app-build", Buildspec: spec, EnvironmentVariables: []Variable{
		{Name: "STAGE", Value: "dev"},
		{Name: "TOKEN", Value: "npm-token", Type: SecretsManager},
	}}, map[string]string{
		"ProjectName":          "app-build",
		"EnvironmentVariables": `[{"name":"STAGE","value":"prod","type":"PLAINTEXT"}]`,
	}, "bin", "docs")
	res, err := Provider{}.Run(context.Background(), f.job)
	if err != nil {
		t.Fatalf("build failed: %v\n%s", err, f.log)
	}
	if res.OutputVariables["VERSION"] != "1.prod" {
		t.Fatalf("the action's variables must override the project's: %v", res.OutputVariables)
	}
	bin := zipNames(t, f.job.Outputs[0].Path)
	if bin["app.txt"] != "source\n" && bin["app.txt"] != "source" || bin["tool.txt"] != "tool" || bin["token.txt"] != "s3cret\n" {
		t.Fatalf("primary artifact: %v", bin)
	}
	if docs := zipNames(t, f.job.Outputs[1].Path); docs["docs/manual.txt"] != "manual\n" {
		t.Fatalf("secondary artifact: %v", docs)
	}
	if !strings.Contains(f.log.String(), "Entering phase BUILD") {
		t.Fatalf("log:\n%s", f.log)
	}
}

func TestBuildFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		project Project
		config  map[string]string
		want    string
	}{
		{"failing command", Project{Name: "p", Buildspec: "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 3\n"}, nil, "exited with code 3"},
		{"buildspec missing from the source", Project{Name: "p"}, nil, "buildspec.yml: not found in the primary source"},
		{"bad buildspec", Project{Name: "p", Buildspec: "version: 9\nphases: {}\n"}, nil, "version"},
		{"unknown secret", Project{Name: "p", Buildspec: spec, EnvironmentVariables: []Variable{{Name: "X", Value: "nope", Type: SecretsManager}}}, nil, "secret nope"},
		{"unknown primary source", Project{Name: "p", Buildspec: spec}, map[string]string{"PrimarySource": "other"}, "PrimarySource: other is not an input artifact"},
		{"batch", Project{Name: "p", Buildspec: spec}, map[string]string{"BatchEnabled": "true"}, "batch builds are not supported yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newJob(t, tc.project, tc.config, "bin")
			_, err := Provider{}.Run(context.Background(), f.job)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q\n%s", err, tc.want, f.log)
			}
		})
	}
}

func TestPrimarySourceChoosesTheWorkingDirectory(t *testing.T) {
	f := newJob(t, Project{Name: "p", Buildspec: "version: 0.2\nphases:\n  build:\n    commands:\n      - test -f tool.txt\n      - test -f $CODEBUILD_SRC_DIR_code/main.txt\n"},
		map[string]string{"PrimarySource": "tools"})
	if _, err := (Provider{}).Run(context.Background(), f.job); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
}
