//go:build linux

package buildspec

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// testUser creates a user for the test and removes it when the test ends.
// Creating users and switching to them needs root, so the test is skipped
// otherwise.
func testUser(t *testing.T, name string) *Account {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("run-as: creating a user and switching to it needs root; run the tests as root to cover it")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("run-as: useradd is not installed, so no user can be created for the test")
	}
	if _, err := user.Lookup(name); err != nil {
		args := []string{"--no-create-home", "--user-group", "--shell", "/bin/sh"}
		if _, err := user.LookupGroup("users"); err == nil {
			args = append(args, "--groups", "users")
		}
		if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v\n%s", name, err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
				t.Errorf("userdel %s: %v\n%s", name, err, out)
			}
		})
	}
	a, err := LookupAccount(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// openAncestors lets every user search the directories the test's temporary
// directories hang from (testing makes them 0700), as an administrator
// would let a run-as user through to the worker's directories.
func openAncestors(t *testing.T, dirs ...string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	for _, d := range dirs {
		for p := filepath.Dir(d); under(p, tmp) && p != tmp; p = filepath.Dir(p) {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, fi.Mode().Perm()|0o111); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func ownerOf(t *testing.T, path string) uint32 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Uid
}

func TestRunAsSwitchesUsersByPhase(t *testing.T) {
	const name = "sluice-runas-test"
	acct := testUser(t, name)
	home := t.TempDir()
	res, log, src := runYAML(t, `version: 0.2
run-as: `+name+`
env:
  exported-variables: [FROM_ROOT, FROM_USER]
phases:
  install:
    run-as: root
    commands:
      - id -un > install.who
      - export FROM_ROOT=root-was-here
      - PLAIN=kept
      - cd sub 2>/dev/null || { mkdir sub && cd sub; }
  build:
    commands:
      - id -un > $CODEBUILD_SRC_DIR/build.who
      - id -G > $CODEBUILD_SRC_DIR/build.groups
      - echo "$FROM_ROOT $PLAIN $(pwd)" > $CODEBUILD_SRC_DIR/carried
      - echo made > $CODEBUILD_SRC_DIR/install.who.copy
      - mkdir -p $HOME/.cache && echo cached > $HOME/.cache/tool
      - export FROM_USER=$(id -un)
  post_build:
    commands:
      - test -O $CODEBUILD_SRC_DIR/install.who.copy
`, func(c *RunConfig) {
		c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
		c.Owned = []string{home}
		openAncestors(t, c.Dir, c.ScratchDir, home)
	})
	if !res.Succeeded {
		t.Fatalf("build failed: %s\n%s", res.Message, log)
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(src, p))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if got := read("install.who"); got != "root" {
		t.Errorf("install (run-as: root) ran as %q", got)
	}
	if got := read("build.who"); got != name {
		t.Errorf("build ran as %q, want %s", got, name)
	}
	if g, err := user.LookupGroup("users"); err == nil && !strings.Contains(" "+read("build.groups")+" ", " "+g.Gid+" ") {
		t.Errorf("the user's supplementary group users (%s) is missing: %s", g.Gid, read("build.groups"))
	}
	if got, want := read("carried"), "root-was-here kept "+filepath.Join(src, "sub"); got != want {
		t.Errorf("the session did not carry across the change of user: %q, want %q", got, want)
	}
	for _, p := range []string{filepath.Join(src, "install.who.copy"), filepath.Join(home, ".cache", "tool")} {
		if uid := ownerOf(t, p); uid != acct.UID {
			t.Errorf("%s belongs to uid %d, want %d", p, uid, acct.UID)
		}
	}
	if res.ExportedVariables["FROM_ROOT"] != "root-was-here" || res.ExportedVariables["FROM_USER"] != name {
		t.Errorf("exported variables %v", res.ExportedVariables)
	}
	if !strings.Contains(log, "Running commands as "+name+" (uid "+strconv.Itoa(int(acct.UID))+")") {
		t.Errorf("the log does not say who runs the commands:\n%s", log)
	}
}

// A run-as user who cannot reach the build's directories stops the build
// before any command, naming the directory in its way.
func TestRunAsUnreachableDirectory(t *testing.T) {
	const name = "sluice-runas-test"
	testUser(t, name)
	spec, _, err := Parse("buildspec.yml", []byte("version: 0.2\nrun-as: "+name+"\nphases:\n  build:\n    commands:\n      - touch ran\n"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir() // under a directory of mode 0700
	_, err = Run(context.Background(), spec, RunConfig{Dir: src, Env: []string{"PATH=" + os.Getenv("PATH")}, ScratchDir: t.TempDir()})
	blocked := filepath.Dir(src)
	want := "buildspec.yml:2: run-as " + name + ": " + name + " cannot enter " + blocked + ", above the build's directories"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v\nwant %s…", err, want)
	}
	if _, err := os.Stat(filepath.Join(src, "ran")); err == nil {
		t.Fatal("a command ran")
	}
}

func TestRunAsErrors(t *testing.T) {
	bob := &Account{Name: "bob", UID: 1001, GID: 1001}
	lookup := func(name string) (*Account, error) {
		switch name {
		case "bob", "1001":
			return bob, nil
		case "me":
			return &Account{Name: "me", UID: 1000, GID: 1000}, nil
		}
		return nil, errors.New("no such user on this machine (a user name or uid of its user database)")
	}
	const phases = "phases:\n  install:\n    commands: [a]\n  build:\n    run-as: %s\n    commands: [b]\n"
	for _, tc := range []struct {
		name string
		yaml string
		euid int
		want string            // error, or "" for none
		as   map[PhaseName]int // uid each phase runs as, -1 for sluice's own
	}{
		{"sluice not root", "version: 0.2\nrun-as: bob\nphases:\n  build:\n    commands: [b]\n", 1000,
			"b.yml:2: run-as bob: sluice runs as uid 1000 and cannot switch users; run the worker as root", nil},
		{"a phase's user, sluice not root", "version: 0.2\n" + strings.Replace(phases, "%s", "bob", 1), 1000,
			"b.yml:6: phases.build: run-as bob: sluice runs as uid 1000 and cannot switch users; run the worker as root", nil},
		{"unknown user, every one named", "version: 0.2\nrun-as: nobody-here\n" + strings.Replace(phases, "%s", "ghost", 1), 0,
			"b.yml:2: run-as nobody-here: no such user on this machine (a user name or uid of its user database)\n" +
				"b.yml:7: phases.build: run-as ghost: no such user on this machine (a user name or uid of its user database)", nil},
		{"sluice's own user needs no switch", "version: 0.2\nrun-as: me\nphases:\n  build:\n    commands: [b]\n", 1000,
			"", map[PhaseName]int{Build: -1}},
		{"root switches, a phase overrides", "version: 0.2\nrun-as: bob\n" + strings.Replace(phases, "%s", "root", 1), 0,
			"", map[PhaseName]int{Install: 1001, Build: -1}},
		{"numeric uid", "version: 0.2\n" + strings.Replace(phases, "%s", "1001", 1), 0,
			"", map[PhaseName]int{Install: -1, Build: 1001}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, _, err := Parse("b.yml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			look := func(name string) (*Account, error) {
				if name == "root" {
					return &Account{Name: "root"}, nil
				}
				return lookup(name)
			}
			users, err := resolveRunAs(spec, tc.euid, look)
			if tc.want != "" {
				if err == nil || err.Error() != tc.want {
					t.Fatalf("error %v\nwant %s", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for phase, uid := range tc.as {
				a := users[phase]
				switch {
				case uid == -1 && a != nil:
					t.Errorf("%s runs as %s, want sluice's own user", phase, a)
				case uid >= 0 && (a == nil || a.UID != uint32(uid)):
					t.Errorf("%s runs as %v, want uid %d", phase, a, uid)
				}
			}
		})
	}
	if got := cannotSwitch("bob", 1000); got != "run-as bob: sluice runs as uid 1000 and cannot switch users; run the worker as root" {
		t.Errorf("cannotSwitch: %s", got)
	}
}

// An unknown user stops the build before any command, whoever runs sluice.
func TestRunAsUnknownUserRunsNothing(t *testing.T) {
	spec, _, err := Parse("buildspec.yml", []byte("version: 0.2\nphases:\n  install:\n    commands: [touch ran]\n  build:\n    run-as: sluice-no-such-user\n    commands: [touch ran]\n"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	_, err = Run(context.Background(), spec, RunConfig{Dir: src, Env: []string{"PATH=" + os.Getenv("PATH")}})
	want := "buildspec.yml:6: phases.build: run-as sluice-no-such-user: no such user on this machine"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want %s…", err, want)
	}
	if _, err := os.Stat(filepath.Join(src, "ran")); err == nil {
		t.Fatal("a command ran")
	}
}

func TestLookupAccount(t *testing.T) {
	root, err := LookupAccount("root")
	if err != nil || root.UID != 0 || root.GID != 0 {
		t.Fatalf("root: %+v, %v", root, err)
	}
	if byID, err := LookupAccount("0"); err != nil || byID.UID != 0 || byID.Name != "0" {
		t.Fatalf("uid 0: %+v, %v", byID, err)
	}
	if _, err := LookupAccount("4000000000"); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("an unknown uid: %v", err)
	}
}

// Not root, sluice refuses to run any command of a build whose run-as names
// another user. (Run as root, TestRunAsErrors covers the same message.)
func TestRunAsWithoutRoot(t *testing.T) {
	euid := os.Geteuid()
	if euid == 0 {
		t.Skip("sluice runs as root here, and root can switch users; TestRunAsErrors covers the refusal")
	}
	spec, _, err := Parse("buildspec.yml", []byte("version: 0.2\nrun-as: root\nphases:\n  build:\n    commands: [touch ran]\n"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	_, err = Run(context.Background(), spec, RunConfig{Dir: src, Env: []string{"PATH=" + os.Getenv("PATH")}})
	want := "buildspec.yml:2: run-as root: sluice runs as uid " + strconv.Itoa(euid) + " and cannot switch users; run the worker as root"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	if _, err := os.Stat(filepath.Join(src, "ran")); err == nil {
		t.Fatal("a command ran")
	}
}
