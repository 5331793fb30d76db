//go:build linux

package build

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

// testUser creates a user for the test and removes it when the test ends.
// Creating users and switching to them needs root, so the test is skipped
// otherwise.
func testUser(t *testing.T, name string) *buildspec.Account {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("run-as: creating a user and switching to it needs root; run the tests as root to cover it")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("run-as: useradd is not installed, so no user can be created for the test")
	}
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v\n%s", name, err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
				t.Errorf("userdel %s: %v\n%s", name, err, out)
			}
		})
	}
	a, err := buildspec.LookupAccount(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// openAncestors lets every user search the directories from dir up to (not
// including) top, as an administrator would let a run-as user through to
// the worker's directories when builds run without a sandbox.
func openAncestors(t *testing.T, dir, top string) {
	t.Helper()
	for p := filepath.Dir(dir); under(p, top) && p != top; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, fi.Mode().Perm()|0o111); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunAsInBuilds(t *testing.T) {
	const name = "sluice-runas-build"
	acct := testUser(t, name)
	// The phases go from root to the user, back to root and to the user
	// again: each finds the build's files its own, and the session carries.
	spec := `version: 0.2
run-as: ` + name + `
env:
  exported-variables: [WHO]
phases:
  install:
    run-as: root
    commands:
      - id -un > install.who
  pre_build:
    commands:
      - mkdir -m 700 private && echo user > private/by-user
      - cat $CODEBUILD_SRC_DIR_tools/tool.txt > tool.copy
      - mkdir -p $HOME/.cache && echo cached > $HOME/.cache/tool
      - t=/tmp/sluice-runas-$$ && touch $t && rm $t
      - export FROM_USER=$(id -un)
  build:
    run-as: root
    commands:
      - echo "$FROM_USER" > private/by-root
      - id -un > build.who
  post_build:
    commands:
      - id -un > post_build.who
      - stat -c %U private/by-root > by-root.owner
      - export WHO=$(id -un)
`
	for _, tc := range []struct {
		name      string
		isolation string
	}{
		{"directly", "none"},
		{"inside bubblewrap", "bubblewrap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The job's directories hang from a directory of mode 0700, as
			// the worker's do, and outside /tmp, which a sandbox replaces.
			parent, err := os.MkdirTemp("/var/tmp", "sluice-runas-")
			if err != nil {
				t.Skip("/var/tmp is not writable:", err)
			}
			t.Cleanup(func() { os.RemoveAll(parent) })
			t.Setenv("TMPDIR", parent)
			if tc.isolation == "bubblewrap" {
				needBubblewrap(t)
			}
			f := newJob(t, Project{Name: "p", Buildspec: spec, Isolation: tc.isolation}, nil)
			root := filepath.Dir(f.job.WorkDir)
			if tc.isolation == "none" {
				// Run directly, the user must be let through to the job's
				// directory; the worker's stays closed inside a sandbox.
				openAncestors(t, root, "/var/tmp")
			}
			res, err := testProvider(t, f.job).Run(context.Background(), f.job)
			if err != nil {
				t.Fatalf("%v\n%s", err, f.log)
			}
			read := func(p string) string {
				b, _ := os.ReadFile(filepath.Join(f.job.WorkDir, p))
				return strings.TrimSpace(string(b))
			}
			// In a sandbox, root's phases run as the unprivileged build
			// account: root there could undo the sandbox.
			rootName := "root"
			if tc.isolation == "bubblewrap" {
				rootName = sandbox.BuildName
			}
			if read("install.who") != rootName || read("build.who") != rootName || read("post_build.who") != name || res.OutputVariables["WHO"] != name {
				t.Fatalf("install ran as %q, build as %q, post_build as %q, exported %v\n%s",
					read("install.who"), read("build.who"), read("post_build.who"), res.OutputVariables, f.log)
			}
			if read("private/by-root") != name || read("by-root.owner") != name {
				t.Errorf("root's phase wrote %q into the user's directory, now owned by %q", read("private/by-root"), read("by-root.owner"))
			}
			if read("tool.copy") != "tool" {
				t.Errorf("the user could not read the secondary source: %q", read("tool.copy"))
			}
			for _, p := range []string{filepath.Join(f.job.WorkDir, "private", "by-root"), filepath.Join(buildHome(f.job), ".cache", "tool")} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != acct.UID {
					t.Errorf("%s belongs to uid %d, want %d", p, uid, acct.UID)
				}
			}
			if !strings.Contains(f.log.String(), "as "+name+" (uid "+strconv.Itoa(int(acct.UID))+")") {
				t.Errorf("the log does not say who runs the commands:\n%s", f.log)
			}
		})
	}
}

// Run directly, a build whose user cannot pass the worker's directories
// fails before any command, saying which directory is in the way.
func TestRunAsBlockedWithoutSandbox(t *testing.T) {
	const name = "sluice-runas-build"
	testUser(t, name)
	f := newJob(t, Project{Name: "p", Isolation: "none", Buildspec: "version: 0.2\nphases:\n  build:\n    run-as: " + name + "\n    commands:\n      - touch ran\n"}, nil)
	_, err := testProvider(t, f.job).Run(context.Background(), f.job)
	blocked := filepath.Dir(filepath.Dir(f.job.WorkDir))
	want := "inline buildspec of project p:4: phases.build: run-as " + name + ": " + name + " cannot enter " + blocked
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v\nwant %s…", err, want)
	}
	if _, err := os.Stat(filepath.Join(f.job.WorkDir, "ran")); err == nil {
		t.Fatal("a command ran")
	}
}
