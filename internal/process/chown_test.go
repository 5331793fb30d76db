//go:build linux

package process_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sluice-ci/sluice/internal/process"
)

// ChownTree gives a whole tree away and nothing outside it, whatever links
// the tree holds.
func TestChownTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root; run the tests as root to cover it")
	}
	const nobody = 65534
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("not yours"), 0o600)
	outsideDir := t.TempDir()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(root, "a", "b", "file"), nil, 0o644)
	os.Symlink(outside, filepath.Join(root, "a", "link-to-file"))
	os.Symlink(outsideDir, filepath.Join(root, "link-to-dir"))
	if err := syscall.Mkfifo(filepath.Join(root, "a", "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := process.ChownTree(root, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) uint32 {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Uid
	}
	for _, p := range []string{"", "a", "a/b", "a/b/file", "a/link-to-file", "link-to-dir", "a/fifo"} {
		if uid := owner(filepath.Join(root, p)); uid != nobody {
			t.Errorf("%s belongs to uid %d", p, uid)
		}
	}
	for _, p := range []string{outside, outsideDir} {
		if uid := owner(p); uid != 0 {
			t.Errorf("%s, outside the tree, was given away (uid %d)", p, uid)
		}
	}
	if err := process.ChownTree(filepath.Join(root, "missing"), nobody, nobody); !os.IsNotExist(err) {
		t.Errorf("a missing tree: %v", err)
	}
}
