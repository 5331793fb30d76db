package build

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/sandbox"
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
			switch name {
			case "npm-token":
				return []byte("s3cret"), nil
			case "blank":
				return []byte{}, nil // a secret whose value is empty
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
	res, err := testProvider(t, f.job).Run(context.Background(), f.job)
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
		{"batch without a batch section", Project{Name: "p", Buildspec: spec}, map[string]string{"BatchEnabled": "true"}, "BatchEnabled: batch: the buildspec has no batch section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newJob(t, tc.project, tc.config, "bin")
			_, err := testProvider(t, f.job).Run(context.Background(), f.job)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q\n%s", err, tc.want, f.log)
			}
		})
	}
}

func TestPrimarySourceChoosesTheWorkingDirectory(t *testing.T) {
	f := newJob(t, Project{Name: "p", Buildspec: "version: 0.2\nphases:\n  build:\n    commands:\n      - test -f tool.txt\n      - test -f $CODEBUILD_SRC_DIR_code/main.txt\n"},
		map[string]string{"PrimarySource": "tools"})
	if _, err := testProvider(t, f.job).Run(context.Background(), f.job); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
}

// testProvider is the provider of a worker that isolates as the job's
// project asks: with the machine's sandbox, or none for isolation none.
func testProvider(t *testing.T, job *provider.Job) Provider {
	t.Helper()
	var p Project
	json.Unmarshal(job.Project, &p)
	if p.Isolation == "none" {
		return Provider{}
	}
	needBubblewrap(t)
	iso, err := sandbox.New(sandbox.Auto, "")
	if err != nil {
		t.Fatal(err)
	}
	return Provider{Isolation: iso}
}

func needBubblewrap(t *testing.T) {
	t.Helper()
	if path, _ := sandbox.Detect(""); path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("bubblewrap is not installed; test.sh installs it")
		}
		t.Skip("bubblewrap is not installed")
	}
}

func runScript(t *testing.T, p Project, commands ...string) (string, error) {
	t.Helper()
	p.Buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n"
	for _, c := range commands {
		p.Buildspec += "      - " + strconvQuote(c) + "\n"
	}
	f := newJob(t, p, nil)
	_, err := testProvider(t, f.job).Run(context.Background(), f.job)
	return f.log.String(), err
}

func runScriptWith(t *testing.T, pr Provider, p Project, commands ...string) (string, error) {
	t.Helper()
	p.Buildspec = "version: 0.2\nphases:\n  build:\n    commands:\n"
	for _, c := range commands {
		p.Buildspec += "      - " + strconvQuote(c) + "\n"
	}
	f := newJob(t, p, nil)
	_, err := pr.Run(context.Background(), f.job)
	return f.log.String(), err
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestBubblewrapIsolation(t *testing.T) {
	needBubblewrap(t)
	// A listener on the host's loopback: an isolated build without the network
	// has a loopback of its own and cannot reach it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:")
	reach := "exec 3<>/dev/tcp/127.0.0.1/" + port
	for _, tc := range []struct {
		name     string
		project  Project
		commands []string
		fails    string
	}{
		{"host is read-only", Project{Name: "p"}, []string{"touch /etc/sluice-was-here"}, "exited with code 1"},
		{"workspace, HOME and /tmp are writable", Project{Name: "p"}, []string{"touch $CODEBUILD_SRC_DIR/x $HOME/y /tmp/z"}, ""},
		{"own PID namespace", Project{Name: "p"}, []string{"test $$ -lt 10"}, ""},
		{"no network unless allowed", Project{Name: "p"}, []string{reach}, "exited with code 1"},
		{"network when allowed", Project{Name: "p", Network: true}, []string{reach}, ""},
		{"the data directory, /root and /home are absent", Project{Name: "p"}, []string{"test ! -e /root", "test ! -e /home", "test ! -e " + filepath.Dir(os.TempDir()) + "/no-such"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, err := runScript(t, tc.project, tc.commands...)
			switch {
			case tc.fails == "" && err != nil:
				t.Fatalf("failed: %v\n%s", err, log)
			case tc.fails != "" && (err == nil || !strings.Contains(err.Error(), tc.fails)):
				t.Fatalf("error %v, want %q\n%s", err, tc.fails, log)
			}
			if !strings.Contains(log, "isolated with bubblewrap") {
				t.Fatalf("the log does not say the build is isolated:\n%s", log)
			}
		})
	}
	if _, err := os.Stat("/etc/sluice-was-here"); err == nil {
		t.Fatal("an isolated build wrote to the host")
	}
}

// Only the worker's operator turns isolation off: a project that asks for
// none is isolated all the same.
func TestProjectCannotTurnIsolationOff(t *testing.T) {
	needBubblewrap(t)
	iso, err := sandbox.New(sandbox.Auto, "")
	if err != nil {
		t.Fatal(err)
	}
	log, err := runScriptWith(t, Provider{Isolation: iso}, Project{Name: "p", Isolation: "none"}, "test $$ -lt 10", "test ! -e /root", "! cat /etc/shadow")
	if err != nil || !strings.Contains(log, "only the worker's operator can turn isolation off") {
		t.Fatalf("%v\n%s", err, log)
	}
}

func TestBubblewrapRequiredButMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "bwrap")
	if _, err := sandbox.New(sandbox.Bubblewrap, missing); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("isolation bubblewrap without bwrap: %v", err)
	}
	iso, err := sandbox.New(sandbox.Auto, missing)
	if err != nil {
		t.Fatal(err)
	}
	log, err := runScriptWith(t, Provider{Isolation: iso}, Project{Name: "p"}, "touch ran")
	if err == nil || !strings.Contains(err.Error(), "--isolation none") {
		t.Fatalf("auto without bwrap ran the build: %v\n%s", err, log)
	}
}

// The cache paths of one build come back in the next build of the project.
func TestCacheKeptBetweenBuilds(t *testing.T) {
	var kept []byte
	spec := `version: 0.2
phases:
  install:
    commands:
      - if [ -f deps/lib.txt ]; then echo "cache hit $(cat deps/lib.txt) $(cat $HOME/.m2/repo.txt)"; else mkdir -p deps $HOME/.m2 && echo v1 > deps/lib.txt && echo m2 > $HOME/.m2/repo.txt && echo "cache miss"; fi
cache:
  paths:
    - deps/**/*
    - /root/.m2/**/*
    - /opt/tools/**
`
	build := func() string {
		f := newJob(t, Project{Name: "p", Buildspec: spec, Isolation: "none"}, nil)
		f.job.LoadCache = func(context.Context) (io.ReadCloser, error) {
			if kept == nil {
				return nil, fs.ErrNotExist
			}
			return io.NopCloser(bytes.NewReader(kept)), nil
		}
		f.job.SaveCache = func(_ context.Context, r io.Reader) error {
			var err error
			kept, err = io.ReadAll(r)
			return err
		}
		if _, err := testProvider(t, f.job).Run(context.Background(), f.job); err != nil {
			t.Fatalf("%v\n%s", err, f.log)
		}
		return f.log.String()
	}
	if log := build(); !strings.Contains(log, "cache miss") || !strings.Contains(log, "cache saved (2 files)") || !strings.Contains(log, "/opt/tools/** is outside the source directory and HOME") {
		t.Fatalf("first build:\n%s", log)
	}
	if log := build(); !strings.Contains(log, "cache restored") || !strings.Contains(log, "cache hit v1 m2") {
		t.Fatalf("second build:\n%s", log)
	}
}

func TestBatchBuilds(t *testing.T) {
	batch := `version: 0.2
env:
  exported-variables: [LAST]
phases:
  build:
    commands:
      - echo "$CODEBUILD_BATCH_BUILD_IDENTIFIER OS=$OS" >> order.log
      - mkdir -p dist && echo "$OS" > dist/os.txt
      - export LAST=$CODEBUILD_BATCH_BUILD_IDENTIFIER
      - test "$OS" != broken
artifacts:
  files: ["**/*"]
  base-directory: dist
batch:
  build-graph:
    - identifier: test
      depend-on: [build]
      env: {variables: {OS: test}}
    - identifier: build
      env: {variables: {OS: linux}}
    - identifier: flaky
      ignore-failure: true
      env: {variables: {OS: broken}}
    - identifier: after-flaky
      depend-on: [flaky]
      env: {variables: {OS: never}}
`
	f := newJob(t, Project{Name: "p", Buildspec: batch, Isolation: "none"},
		map[string]string{"BatchEnabled": "true", "CombineArtifacts": "true"}, "all")
	res, err := testProvider(t, f.job).Run(context.Background(), f.job)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	got := zipNames(t, f.job.Outputs[0].Path)
	if got["build/os.txt"] != "linux\n" || got["test/os.txt"] != "test\n" || len(got) != 2 {
		t.Fatalf("combined artifact: %v", got)
	}
	log := f.log.String()
	if strings.Index(log, "batch build build: started") > strings.Index(log, "batch build test: started") {
		t.Fatalf("test ran before the build it depends on:\n%s", log)
	}
	if !strings.Contains(log, "batch build flaky: failed, ignored") || !strings.Contains(log, "batch build after-flaky: not run: it depends on flaky") {
		t.Fatalf("log:\n%s", log)
	}
	if res.OutputVariables["LAST"] != "test" {
		t.Fatalf("output variables %v", res.OutputVariables)
	}
	// Without CombineArtifacts, outputs are matched to builds by identifier;
	// a failure that is not ignored fails the batch.
	f = newJob(t, Project{Name: "p", Buildspec: batch, Isolation: "none"}, map[string]string{"BatchEnabled": "true"}, "build")
	if _, err := testProvider(t, f.job).Run(context.Background(), f.job); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	if got := zipNames(t, f.job.Outputs[0].Path); got["os.txt"] != "linux\n" {
		t.Fatalf("artifact of build: %v", got)
	}
	strict := strings.Replace(batch, "      ignore-failure: true\n", "", 1)
	f = newJob(t, Project{Name: "p", Buildspec: strict, Isolation: "none"}, map[string]string{"BatchEnabled": "true"})
	if _, err := testProvider(t, f.job).Run(context.Background(), f.job); err == nil || !strings.Contains(err.Error(), "batch failed: flaky") {
		t.Fatalf("a failed build of the batch: %v", err)
	}
}

func TestBuildspecSecrets(t *testing.T) {
	spec := "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: npm-token:token\nphases:\n  build:\n    commands:\n      - test \"$TOKEN\" = s3cret\n"
	f := newJob(t, Project{Name: "p", Buildspec: spec, Isolation: "none"}, nil)
	if _, err := testProvider(t, f.job).Run(context.Background(), f.job); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	bad := strings.Replace(spec, "npm-token", "other", 1)
	f = newJob(t, Project{Name: "p", Buildspec: bad, Isolation: "none"}, nil)
	if _, err := testProvider(t, f.job).Run(context.Background(), f.job); err == nil || !strings.Contains(err.Error(), "env.secrets-manager.TOKEN: secret other") {
		t.Fatalf("an undeclared secret: %v", err)
	}
}

// TestSecretsResolvingToNothing: a parameter-store or secrets-manager entry,
// or a project variable of those types, whose secret is empty fails the
// build naming the variable and the secret, before any command runs.
func TestSecretsResolvingToNothing(t *testing.T) {
	run := "phases:\n  build:\n    commands:\n      - touch ran\n"
	for _, tc := range []struct {
		name    string
		project Project
		want    string
	}{
		{"parameter-store", Project{Name: "p", Isolation: "none", Buildspec: "version: 0.2\nenv:\n  parameter-store:\n    DB_PASSWORD: blank\n" + run},
			"env.parameter-store.DB_PASSWORD: secret blank resolved to nothing"},
		{"secrets-manager", Project{Name: "p", Isolation: "none", Buildspec: "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: blank:key\n" + run},
			"env.secrets-manager.TOKEN: secret blank resolved to nothing"},
		{"secrets-manager naming no secret", Project{Name: "p", Isolation: "none", Buildspec: "version: 0.2\nenv:\n  secrets-manager:\n    TOKEN: :key\n" + run},
			`env.secrets-manager.TOKEN: ":key" names no secret`},
		{"project variable", Project{Name: "p", Isolation: "none", Buildspec: "version: 0.2\n" + run,
			EnvironmentVariables: []Variable{{Name: "KEY", Value: "blank", Type: ParameterStore}}},
			"environment variable KEY: secret blank resolved to nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newJob(t, tc.project, nil)
			_, err := (Provider{}).Run(context.Background(), f.job)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q\n%s", err, tc.want, f.log)
			}
			if _, err := os.Stat(filepath.Join(f.job.WorkDir, "ran")); err == nil {
				t.Fatal("the build ran on an empty secret")
			}
		})
	}
}

func TestWorkerIsolationNoneOverridesTheProject(t *testing.T) {
	needBubblewrap(t)
	f := newJob(t, Project{Name: "p", Isolation: "bubblewrap", Buildspec: "version: 0.2\nphases:\n  build:\n    commands:\n      - test $$ -gt 10\n"}, nil)
	none, err := sandbox.New(sandbox.None, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Provider{Isolation: none}).Run(context.Background(), f.job); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	if strings.Contains(f.log.String(), "isolated with bubblewrap") {
		t.Fatalf("isolated despite the worker's --isolation none:\n%s", f.log)
	}
}

// TestBuildIdentity: the variables that say which build this is, in
// CodeBuild's formats, with the server's region.
func TestBuildIdentity(t *testing.T) {
	spec := `version: 0.2
env:
  exported-variables: [CODEBUILD_BUILD_ID, CODEBUILD_BUILD_ARN, CODEBUILD_BUILD_NUMBER, CODEBUILD_INITIATOR, CODEBUILD_RESOLVED_SOURCE_VERSION, REGIONS]
phases:
  build:
    commands:
      - export REGIONS="$AWS_REGION $AWS_DEFAULT_REGION"
`
	f := newJob(t, Project{Name: "web", Buildspec: spec, Isolation: "none"}, nil)
	f.job.ID = "b1e6661e-e4f2-4156-9ab9-82a19ed0e0e0"
	f.job.Region, f.job.BuildNumber, f.job.Revision = "eu-west-3", 42, "0123456789abcdef0123456789abcdef01234567"
	res, err := (Provider{}).Run(context.Background(), f.job)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	want := map[string]string{
		"CODEBUILD_BUILD_ID":                "web:b1e6661e-e4f2-4156-9ab9-82a19ed0e0e0",
		"CODEBUILD_BUILD_ARN":               "arn:sluice:codebuild:eu-west-3:local:build/web:b1e6661e-e4f2-4156-9ab9-82a19ed0e0e0",
		"CODEBUILD_BUILD_NUMBER":            "42",
		"CODEBUILD_INITIATOR":               "codepipeline/app",
		"CODEBUILD_RESOLVED_SOURCE_VERSION": "0123456789abcdef0123456789abcdef01234567",
		"REGIONS":                           "eu-west-3 eu-west-3",
	}
	for k, v := range want {
		if got := res.OutputVariables[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
