package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's quick start, command for command, with the built binary for
// `go run ./cmd/sluice` and a free port for 8080: the server runs from a
// directory with the default, relative, --data sluice-data. A CodeBuild
// action runs too: every path a job is given must be absolute, or it names
// nothing from the job's own directory (issue: bwrap could not find
// sluice-data/work/job-…).
func TestQuickStart(t *testing.T) {
	singleServer(t, "the quick start is one server on SQLite")
	needSandbox(t)
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "examples"), 0o755); err != nil {
		t.Fatal(err)
	}
	hello, err := os.ReadFile("../examples/hello.yml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "examples", "hello.yml"), string(hello))

	// go run ./cmd/sluice server
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	srv := exec.Command(sluiceBin, "server", "--addr", "127.0.0.1:0")
	srv.Dir = dir
	srv.Env = cliEnv("", "")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			srv.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			t.Logf("server log:\n%s", b)
		}
	})
	var url string
	eventually(t, 20*time.Second, "the server to write sluice-data/server.url", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "sluice-data", "server.url"))
		url = strings.TrimSpace(string(b))
		return err == nil && url != ""
	})

	// export SLUICE_TOKEN=$(cat sluice-data/admin.token)
	token := readFile(t, filepath.Join(dir, "sluice-data", "admin.token"))
	env := cliEnv(url, strings.TrimSpace(token))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(sluiceBin, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("./sluice %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}
	// The README's commands, read from it: a quick start that drifts from
	// what works fails here.
	var id string
	ran := 0
	for _, line := range quickStartCommands(t) {
		args := strings.Fields(strings.ReplaceAll(line, "EXECUTION_ID", id))
		out := run(args[1:]...)
		ran++
		switch args[1] {
		case "start":
			got := lines(out)
			if len(got) != 2 || got[1] != "Succeeded" {
				t.Fatalf("%s printed %q, want the id then Succeeded", line, got)
			}
			id = got[0]
		case "execution":
			wantContains(t, line, out, `"status": "Succeeded"`)
		case "logs":
			wantContains(t, line, out, "hello from 1.0.")
		}
	}
	if ran < 5 || id == "" {
		t.Fatalf("ran %d commands of the README's quick start (execution %q): expected apply, start, get, logs, download", ran, id)
	}
	wantContains(t, "the artifact", readFile(t, filepath.Join(dir, "bin", "out", "message.txt")), "hello from 1.0.")

	// A CodeBuild action, with the same relative data directory.
	writeFile(t, filepath.Join(dir, "project.yml"), `name: app-build
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - case "$CODEBUILD_SRC_DIR" in /*) ;; *) echo "relative CODEBUILD_SRC_DIR $CODEBUILD_SRC_DIR"; exit 1;; esac
        - test "$(cat "$CODEBUILD_SRC_DIR_bin/out/message.txt")" = "$(cat out/message.txt)"
        - echo built > built.txt
  artifacts:
    files: [built.txt]
`)
	run("project", "apply", "-f", "project.yml")
	writeFile(t, filepath.Join(dir, "build.yml"), `name: build
stages:
  - name: Make
    actions:
      - name: make
        provider: Commands
        commands: [mkdir -p out, echo made > out/message.txt]
        outputArtifacts: [{name: code, files: ["out/**"]}, {name: bin, files: ["out/**"]}]
  - name: Build
    actions:
      - name: build
        provider: CodeBuild
        configuration: {ProjectName: app-build, PrimarySource: code}
        inputArtifacts: [code, bin]
        outputArtifacts: [{name: built}]
`)
	run("pipeline", "apply", "-f", "build.yml")
	out := lines(run("start", "build", "--wait"))
	if len(out) != 2 || out[1] != "Succeeded" {
		t.Fatalf("./sluice start build --wait printed %q; the build's log:\n%s", out, run("logs", "build", out[0], "build"))
	}
}

// quickStartCommands returns the ./sluice lines of the README's quick start
// (the block that drives the server), without their comments.
func quickStartCommands(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Quick start")
	if !ok {
		t.Fatal("README.md has no Quick start section")
	}
	rest, _, _ = strings.Cut(rest, "\n## ")
	var cmds []string
	for _, line := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(line, "./sluice ") {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		cmds = append(cmds, strings.TrimSpace(line))
	}
	if len(cmds) == 0 {
		t.Fatal("README.md's quick start has no ./sluice commands")
	}
	return cmds
}
