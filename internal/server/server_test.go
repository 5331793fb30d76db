package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// These tests run the whole server in the test's own process, so that the race
// detector sees the API, the service, the sweeper and the in-process workers
// working together (the e2e suite drives the built binary instead).

func startServer(t *testing.T, configure ...func(*server.Config)) (*client.Client, string) {
	t.Helper()
	s, c, _ := runServer(t, configure...)
	return c, s.URL()
}

// runServer starts a server (2 in-process workers unless configure says
// otherwise) and returns it, an admin client over HTTP, and what stops it
// and returns Run's error; the test's cleanup stops it too.
func runServer(t *testing.T, configure ...func(*server.Config)) (*server.Server, *client.Client, func() error) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := server.Config{
		DataDir: dir, Addr: "127.0.0.1:0", Workers: 2, Lease: 3 * time.Second, SweepInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range configure {
		f(&cfg)
	}
	s, err := server.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var stopped error
	var once sync.Once
	stop := func() error {
		once.Do(func() {
			cancel()
			stopped = <-done
		})
		return stopped
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("server: %v", err)
		}
		s.Close()
	})
	fi, err := os.Stat(filepath.Join(dir, server.AdminTokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v %v", fi, err)
	}
	token, _ := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
	return s, client.New(s.URL(), strings.TrimSpace(string(token))), stop
}

func waitEnd(t *testing.T, c *client.Client, name, id string) *wire.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var since time.Time
	for {
		e, err := c.Execution(ctx, name, id, since, 10*time.Second)
		if err != nil {
			t.Fatalf("execution %s: %v", id, err)
		}
		if e.Terminal() {
			return e
		}
		since = e.LastUpdateTime
	}
}

const pipe = `
name: race
executionMode: PARALLEL
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        namespace: b
        commands:
          - for i in $(seq 200); do echo line $i; done
          - export V=7
          - mkdir -p out && echo hi > out/f
        outputArtifacts: [{name: out, files: ["out/**"]}]
        outputVariables: [V]
      - name: noop
        provider: Noop
  - name: Use
    actions:
      - name: read
        provider: Commands
        inputArtifacts: [out]
        commands: ["test \"$(cat out/f)\" = hi", "test #{b.V} = 7"]
`

func TestWholeServerRuns(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	if _, err := c.ApplyPipeline(ctx, "race.yml", []byte(pipe), false); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		id, err := c.Start(ctx, "race", wire.StartRequest{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		if e := waitEnd(t, c, "race", id); e.Status != "Succeeded" {
			t.Fatalf("execution %s: %s %s", id, e.Status, e.StatusSummary)
		}
		chunk, err := c.Log(ctx, "race", id, "make", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(chunk.Data), "line 200\n") || !chunk.Done {
			t.Fatalf("log of make: done=%v\n%s", chunk.Done, chunk.Data)
		}
	}
}

func TestWholeServerAbandon(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	src := "name: slow\nstages:\n  - name: S\n    actions:\n      - name: wait\n        provider: Commands\n        commands: [\"echo started\", \"sleep 300\"]\n"
	if _, err := c.ApplyPipeline(ctx, "slow.yml", []byte(src), false); err != nil {
		t.Fatal(err)
	}
	id, err := c.Start(ctx, "slow", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Follow the log until the command has started.
	var offset int64
	var seen string
	for !strings.Contains(seen, "started") {
		chunk, err := c.Log(ctx, "slow", id, "wait", offset, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if chunk.Done {
			t.Fatalf("the action ended before it was abandoned: %s", seen)
		}
		seen += string(chunk.Data)
		offset = chunk.NextOffset
	}
	if err := c.Stop(ctx, "slow", id, wire.StopRequest{Abandon: true, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	e := waitEnd(t, c, "slow", id)
	if e.Status != "Stopped" || e.Stages[0].Actions[0].Status != "Abandoned" {
		t.Fatalf("after abandon: %s / %s", e.Status, e.Stages[0].Actions[0].Status)
	}
	// A second stop is refused: the execution has ended.
	if err := c.Stop(ctx, "slow", id, wire.StopRequest{}); !client.IsCode(err, "Conflict") {
		t.Fatalf("second stop: %v", err)
	}
}

func TestUnauthenticated(t *testing.T) {
	_, url := startServer(t)
	for token, want := range map[string]string{"": "missing token", "sluice_wrong": "invalid token"} {
		_, err := client.New(url, token).Pipelines(context.Background())
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != 401 || !strings.Contains(ce.Message, want) {
			t.Errorf("token %q: %v, want 401 with %q", token, err, want)
		}
	}
}

func TestTokenPolicies(t *testing.T) {
	admin, url := startServer(t)
	ctx := context.Background()
	if _, err := admin.ApplyPipeline(ctx, "p.yml", []byte("name: p\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\n"), false); err != nil {
		t.Fatal(err)
	}
	read, err := admin.CreateToken(ctx, "viewer", "read")
	if err != nil {
		t.Fatal(err)
	}
	viewer := client.New(url, read.Token)
	if _, err := viewer.Pipelines(ctx); err != nil {
		t.Fatalf("a read token cannot look: %v", err)
	}
	_, err = viewer.Start(ctx, "p", wire.StartRequest{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 403 || !strings.Contains(ce.Message, "policy read") {
		t.Fatalf("a read token started a pipeline: %v", err)
	}
	if _, err := viewer.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "w", Providers: []string{"Noop"}}); !client.IsCode(err, "Forbidden") {
		t.Fatalf("a read token claimed jobs: %v", err)
	}
	w, _ := admin.CreateToken(ctx, "runner", "worker")
	if _, err := client.New(url, w.Token).Pipelines(ctx); !client.IsCode(err, "Forbidden") {
		t.Fatalf("a worker token listed pipelines: %v", err)
	}
	if _, err := admin.CreateToken(ctx, "x", "root"); !client.IsCode(err, "Invalid") {
		t.Fatalf("unknown policy: %v", err)
	}
	if err := admin.DeleteToken(ctx, "admin"); !client.IsCode(err, "Invalid") {
		t.Fatalf("deleting the admin token: %v", err)
	}
	tokens, _ := admin.Tokens(ctx)
	for _, tk := range tokens {
		if tk.Name == "viewer" && tk.Policy != "read" {
			t.Fatalf("listed %+v", tk)
		}
	}
	if err := admin.DeleteToken(ctx, "viewer"); err != nil {
		t.Fatal(err)
	}
	if _, err := viewer.Pipelines(ctx); !client.IsCode(err, "Unauthorized") {
		t.Fatalf("a revoked token still works: %v", err)
	}
}

func TestBuildActionRunsAProject(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	if err := c.PutSecret(ctx, "npm-token", []byte("s3cret-npm")); err != nil {
		t.Fatal(err)
	}
	project := `name: app-build
buildspec: |
  version: 0.2
  env:
    exported-variables: [VERSION]
  phases:
    build:
      commands:
        - export VERSION=2.$STAGE
        - echo "token is $TOKEN"
        - mkdir -p dist && cp app.txt dist/ && echo built > dist/built.txt
        - mkdir -p reports && printf '<testsuite name="unit"><testcase classname="app" name="ok" time="0.1"/><testcase classname="app" name="bad" time="0.2"><failure message="boom">trace</failure></testcase></testsuite>' > reports/unit.xml
  reports:
    unit:
      files: ["reports/*.xml"]
  artifacts:
    files: ["**/*"]
    base-directory: dist
environmentVariables:
  - {name: STAGE, value: dev}
  - {name: TOKEN, value: npm-token, type: SECRETS_MANAGER}
`
	if _, err := c.ApplyProject(ctx, "project.yml", []byte(project)); err != nil {
		t.Fatal(err)
	}
	pipe := `name: app
stages:
  - name: Source
    actions:
      - name: src
        provider: Commands
        commands: ["echo hello > app.txt"]
        outputArtifacts: [{name: code, files: [app.txt]}]
  - name: Build
    actions:
      - name: build
        provider: CodeBuild
        namespace: build
        configuration:
          ProjectName: app-build
          EnvironmentVariables: '[{"name":"STAGE","value":"prod","type":"PLAINTEXT"}]'
        inputArtifacts: [code]
        outputArtifacts: [bin]
  - name: Use
    actions:
      - name: use
        provider: Commands
        inputArtifacts: [bin]
        commands: ["test \"$(cat built.txt)\" = built", "test -f app.txt", "test #{build.VERSION} = 2.prod"]
`
	if _, err := c.ApplyPipeline(ctx, "p.yml", []byte(pipe), false); err != nil {
		t.Fatal(err)
	}
	id, err := c.Start(ctx, "app", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	e := waitEnd(t, c, "app", id)
	log, _ := c.Log(ctx, "app", id, "build", 0, 0)
	if e.Status != "Succeeded" {
		t.Fatalf("execution %s: %s\n%s", e.Status, e.StatusSummary, log.Data)
	}
	if strings.Contains(string(log.Data), "s3cret-npm") || !strings.Contains(string(log.Data), "token is ***") {
		t.Fatalf("the secret was not masked in the build log:\n%s", log.Data)
	}
	if !strings.Contains(string(log.Data), "Entering phase BUILD") {
		t.Fatalf("no phase markers:\n%s", log.Data)
	}
	// The test report was kept with the execution, failures and all, though
	// the build itself succeeded.
	reports, err := c.Reports(ctx, "app", id, "Build/build")
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Group != "unit" || reports[0].Report.Total != 2 || reports[0].Report.Failed != 1 {
		t.Fatalf("reports = %+v", reports)
	}
	if !strings.HasPrefix(reports[0].Report.Cases[1].Message, "boom") {
		t.Fatalf("failed case = %+v", reports[0].Report.Cases[1])
	}
	if other, _ := c.Reports(ctx, "app", id, "use"); len(other) != 0 {
		t.Fatalf("another action's reports = %+v", other)
	}
}

func TestBuildCacheKeptPerProject(t *testing.T) {
	c, _ := startServer(t)
	ctx := context.Background()
	project := `name: cached
buildspec: |
  version: 0.2
  phases:
    install:
      commands:
        - if [ -f deps/lib.txt ]; then echo "cache hit"; else mkdir -p deps && echo v1 > deps/lib.txt && echo "cache miss"; fi
  cache:
    paths: ["deps/**/*"]
`
	if _, err := c.ApplyProject(ctx, "project.yml", []byte(project)); err != nil {
		t.Fatal(err)
	}
	pipe := `name: app
executionMode: QUEUED
stages:
  - name: Source
    actions:
      - name: src
        provider: Commands
        commands: ["echo x > f"]
        outputArtifacts: [{name: code, files: [f]}]
  - name: Build
    actions:
      - name: build
        provider: CodeBuild
        configuration: {ProjectName: cached}
        inputArtifacts: [code]
`
	if _, err := c.ApplyPipeline(ctx, "p.yml", []byte(pipe), false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cache miss", "cache hit"} {
		id, err := c.Start(ctx, "app", wire.StartRequest{})
		if err != nil {
			t.Fatal(err)
		}
		e := waitEnd(t, c, "app", id)
		log, _ := c.Log(ctx, "app", id, "build", 0, 0)
		if e.Status != "Succeeded" || !strings.Contains(string(log.Data), want) {
			t.Fatalf("%s: want %q in the log:\n%s", e.Status, want, log.Data)
		}
	}
}

// TestBuildIdentityThroughTheServer: the server's --region reaches the build
// through the job, and each build of a project gets the next number.
func TestBuildIdentityThroughTheServer(t *testing.T) {
	c, _ := startServer(t, func(cfg *server.Config) { cfg.Region = "eu-west-3" })
	ctx := context.Background()
	project := `name: numbered
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - echo "number=$CODEBUILD_BUILD_NUMBER region=$AWS_REGION/$AWS_DEFAULT_REGION initiator=$CODEBUILD_INITIATOR"
        - echo "arn=$CODEBUILD_BUILD_ARN"
`
	if _, err := c.ApplyProject(ctx, "project.yml", []byte(project)); err != nil {
		t.Fatal(err)
	}
	pipe := `name: numbers
stages:
  - name: Source
    actions:
      - name: src
        provider: Commands
        commands: ["echo x > x.txt"]
        outputArtifacts: [{name: code, files: [x.txt]}]
  - name: Build
    actions:
      - name: build
        provider: CodeBuild
        configuration: {ProjectName: numbered}
        inputArtifacts: [code]
`
	if _, err := c.ApplyPipeline(ctx, "p.yml", []byte(pipe), false); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 2; n++ {
		id, err := c.Start(ctx, "numbers", wire.StartRequest{})
		if err != nil {
			t.Fatal(err)
		}
		e := waitEnd(t, c, "numbers", id)
		log, _ := c.Log(ctx, "numbers", id, "build", 0, 0)
		if e.Status != "Succeeded" {
			t.Fatalf("execution %s: %s\n%s", e.Status, e.StatusSummary, log.Data)
		}
		want := fmt.Sprintf("number=%d region=eu-west-3/eu-west-3 initiator=codepipeline/numbers", n)
		if !strings.Contains(string(log.Data), want) || !strings.Contains(string(log.Data), "arn=arn:sluice:codebuild:eu-west-3:local:build/numbered:") {
			t.Fatalf("build %d: want %q and the build's ARN in\n%s", n, want, log.Data)
		}
	}
}

func TestRegionNameChecked(t *testing.T) {
	_, err := server.Open(context.Background(), server.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Region: "eu=disk"})
	if err == nil || !strings.Contains(err.Error(), `--region "eu=disk"`) {
		t.Fatalf("a bad region name: %v", err)
	}
}
