//go:build linux

package buildspec

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a log that tests may read while a build writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runYAML(t *testing.T, yml string, mod ...func(*RunConfig)) (Result, string, string) {
	t.Helper()
	return runYAMLCtx(t, context.Background(), yml, mod...)
}

func runYAMLCtx(t *testing.T, ctx context.Context, yml string, mod ...func(*RunConfig)) (Result, string, string) {
	t.Helper()
	spec, _, err := Parse("buildspec.yml", []byte(yml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	src := t.TempDir()
	log := &syncBuffer{}
	cfg := RunConfig{
		Dir:        src,
		Env:        []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()},
		ScratchDir: t.TempDir(),
		Log:        log,
		KillGrace:  time.Second,
	}
	for _, m := range mod {
		m(&cfg)
	}
	res, err := Run(ctx, spec, cfg)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
	}
	return res, log.String(), src
}

func steps(res Result) string {
	var s []string
	for _, p := range res.Phases {
		s = append(s, string(p.Step)+":"+p.Status)
	}
	return strings.Join(s, " ")
}

func TestRunCarriesStateAcrossPhases(t *testing.T) {
	for _, shell := range []string{"bash", "/bin/sh"} {
		t.Run(shell, func(t *testing.T) {
			res, log, src := runYAML(t, `version: 0.2
env:
  shell: `+shell+`
  exported-variables: [FROM_INSTALL, WHERE, UNSET_ONE]
phases:
  install:
    commands:
      - export FROM_INSTALL=hello
      - mkdir sub && cd sub
  post_build:
    commands:
      - echo "seen=$FROM_INSTALL"
      - export WHERE=$(pwd)
`)
			if !res.Succeeded {
				t.Fatalf("failed: %s\n%s", res.Message, log)
			}
			if !strings.Contains(log, "seen=hello") {
				t.Errorf("export not carried:\n%s", log)
			}
			want := map[string]string{"FROM_INSTALL": "hello", "WHERE": filepath.Join(src, "sub"), "UNSET_ONE": ""}
			for k, v := range want {
				if got, ok := res.ExportedVariables[k]; !ok || got != v {
					t.Errorf("exported %s = %q (present %v), want %q", k, got, ok, v)
				}
			}
		})
	}
}

func TestRunCarriesPlainVariablesInBash(t *testing.T) {
	res, log, _ := runYAML(t, `version: 0.2
phases:
  pre_build:
    commands:
      - COMMIT_HASH=abc1234
      - IMAGE_TAG=${COMMIT_HASH:=latest}
  build:
    commands:
      - echo "tag=$IMAGE_TAG"
      - test -z "$(printenv IMAGE_TAG)"
`)
	if !res.Succeeded || !strings.Contains(log, "tag=abc1234") {
		t.Fatalf("succeeded=%v %s\n%s", res.Succeeded, res.Message, log)
	}
}

func TestRunVersion01SeparateShells(t *testing.T) {
	res, log, _ := runYAML(t, `version: 0.1
phases:
  build:
    commands:
      - export X=1; cd /
      - echo "x=[$X] pwd=$(pwd)"
`)
	if !res.Succeeded {
		t.Fatalf("failed: %s\n%s", res.Message, log)
	}
	if strings.Contains(log, "x=[1]") || strings.Contains(log, "pwd=/\n") {
		t.Errorf("state carried between 0.1 commands:\n%s", log)
	}
}

func TestRunTransitions(t *testing.T) {
	for _, tc := range []struct {
		name, yml, steps, msg string
		succeeded             bool
		logHas, logHasNot     []string
	}{
		{
			name: "all succeed",
			yml: `version: 0.2
phases:
  install: {commands: ["echo i"]}
  pre_build: {commands: ["echo p"]}
  build: {commands: ["echo b"]}
  post_build: {commands: ["echo s=$CODEBUILD_BUILD_SUCCEEDING"]}
`,
			steps:     "INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED BUILD:SUCCEEDED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:",
			succeeded: true,
			logHas:    []string{"s=1"},
		},
		{
			name: "install fails: nothing else",
			yml: `version: 0.2
phases:
  install: {commands: ["false", "echo after-false"]}
  build: {commands: ["echo build-ran"]}
  post_build: {commands: ["echo post-ran"]}
`,
			steps:     "INSTALL:FAILED",
			msg:       `phase INSTALL: command "false" exited with code 1`,
			logHasNot: []string{"after-false", "build-ran", "post-ran"},
		},
		{
			name: "build fails: post_build runs not succeeding",
			yml: `version: 0.2
phases:
  build: {commands: ["sh -c 'exit 2'", "echo not-reached"]}
  post_build: {commands: ["echo s=$CODEBUILD_BUILD_SUCCEEDING"]}
`,
			steps:     "BUILD:FAILED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:",
			msg:       `phase BUILD: command "sh -c 'exit 2'" exited with code 2`,
			logHas:    []string{"s=0", "Phase complete: BUILD State: FAILED", "Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: sh -c 'exit 2'. Reason: exit status 2"},
			logHasNot: []string{"not-reached"},
		},
		{
			name: "finally runs after a failure, in the same session",
			yml: `version: 0.2
phases:
  pre_build:
    commands: ["export A=set-before", "false", "echo not-reached"]
    finally: ["echo finally-a=$A"]
  build: {commands: ["echo build-ran"]}
`,
			steps:     "PRE_BUILD:FAILED",
			msg:       `phase PRE_BUILD: command "false" exited with code 1`,
			logHas:    []string{"finally-a=set-before"},
			logHasNot: []string{"not-reached", "build-ran"},
		},
		{
			name: "failing finally fails the phase",
			yml: `version: 0.2
phases:
  build:
    commands: ["echo ok"]
    finally: ["exit 3"]
`,
			steps: "BUILD:FAILED UPLOAD_ARTIFACTS:",
			msg:   `phase BUILD: command "exit 3" exited with code 3`,
		},
		{
			name: "CONTINUE goes on, build still fails",
			yml: `version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands: ["false"]
  build: {commands: ["echo s=$CODEBUILD_BUILD_SUCCEEDING"]}
`,
			steps:  "INSTALL:FAILED BUILD:SUCCEEDED UPLOAD_ARTIFACTS:",
			msg:    `phase INSTALL: command "false" exited with code 1`,
			logHas: []string{"s=0"},
		},
		{
			name: "ABORT in build stops the build: its finally runs, post_build does not, no artifacts",
			yml: `version: 0.2
phases:
  build:
    on-failure: ABORT
    commands: ["false", "echo not-reached"]
    finally: ["echo build-finally-ran"]
  post_build: {commands: ["echo post-build-ran"]}
`,
			steps:     "BUILD:FAILED",
			msg:       `phase BUILD: command "false" exited with code 1`,
			logHas:    []string{"build-finally-ran"},
			logHasNot: []string{"post-build-ran", "not-reached"},
		},
		{
			name: "exit in a command ends the phase as its failure",
			yml: `version: 0.2
phases:
  build: {commands: ["exit 4", "echo not-reached"]}
`,
			steps:     "BUILD:FAILED UPLOAD_ARTIFACTS:",
			msg:       `phase BUILD: command "exit 4" exited with code 4`,
			logHasNot: []string{"not-reached"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, log, _ := runYAML(t, tc.yml)
			if got := steps(res); got != tc.steps {
				t.Errorf("steps %s\nwant  %s", got, tc.steps)
			}
			if res.Succeeded != tc.succeeded {
				t.Errorf("succeeded = %v", res.Succeeded)
			}
			if res.Message != tc.msg {
				t.Errorf("message %q\nwant    %q", res.Message, tc.msg)
			}
			for _, s := range tc.logHas {
				if !strings.Contains(log, s) {
					t.Errorf("log lacks %q", s)
				}
			}
			for _, s := range tc.logHasNot {
				if strings.Contains(log, s) {
					t.Errorf("log has %q", s)
				}
			}
			if t.Failed() {
				t.Logf("log:\n%s", log)
			}
		})
	}
}

func TestRunRetry(t *testing.T) {
	res, log, src := runYAML(t, `version: 0.2
phases:
  build:
    on-failure: RETRY-2
    commands:
      - echo x >> attempts
      - false
  post_build: {commands: ["echo post-ran"]}
`)
	b, _ := os.ReadFile(filepath.Join(src, "attempts"))
	if n := strings.Count(string(b), "x"); n != 3 {
		t.Errorf("ran %d times, want 3 (1 + 2 retries)\n%s", n, log)
	}
	if res.Succeeded || steps(res) != "BUILD:FAILED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:" {
		t.Errorf("succeeded=%v steps %s", res.Succeeded, steps(res))
	}
	if strings.Count(log, "Retrying phase BUILD") != 2 {
		t.Errorf("log:\n%s", log)
	}

	// A pattern that does not match the failure: no retry.
	_, log, src = runYAML(t, `version: 0.2
phases:
  build:
    on-failure: RETRY-2-nomatch
    commands: ["echo x >> attempts", "false"]
`)
	b, _ = os.ReadFile(filepath.Join(src, "attempts"))
	if n := strings.Count(string(b), "x"); n != 1 {
		t.Errorf("ran %d times, want 1\n%s", n, log)
	}
}

func TestRunEnvironment(t *testing.T) {
	res, log, src := runYAML(t, `version: 0.2
env:
  variables:
    FROM_SPEC: spec
    OVERRIDDEN: spec
  exported-variables: [FROM_SPEC, OVERRIDDEN, SECRET, CODEBUILD_SRC_DIR, CODEBUILD_SRC_DIR_other, CODEBUILD_BUILD_ID, CODEBUILD_BUILD_NUMBER, CODEBUILD_INITIATOR, CODEBUILD_SOURCE_VERSION, CODEBUILD_RESOLVED_SOURCE_VERSION, CODEBUILD_START_TIME, CODEBUILD_BUILD_SUCCEEDING, SLUICE_BUILD, CODEBUILD_BUILD_ARN, REGIONS]
phases:
  install:
    runtime-versions: {nodejs: 18}
    commands: ["true", 'export REGIONS="$AWS_REGION $AWS_DEFAULT_REGION"']
`, func(c *RunConfig) {
		c.Variables = map[string]string{"OVERRIDDEN": "project"}
		c.Secrets = map[string]string{"SECRET": "s3cr3t"}
		c.SecondaryDirs = map[string]string{"other": "/src/other"}
		c.BuildID, c.BuildNumber, c.Initiator = "proj:123", "7", "me"
		c.BuildARN, c.Region = "arn:sluice:codebuild:eu-west-3:local:build/proj:123", "eu-west-3"
		c.SourceVersion, c.ResolvedSourceVersion = "main", "deadbeef"
	})
	if !res.Succeeded {
		t.Fatalf("%s\n%s", res.Message, log)
	}
	want := map[string]string{
		"FROM_SPEC": "spec", "OVERRIDDEN": "project", "SECRET": "s3cr3t",
		"CODEBUILD_SRC_DIR": src, "CODEBUILD_SRC_DIR_other": "/src/other",
		"CODEBUILD_BUILD_ID": "proj:123", "CODEBUILD_BUILD_NUMBER": "7", "CODEBUILD_INITIATOR": "me",
		"CODEBUILD_SOURCE_VERSION": "main", "CODEBUILD_RESOLVED_SOURCE_VERSION": "deadbeef",
		"CODEBUILD_BUILD_SUCCEEDING": "1", "SLUICE_BUILD": "1",
		"CODEBUILD_BUILD_ARN": "arn:sluice:codebuild:eu-west-3:local:build/proj:123", "REGIONS": "eu-west-3 eu-west-3",
	}
	for k, v := range want {
		if got := res.ExportedVariables[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if st := res.ExportedVariables["CODEBUILD_START_TIME"]; len(st) < 13 {
		t.Errorf("CODEBUILD_START_TIME = %q", st)
	}
	for _, m := range []string{"Entering phase INSTALL", "Running command true", "Phase complete: INSTALL State: SUCCEEDED", "runtime-versions"} {
		if !strings.Contains(log, "[Container] ") || !strings.Contains(log, m) {
			t.Errorf("log lacks %q:\n%s", m, log)
		}
	}
}

func TestRunCancelKillsSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	fifo := filepath.Join(dir, "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var res Result
	var log string
	go func() {
		defer close(done)
		res, log, _ = runYAMLCtx(t, ctx, `version: 0.2
phases:
  build:
    commands:
      - sleep 300 & echo $! > `+pidFile+`; echo started > `+fifo+`; wait
  post_build: {commands: ["echo post-ran"]}
`)
	}()
	// The command writes to a FIFO once sleep has started; reading it
	// blocks until then.
	b, err := os.ReadFile(fifo)
	if err != nil || !strings.Contains(string(b), "started") {
		t.Fatalf("reading the FIFO: %q %v", b, err)
	}
	start := time.Now()
	cancel()
	<-done
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to stop", d)
	}
	if res.Succeeded || !strings.Contains(res.Message, "stopped during phase BUILD") {
		t.Errorf("succeeded=%v message %q", res.Succeeded, res.Message)
	}
	if strings.Contains(log, "post-ran") {
		t.Error("post_build ran after the build was stopped")
	}
	b, _ = os.ReadFile(pidFile)
	pid := strings.TrimSpace(string(b))
	// SIGKILL has been sent; the kernel takes a moment to finish the process.
	// Gone, or a zombie nobody reaps (PID 1 here reaps no orphans), is dead.
	dead := func() bool {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		return err != nil || strings.Contains(string(st), ") Z ")
	}
	for deadline := time.Now().Add(5 * time.Second); !dead(); {
		if time.Now().After(deadline) {
			t.Fatalf("sleep %s still running 5 s after the build was stopped", pid)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, bounded above
	}
}
