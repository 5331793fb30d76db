package artifact_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/artifact/artifacttest"
)

func newDisk(t *testing.T) *artifact.Disk {
	t.Helper()
	d, err := artifact.NewDisk(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDiskConformance(t *testing.T) {
	artifacttest.RunStore(t, func(t *testing.T) artifact.Store { return newDisk(t) })
}

func TestNewDiskErrors(t *testing.T) {
	t.Parallel()
	if _, err := artifact.NewDisk(""); err == nil {
		t.Error("NewDisk(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := artifact.NewDisk(file); err == nil {
		t.Error("NewDisk(regular file) succeeded")
	}
}

func TestDiskLayout(t *testing.T) {
	t.Parallel()
	d := newDisk(t)
	ctx := t.Context()
	if _, err := d.Put(ctx, "exec/Out/job.zip", strings.NewReader("zip")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(d.Dir(), "exec", "Out", "job.zip"))
	if err != nil || string(got) != "zip" {
		t.Fatalf("object on disk = %q, %v", got, err)
	}
	if names := tree(t, d.Dir()); strings.Join(names, " ") != "exec exec/Out exec/Out/job.zip" {
		t.Fatalf("store holds %q; want no temporary files left", names)
	}

	// Delete prunes the directories it emptied, and never the root.
	if err := d.Delete(ctx, "exec/Out/job.zip"); err != nil {
		t.Fatal(err)
	}
	if names := tree(t, d.Dir()); len(names) != 0 {
		t.Fatalf("after Delete the store holds %q, want nothing", names)
	}
	if _, err := os.Stat(d.Dir()); err != nil {
		t.Fatalf("root removed: %v", err)
	}

	// Deleting a key that is a directory of other keys deletes nothing.
	if _, err := d.Put(ctx, "exec/Out/job.zip", strings.NewReader("zip")); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "exec/Out"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(ctx, "exec/Out/job.zip"); err != nil {
		t.Fatalf("Delete of a prefix removed an object: %v", err)
	}
}

func TestDiskFailedPutCleansUp(t *testing.T) {
	t.Parallel()
	d := newDisk(t)
	boom := errors.New("boom")
	r := errAfter{data: bytes.Repeat([]byte("x"), 10_000), err: boom}
	if _, err := d.Put(t.Context(), "exec/Out/job.zip", &r); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	for _, name := range tree(t, d.Dir()) {
		if strings.Contains(name, ".tmp-") {
			t.Fatalf("temporary file %s left behind", name)
		}
	}
}

// A symlink planted inside the store must not let a key reach outside it.
func TestDiskKeysNeverEscapeRoot(t *testing.T) {
	t.Parallel()
	d := newDisk(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.zip"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(d.Dir(), "evil")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := d.Put(ctx, "evil/new.zip", strings.NewReader("x")); err == nil {
		t.Error("Put through a symlink out of the root succeeded")
	}
	if _, err := d.Get(ctx, "evil/secret.zip"); err == nil {
		t.Error("Get through a symlink out of the root succeeded")
	}
	if _, err := d.Stat(ctx, "evil/secret.zip"); err == nil {
		t.Error("Stat through a symlink out of the root succeeded")
	}
	if err := d.Delete(ctx, "evil/secret.zip"); err == nil {
		t.Error("Delete through a symlink out of the root succeeded")
	}
	if names := tree(t, outside); strings.Join(names, " ") != "secret.zip" {
		t.Fatalf("outside directory now holds %q", names)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.zip")); string(b) != "secret" {
		t.Fatalf("outside file changed to %q", b)
	}

	for _, key := range []string{"../escape.zip", "/tmp/escape.zip", "a/../../escape.zip"} {
		if _, err := d.Put(ctx, key, strings.NewReader("x")); !errors.Is(err, artifact.ErrInvalidKey) {
			t.Errorf("Put(%q): err = %v, want ErrInvalidKey", key, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(d.Dir()), "escape.zip")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("escape.zip written beside the root: %v", err)
	}
}

func TestDiskKeyConflicts(t *testing.T) {
	t.Parallel()
	d := newDisk(t)
	ctx := t.Context()
	if _, err := d.Put(ctx, "a", strings.NewReader("file")); err != nil {
		t.Fatal(err)
	}
	// On disk a key cannot be both an object and a prefix of others; the
	// Put fails cleanly and the existing object is untouched.
	if _, err := d.Put(ctx, "a/b", strings.NewReader("x")); err == nil {
		t.Fatal("Put below an object succeeded")
	}
	if got, err := os.ReadFile(filepath.Join(d.Dir(), "a")); err != nil || string(got) != "file" {
		t.Fatalf("object a = %q, %v", got, err)
	}
	if _, err := d.Put(ctx, "p/q", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "p", strings.NewReader("x")); err == nil {
		t.Fatal("Put over a prefix succeeded")
	}
	if names := tree(t, d.Dir()); strings.Join(names, " ") != "a p p/q" {
		t.Fatalf("store holds %q", names)
	}
}

// tree lists the slash-separated paths under dir, in lexical order.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

type errAfter struct {
	data []byte
	err  error
}

func (r *errAfter) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}
