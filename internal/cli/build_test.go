//go:build !sluiceclient

package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// sluice build runs a real buildspec with real bash, in a copy of the source.
func TestBuildLocal(t *testing.T) {
	src := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("buildspec.yml", `version: 0.2
env:
  variables:
    GREETING: hello
phases:
  install:
    commands:
      - export TOOL=ready
  build:
    commands:
      - mkdir -p out/docs
      - echo "$GREETING $WHO $TOKEN $TOOL" > out/greeting.txt
      - echo "the token is $TOKEN"
      - echo manual > out/docs/manual.txt
artifacts:
  files: ["**/*"]
  base-directory: out
  secondary-artifacts:
    docs:
      files: ["docs/*"]
      base-directory: out
      discard-paths: yes
`)
	write("input.txt", "source")
	arts := t.TempDir()
	t.Setenv("MY_TOKEN", "s3cret")
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"build", "--source", src, "--artifacts", arts,
		"--env", "WHO=world", "--secret-env", "TOKEN=MY_TOKEN"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if b, _ := os.ReadFile(filepath.Join(arts, "greeting.txt")); string(b) != "hello world s3cret ready\n" {
		t.Fatalf("primary artifact: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(arts, "docs", "manual.txt")); string(b) != "manual\n" {
		t.Fatalf("secondary artifact: %q", b)
	}
	if _, err := os.Stat(filepath.Join(src, "out")); !os.IsNotExist(err) {
		t.Fatalf("the build changed its source directory: %v", err)
	}
	if strings.Contains(out.String(), "s3cret") || !strings.Contains(out.String(), "the token is ***") {
		t.Fatalf("the secret was not masked:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Entering phase BUILD") || !strings.Contains(out.String(), "build succeeded") {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestBuildLocalFailure(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "buildspec.yml"), []byte("version: 0.2\nphases:\n  build:\n    commands:\n      - exit 3\n  post_build:\n    commands:\n      - echo post $CODEBUILD_BUILD_SUCCEEDING\n"), 0o644)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"build", "--source", src}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "build failed") || !strings.Contains(out.String(), "post 0") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
}

// With run-as, sluice build run as root runs the commands as that user, in a
// HOME of its own rather than the caller's.
func TestBuildLocalRunAs(t *testing.T) {
	const name = "sluice-runas-cli"
	if os.Geteuid() != 0 {
		t.Skip("run-as: creating a user and switching to it needs root; run the tests as root to cover it")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("run-as: useradd is not installed, so no user can be created for the test")
	}
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v\n%s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
				t.Errorf("userdel: %v\n%s", err, out)
			}
		})
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "buildspec.yml"), []byte(`version: 0.2
run-as: `+name+`
phases:
  build:
    commands:
      - mkdir -p out && id -un > out/who.txt
      - touch $HOME/written && echo "$HOME" > out/home.txt
artifacts:
  files: ["*"]
  base-directory: out
`), 0o644)
	arts := t.TempDir()
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"build", "--source", src, "--artifacts", arts}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	who, _ := os.ReadFile(filepath.Join(arts, "who.txt"))
	home, _ := os.ReadFile(filepath.Join(arts, "home.txt"))
	if strings.TrimSpace(string(who)) != name {
		t.Fatalf("the build ran as %q\n%s", who, out.String())
	}
	if h := strings.TrimSpace(string(home)); h == os.Getenv("HOME") || !strings.HasSuffix(h, "/home") {
		t.Fatalf("the build's HOME is %q, not one of its own", h)
	}
}

// sluice build gives the build a HOME of its own, removed afterwards, and
// reads its test reports as the server does, even when the build fails.
func TestBuildLocalHomeAndReports(t *testing.T) {
	callerHome := t.TempDir()
	os.WriteFile(filepath.Join(callerHome, ".netrc"), []byte("machine example.com password hunter2\n"), 0o600)
	t.Setenv("HOME", callerHome)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "buildspec.yml"), []byte(`version: 0.2
phases:
  build:
    commands:
      - test ! -e "$HOME/.netrc"
      - test "$HOME" != "`+callerHome+`"
      - echo cache > "$HOME/left-behind"
      - mkdir -p out && echo "$HOME" > out/home.txt
      - echo "initiator=$CODEBUILD_INITIATOR region=$AWS_REGION"
      - mkdir -p reports && printf '<testsuite name="unit"><testcase classname="a" name="ok"/><testcase classname="a" name="bad"><failure message="boom">x</failure></testcase></testsuite>' > reports/unit.xml
      - exit 1
reports:
  unit:
    files: ["reports/*.xml"]
artifacts:
  files: [home.txt]
  base-directory: out
`), 0o644)
	arts := t.TempDir()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"build", "--source", src, "--artifacts", arts}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the build fails)\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "report unit: 2 tests: 1 passed, 1 failed") {
		t.Fatalf("no report summary:\n%s", out.String())
	}
	home, err := os.ReadFile(filepath.Join(arts, "home.txt"))
	if err != nil {
		t.Fatalf("the build failed before its HOME checks passed:\n%s", out.String())
	}
	if _, err := os.Stat(strings.TrimSpace(string(home))); !os.IsNotExist(err) {
		t.Fatalf("the build's HOME %s is still there: %v", home, err)
	}
	if _, err := os.Stat(filepath.Join(callerHome, "left-behind")); !os.IsNotExist(err) {
		t.Fatal("the build wrote into the caller's HOME")
	}
	me, _ := user.Current()
	if !strings.Contains(out.String(), "initiator="+me.Username+" region=local") {
		t.Fatalf("initiator and region:\n%s", out.String())
	}
}
