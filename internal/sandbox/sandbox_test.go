package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNewModes(t *testing.T) {
	if _, err := New("docker", ""); err == nil || !strings.Contains(err.Error(), `isolation "docker": want auto, bubblewrap or none`) {
		t.Fatalf("unknown mode: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "bwrap")
	if _, err := New(Bubblewrap, missing); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("bubblewrap without bwrap: %v", err)
	}
	auto, err := New("", missing)
	if err != nil {
		t.Fatal(err)
	}
	if auto.Enabled() || auto.Check() == nil || !strings.Contains(auto.Check().Error(), "--isolation none") {
		t.Fatalf("auto without bwrap: enabled %v, check %v", auto.Enabled(), auto.Check())
	}
	if auto.Args(Spec{}) != nil {
		t.Fatal("a sandbox that does not work gave a command")
	}
	none, err := New(None, missing)
	if err != nil || none.Check() != nil || none.Enabled() || !strings.Contains(none.Describe(), "unsandboxed") {
		t.Fatalf("none: %v %v %q", err, none.Check(), none.Describe())
	}
}

func TestEnvReplacesTheWorkersHome(t *testing.T) {
	iso := &Isolation{Mode: Auto}
	got := iso.Env([]string{"PATH=/usr/bin", "HOME=/root", "TMPDIR=/var/lib/x", "USER=root", "LANG=C"}, "/w/job/home")
	want := []string{"PATH=/usr/bin", "LANG=C", "HOME=/w/job/home"}
	if !slices.Equal(got, want) {
		t.Fatalf("Env = %q, want %q", got, want)
	}
}

// The view is made up: the host's root is never shown whole, and a hidden
// directory under a shown one (a data directory under /opt) is covered.
func TestViewHidesWhatItMust(t *testing.T) {
	path, reason := Detect("")
	if path == "" {
		t.Skip(reason)
	}
	data, err := os.MkdirTemp("/opt", "sluice-sandbox-test-")
	if err != nil {
		t.Skip("/opt is not writable:", err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	// Readable by all on the host: only the sandbox's cover keeps it out.
	os.Chmod(data, 0o755)
	if err := os.WriteFile(filepath.Join(data, "admin.token"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(data, "work", "job-1")
	if err := os.MkdirAll(job, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(job, 0o777)
	iso, err := New(Auto, "", data)
	if err != nil {
		t.Fatal(err)
	}
	args := iso.Args(Spec{Binds: []string{job}})
	if strings.Contains(strings.Join(args, " "), "--ro-bind / /") {
		t.Fatalf("the host's root is shown: %q", args)
	}
	args = append(args, iso.switchArgs()...)
	script := `cat ` + data + `/admin.token 2>/dev/null && echo LEAK; test ! -e /root || echo LEAK; touch ` + job + `/ok && echo wrote`
	out, err := exec.Command(args[0], append(args[1:], "/bin/sh", "-c", script)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "LEAK") || !strings.Contains(string(out), "wrote") {
		t.Fatalf("%v\n%s", err, out)
	}
}
