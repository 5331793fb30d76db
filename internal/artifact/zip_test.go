package artifact

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// zent describes one entry of a hand-made archive. mode 0 leaves the header
// as a non-Unix tool would write it.
type zent struct {
	name string
	body string
	mode fs.FileMode
}

func link(name, target string) zent {
	return zent{name: name, body: target, mode: fs.ModeSymlink | 0o777}
}

func makeZip(t testing.TB, entries ...zent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func write(t testing.TB, p, body string, perm fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

func symlink(t testing.TB, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func zipTree(t *testing.T, root string, globs ...string) ([]byte, int) {
	t.Helper()
	var buf bytes.Buffer
	n, err := Zip(t.Context(), &buf, root, globs)
	if err != nil {
		t.Fatalf("Zip(%q): %v", globs, err)
	}
	return buf.Bytes(), n
}

func unzipBytes(t *testing.T, data []byte, dest string) error {
	t.Helper()
	return Unzip(t.Context(), bytes.NewReader(data), int64(len(data)), dest)
}

func entryNames(t *testing.T, data []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

// listTree lists what is under dir as "path kind" lines, in lexical order:
// "f:<perm>:<content>", "d:<perm>", "l:<target>".
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, rel+" l:"+target)
		case fi.IsDir():
			out = append(out, rel+" d:"+fi.Mode().Perm().String())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, rel+" f:"+fi.Mode().Perm().String()+":"+string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sampleTree builds a working directory with every kind of thing Zip handles,
// and an outside directory its symlinks can point into.
func sampleTree(t testing.TB) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "work")
	outside = filepath.Join(base, "outside")
	write(t, filepath.Join(root, "README.md"), "readme", 0o644)
	write(t, filepath.Join(root, "bin", "run.sh"), "#!/bin/sh\necho hi\n", 0o755)
	write(t, filepath.Join(root, "dist", "app.js"), "app", 0o644)
	write(t, filepath.Join(root, "dist", "css", "site.css"), "css", 0o600)
	write(t, filepath.Join(root, "lib", "libx.so.1.2"), "elf", 0o755)
	if err := os.MkdirAll(filepath.Join(root, "empty"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "empty"), 0o750); err != nil {
		t.Fatal(err)
	}
	symlink(t, "libx.so.1.2", filepath.Join(root, "lib", "libx.so.1"))
	symlink(t, "libx.so.1", filepath.Join(root, "lib", "libx.so"))
	symlink(t, "../dist/app.js", filepath.Join(root, "bin", "app.js"))
	symlink(t, "dist", filepath.Join(root, "current"))
	symlink(t, filepath.Join(root, "README.md"), filepath.Join(root, "abs-inside"))

	write(t, filepath.Join(outside, "shared.txt"), "shared", 0o640)
	write(t, filepath.Join(outside, "tools", "tool"), "tool", 0o755)
	// Pin directory modes, which MkdirAll left to the umask.
	for _, d := range []string{"bin", "dist", "dist/css", "lib", "../outside/tools"} {
		if err := os.Chmod(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func TestZipRoundTrip(t *testing.T) {
	t.Parallel()
	root, _ := sampleTree(t)
	data, n := zipTree(t, root, "**/*")

	dest := filepath.Join(t.TempDir(), "dest", "nested")
	if err := unzipBytes(t, data, dest); err != nil {
		t.Fatalf("Unzip: %v", err)
	}
	// Links inside the working directory are stored as what they point to.
	want := []string{
		"README.md f:-rw-r--r--:readme",
		"abs-inside f:-rw-r--r--:readme",
		"bin d:-rwxr-xr-x",
		"bin/app.js f:-rw-r--r--:app",
		"bin/run.sh f:-rwxr-xr-x:#!/bin/sh\necho hi\n",
		"current d:-rwxr-xr-x",
		"current/app.js f:-rw-r--r--:app",
		"current/css d:-rwxr-xr-x",
		"current/css/site.css f:-rw-------:css",
		"dist d:-rwxr-xr-x",
		"dist/app.js f:-rw-r--r--:app",
		"dist/css d:-rwxr-xr-x",
		"dist/css/site.css f:-rw-------:css",
		"empty d:-rwxr-x---",
		"lib d:-rwxr-xr-x",
		"lib/libx.so f:-rwxr-xr-x:elf",
		"lib/libx.so.1 f:-rwxr-xr-x:elf",
		"lib/libx.so.1.2 f:-rwxr-xr-x:elf",
	}
	if got := listTree(t, dest); !slices.Equal(got, want) {
		t.Fatalf("extracted tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Directories are not counted.
	if n != 11 {
		t.Errorf("Zip returned %d files, want 11", n)
	}
}

// With KeepLinks (CodeBuild's enable-symlinks) links inside the working
// directory round-trip as links.
func TestZipKeepLinksRoundTrip(t *testing.T) {
	t.Parallel()
	root, _ := sampleTree(t)
	symlink(t, "not-built-yet", filepath.Join(root, "dangling"))
	var buf bytes.Buffer
	n, err := ZipWith(t.Context(), &buf, root, []string{"**/*"}, ZipOptions{KeepLinks: true})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "dest")
	if err := unzipBytes(t, buf.Bytes(), dest); err != nil {
		t.Fatalf("Unzip: %v", err)
	}
	want := []string{
		"README.md f:-rw-r--r--:readme",
		"abs-inside l:README.md", // absolute link inside root made relative
		"bin d:-rwxr-xr-x",
		"bin/app.js l:../dist/app.js",
		"bin/run.sh f:-rwxr-xr-x:#!/bin/sh\necho hi\n",
		"current l:dist",
		"dangling l:not-built-yet",
		"dist d:-rwxr-xr-x",
		"dist/app.js f:-rw-r--r--:app",
		"dist/css d:-rwxr-xr-x",
		"dist/css/site.css f:-rw-------:css",
		"empty d:-rwxr-x---",
		"lib d:-rwxr-xr-x",
		"lib/libx.so l:libx.so.1", // the chain is kept, not flattened
		"lib/libx.so.1 l:libx.so.1.2",
		"lib/libx.so.1.2 f:-rwxr-xr-x:elf",
	}
	if got := listTree(t, dest); !slices.Equal(got, want) {
		t.Fatalf("extracted tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n != 11 {
		t.Errorf("ZipWith returned %d files, want 11", n)
	}
	// The executable is still readable through the extracted link chain.
	if b, err := os.ReadFile(filepath.Join(dest, "lib", "libx.so")); err != nil || string(b) != "elf" {
		t.Errorf("reading through extracted links = %q, %v", b, err)
	}
}

func TestZipModTimes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p := filepath.Join(root, "f")
	write(t, p, "x", 0o644)
	mtime := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	data, _ := zipTree(t, root, "f")
	dest := t.TempDir()
	if err := unzipBytes(t, data, dest); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dest, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime = %v, want %v", fi.ModTime(), mtime)
	}
}

func TestZipDeterministic(t *testing.T) {
	t.Parallel()
	root, _ := sampleTree(t)
	a, _ := zipTree(t, root, "**/*")
	b, _ := zipTree(t, root, "**/*")
	if !bytes.Equal(a, b) {
		t.Fatal("zipping the same tree twice gave different bytes")
	}
	names := entryNames(t, a)
	if !slices.IsSorted(names) {
		// Lexical walk order differs from a plain sort only where a name
		// sorts before "/"; the sample has none, so it must be sorted.
		t.Fatalf("entries not in lexical order: %q", names)
	}
}

func TestZipGlobs(t *testing.T) {
	t.Parallel()
	root, _ := sampleTree(t)
	cases := []struct {
		globs []string
		want  []string
	}{
		{[]string{"README.md"}, []string{"README.md"}},
		{[]string{"./README.md"}, []string{"README.md"}},
		{[]string{"*.md"}, []string{"README.md"}},
		// A directory comes with everything below it.
		{[]string{"dist"}, []string{"dist/", "dist/app.js", "dist/css/", "dist/css/site.css"}},
		{[]string{"dist/"}, []string{"dist/", "dist/app.js", "dist/css/", "dist/css/site.css"}},
		{[]string{"dist/**/*.css"}, []string{"dist/css/site.css"}},
		{[]string{"dist/css/*.css"}, []string{"dist/css/site.css"}},
		{[]string{"d*/css"}, []string{"dist/css/", "dist/css/site.css"}},
		{[]string{"lib/libx.so*"}, []string{"lib/libx.so", "lib/libx.so.1", "lib/libx.so.1.2"}},
		{[]string{"**/*.css", "bin/run.sh"}, []string{"bin/run.sh", "dist/css/site.css"}},
		// Overlapping globs add each entry once.
		{[]string{"dist", "dist/app.js"}, []string{"dist/", "dist/app.js", "dist/css/", "dist/css/site.css"}},
		{[]string{"empty"}, []string{"empty/"}},
		// A glob matching a symlinked directory takes what it points to.
		{[]string{"current"}, []string{"current/", "current/app.js", "current/css/", "current/css/site.css"}},
	}
	for _, c := range cases {
		data, _ := zipTree(t, root, c.globs...)
		if got := entryNames(t, data); !slices.Equal(got, c.want) {
			t.Errorf("Zip(%q) entries = %q, want %q", c.globs, got, c.want)
		}
	}
	all, _ := zipTree(t, root, "**/*")
	for _, globs := range [][]string{{"**"}, {"."}, {"./"}} {
		data, _ := zipTree(t, root, globs...)
		if !slices.Equal(entryNames(t, data), entryNames(t, all)) {
			t.Errorf("Zip(%q) differs from Zip(**/*)", globs)
		}
	}
}

func TestZipGlobErrors(t *testing.T) {
	t.Parallel()
	root, _ := sampleTree(t)
	cases := []struct {
		globs []string
		want  string
	}{
		{nil, "no file globs"},
		{[]string{"nothing-here/*"}, `no files match "nothing-here/*"`},
		{[]string{"dist", "*.exe", "missing"}, `no files match "*.exe", "missing"`},
		{[]string{"/etc/passwd"}, "absolute"},
		{[]string{"../outside/shared.txt"}, `".."`},
		{[]string{"dist/../../outside/**"}, `".."`},
		{[]string{""}, "empty"},
		{[]string{"dist/[a-"}, "syntax error"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		_, err := Zip(t.Context(), &buf, root, c.globs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Zip(%q) error = %v, want it to mention %s", c.globs, err, c.want)
		}
	}
	var buf bytes.Buffer
	if _, err := Zip(t.Context(), &buf, filepath.Join(root, "README.md"), []string{"**"}); err == nil {
		t.Error("Zip with a file as root succeeded")
	}
	if _, err := Zip(t.Context(), &buf, filepath.Join(root, "no-such-dir"), []string{"**"}); err == nil {
		t.Error("Zip with a missing root succeeded")
	}
}

func TestZipPrunesUnreachableDirectories(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads unreadable directories")
	}
	root, _ := sampleTree(t)
	locked := filepath.Join(root, "locked")
	if err := os.Mkdir(locked, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	data, _ := zipTree(t, root, "dist/**/*.css", "bin/*")
	if got := entryNames(t, data); !slices.Equal(got, []string{"bin/app.js", "bin/run.sh", "dist/css/site.css"}) {
		t.Fatalf("entries = %q", got)
	}
	var buf bytes.Buffer
	if _, err := Zip(t.Context(), &buf, root, []string{"**/*.css"}); err == nil {
		t.Fatal("a glob that can reach an unreadable directory should fail")
	}
}

func TestZipSymlinkRoot(t *testing.T) {
	t.Parallel()
	root, _ := sampleTree(t)
	alias := filepath.Join(t.TempDir(), "alias")
	symlink(t, root, alias)
	a, _ := zipTree(t, root, "**/*")
	b, _ := zipTree(t, alias, "**/*")
	if !bytes.Equal(a, b) {
		t.Fatal("zipping through a symlinked root differs from zipping the root")
	}
}

// What a build could write to make the worker, outside its sandbox, zip a
// host file: every such link fails Zip, naming the link and its target, and
// nothing of the outside file reaches the output.
func TestZipLinkAttacks(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "work")
	secret := filepath.Join(base, "data", "admin.token")
	write(t, secret, "TOPSECRET", 0o600)
	write(t, filepath.Join(root, "f"), "x", 0o644)
	write(t, filepath.Join(root, "sub", "g"), "g", 0o644)
	for _, d := range []string{"a", "b", "d", "chain", "inner", "dots"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	symlink(t, secret, filepath.Join(root, "tok"))
	symlink(t, "/etc", filepath.Join(root, "etc"))
	symlink(t, "../../../../../../../../../../etc/passwd", filepath.Join(root, "d", "rel"))
	symlink(t, "..", filepath.Join(root, "up"))
	symlink(t, "step2", filepath.Join(root, "chain", "step1"))
	symlink(t, "../../data/admin.token", filepath.Join(root, "chain", "step2"))
	symlink(t, "../sub/../../data/admin.token", filepath.Join(root, "dots", "x"))
	symlink(t, "../sub", filepath.Join(root, "inner", "dir"))
	symlink(t, secret, filepath.Join(root, "sub", "leak"))
	symlink(t, "missing", filepath.Join(root, "dangling"))
	symlink(t, "/nonexistent/sluice", filepath.Join(root, "gone"))
	symlink(t, "self", filepath.Join(root, "self"))
	symlink(t, "..", filepath.Join(root, "d", "loop"))
	symlink(t, ".", filepath.Join(root, "d", "here"))
	symlink(t, "../b", filepath.Join(root, "a", "tob"))
	symlink(t, "../a", filepath.Join(root, "b", "toa"))

	cases := []struct {
		glob, link, target, reason string
	}{
		{"tok", "tok", secret, LinkOutside},
		{"etc", "etc", "/etc", LinkOutside},
		{"d/rel", "d/rel", "../../../../../../../../../../etc/passwd", LinkOutside},
		{"up", "up", "..", LinkOutside},
		{"chain/step1", "chain/step1", "step2", LinkOutside},
		{"dots/x", "dots/x", "../sub/../../data/admin.token", LinkOutside},
		// A link to a directory inside, which holds a link out.
		{"inner", "inner/dir/leak", secret, LinkOutside},
		{"dangling", "dangling", "missing", LinkDangling},
		{"gone", "gone", "/nonexistent/sluice", LinkOutside},
		{"self", "self", "self", LinkCycle},
		{"d/loop", "d/loop", "..", LinkCycle},
		{"d/here", "d/here", ".", LinkCycle},
		{"a", "a/tob/toa/tob", "../b", LinkCycle},
	}
	for _, keep := range []bool{false, true} {
		for _, c := range cases {
			if keep && (c.reason != LinkOutside || c.glob == "inner") {
				continue // kept as links inside: nothing is followed
			}
			var buf bytes.Buffer
			_, err := ZipWith(t.Context(), &buf, root, []string{c.glob}, ZipOptions{KeepLinks: keep})
			var le *LinkError
			if !errors.As(err, &le) {
				t.Errorf("keep=%v %s: err = %v, want a LinkError", keep, c.glob, err)
				continue
			}
			if le.Path != c.link || le.Target != c.target || le.Reason != c.reason {
				t.Errorf("keep=%v %s: LinkError{%q, %q, %q}, want {%q, %q, %q}", keep, c.glob, le.Path, le.Target, le.Reason, c.link, c.target, c.reason)
			}
			if !strings.Contains(err.Error(), c.link) || !strings.Contains(err.Error(), c.target) {
				t.Errorf("keep=%v %s: error %q does not name the link and its target", keep, c.glob, err)
			}
			if bytes.Contains(buf.Bytes(), []byte("TOPSECRET")) {
				t.Errorf("keep=%v %s: the outside file's content was written", keep, c.glob)
			}
		}
	}

	// With KeepLinks, links that cannot be followed but stay inside are kept.
	var buf bytes.Buffer
	if _, err := ZipWith(t.Context(), &buf, root, []string{"self", "dangling", "d/here"}, ZipOptions{KeepLinks: true}); err != nil {
		t.Fatalf("KeepLinks on inside links: %v", err)
	}
	if got := entryNames(t, buf.Bytes()); !slices.Equal(got, []string{"d/here", "dangling", "self"}) {
		t.Errorf("KeepLinks entries = %q", got)
	}
}

// A link to a directory inside that is also matched directly is copied, not
// refused: duplication is no cycle.
func TestZipLinkedDirTwice(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "lib", "v1", "x"), "x", 0o644)
	symlink(t, "v1", filepath.Join(root, "lib", "current"))
	symlink(t, "lib/current", filepath.Join(root, "latest"))
	data, n := zipTree(t, root, "**")
	want := []string{"latest/", "latest/x", "lib/", "lib/current/", "lib/current/x", "lib/v1/", "lib/v1/x"}
	if got := entryNames(t, data); !slices.Equal(got, want) || n != 3 {
		t.Errorf("entries = %q (%d files), want %q", got, n, want)
	}
}

// A link whose literal target would lexically leave through "..", after a
// component that is itself a symlink, resolves differently on disk than on
// paper. Zip must store where it really points.
func TestZipLinkThroughDotDot(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "work")
	write(t, filepath.Join(root, "d", "real", "f"), "deep", 0o644)
	write(t, filepath.Join(root, "d", "f"), "shallow", 0o644)
	// d/l -> real; d/x -> l/../f means d/real/../f = d/f on disk, and
	// lexically also d/f: same answer, kept literal (cleaned).
	symlink(t, "real", filepath.Join(root, "d", "l"))
	symlink(t, "l/../f", filepath.Join(root, "d", "x"))
	// d/y -> deep/../f where deep -> real/sub... resolves to d/real/f on
	// disk but d/f lexically: Zip must point at d/real/f.
	if err := os.MkdirAll(filepath.Join(root, "d", "real", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, "real/sub", filepath.Join(root, "d", "deep"))
	symlink(t, "deep/../f", filepath.Join(root, "d", "y"))

	data, _ := zipTree(t, root, "**")
	dest := t.TempDir()
	if err := unzipBytes(t, data, dest); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"d/x": "shallow", "d/y": "deep"} {
		b, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || string(b) != want {
			t.Errorf("%s reads %q, %v; want %q as in the source", name, b, err, want)
		}
	}
}

func TestZipSkipsSpecialFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, filepath.Join(root, "f"), "x", 0o644)
	if err := mkfifo(filepath.Join(root, "pipe")); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	data, n := zipTree(t, root, "**")
	if got := entryNames(t, data); !slices.Equal(got, []string{"f"}) || n != 1 {
		t.Errorf("entries = %q, files = %d; want only f", got, n)
	}
}

func TestZipCancelled(t *testing.T) {
	t.Parallel()
	root, _ := sampleTree(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var buf bytes.Buffer
	if _, err := Zip(ctx, &buf, root, []string{"**"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// outsideUntouched records everything in base except dest and returns a check
// that nothing there changed.
func outsideUntouched(t *testing.T, base, dest string) func() {
	t.Helper()
	snapshot := func() []string {
		var out []string
		for _, line := range listTree(t, base) {
			name, _, _ := strings.Cut(line, " ")
			rel, _ := filepath.Rel(base, dest)
			rel = filepath.ToSlash(rel)
			if name == rel || strings.HasPrefix(name, rel+"/") {
				continue
			}
			out = append(out, line)
		}
		return out
	}
	before := snapshot()
	return func() {
		t.Helper()
		if after := snapshot(); !slices.Equal(before, after) {
			t.Errorf("outside dest changed:\nbefore %q\nafter  %q", before, after)
		}
	}
}

func TestUnzipRefusesHostileArchives(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		entries []zent
		want    string // in the error, besides the entry
	}{
		{"parent", []zent{{name: "ok.txt", body: "ok"}, {name: "../evil.txt", body: "x"}}, `"../evil.txt"`},
		{"nested parent", []zent{{name: "a/../../evil.txt", body: "x"}}, `"a/../../evil.txt"`},
		{"harmless-looking dotdot", []zent{{name: "a/../b.txt", body: "x"}}, `"a/../b.txt"`},
		{"absolute", []zent{{name: "/tmp/evil.txt", body: "x"}}, `"/tmp/evil.txt"`},
		{"backslash", []zent{{name: "..\\evil.txt", body: "x"}}, "backslash"},
		{"NUL", []zent{{name: "a\x00b", body: "x"}}, "NUL"},
		{"empty name", []zent{{name: "", body: "x"}}, "empty name"},
		{"dot file", []zent{{name: ".", body: "x"}}, "without a name"},
		{"absolute link", []zent{link("etc", "/etc")}, `"/etc"`},
		{"link to parent", []zent{link("up", "..")}, `"up"`},
		{"deep link out", []zent{link("a/b/up", "../../../x")}, "outside"},
		{"empty link", []zent{link("l", "")}, `"l"`},
		{"long link", []zent{link("l", strings.Repeat("a/", 3000))}, "longer than"},
		{"file through link entry", []zent{link("l", "sub"), {name: "l/evil.txt", body: "x"}}, `"l" is not a directory`},
		{"file through link entry, reversed", []zent{{name: "l/evil.txt", body: "x"}, link("l", ".")}, "both a directory"},
		{"file through a chain of link entries", []zent{{name: "sub/", mode: fs.ModeDir | 0o755}, link("b", "sub"), link("a", "b"), {name: "a/evil.txt", body: "x"}}, `"a" is not a directory`},
		{"link entry through a link entry", []zent{link("l", "."), link("l/up", "..")}, `"l" is not a directory`},
		{"duplicate file", []zent{{name: "f", body: "1"}, {name: "f", body: "2"}}, "more than once"},
		{"duplicate after cleaning", []zent{{name: "a/f", body: "1"}, {name: "a//f", body: "2"}}, "more than once"},
		{"file and dir", []zent{{name: "a", body: "1"}, {name: "a/b", body: "2"}}, `"a" is not a directory`},
		{"dir and file", []zent{{name: "a/", mode: fs.ModeDir | 0o755}, {name: "a", body: "2"}}, "both a directory"},
		{"device", []zent{{name: "dev", mode: fs.ModeDevice | 0o600}}, "unsupported file type"},
		{"pipe", []zent{{name: "p", mode: fs.ModeNamedPipe | 0o600}}, "unsupported file type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			dest := filepath.Join(base, "dest")
			write(t, filepath.Join(base, "sentinel"), "keep", 0o644)
			check := outsideUntouched(t, base, dest)

			err := unzipBytes(t, makeZip(t, c.entries...), dest)
			if err == nil {
				t.Fatal("Unzip succeeded")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "entry") {
				t.Errorf("error %q does not name the entry and mention %s", err, c.want)
			}
			check()
			// The whole archive is checked before anything is written.
			if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("dest was created (%v); a refused archive must change nothing", err)
			}
		})
	}
}

// Symlinks already in dest (not from the archive) are never written through.
func TestUnzipDestWithSymlinks(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dest := filepath.Join(base, "dest")
	outside := filepath.Join(base, "outside")
	write(t, filepath.Join(outside, "victim"), "orig", 0o644)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, outside, filepath.Join(dest, "out"))
	symlink(t, filepath.Join(outside, "victim"), filepath.Join(dest, "victim"))
	symlink(t, ".", filepath.Join(dest, "here"))
	check := outsideUntouched(t, base, dest)

	for _, entries := range [][]zent{
		{{name: "out/new", body: "x"}},
		{{name: "out/victim", body: "x"}},
		{{name: "victim", body: "x"}},
		{{name: "out/", mode: fs.ModeDir | 0o755}},
		{{name: "here/f", body: "x"}}, // even a link that stays inside
		{link("out/l", "x")},
	} {
		if err := unzipBytes(t, makeZip(t, entries...), dest); err == nil {
			t.Errorf("Unzip of %q through a symlink in dest succeeded", entries[0].name)
		} else if !strings.Contains(err.Error(), entries[0].name) {
			t.Errorf("error %q does not name entry %q", err, entries[0].name)
		}
	}
	check()
	if got := listTree(t, dest); len(got) != 3 {
		t.Errorf("dest now holds %q", got)
	}
}

func TestUnzipNeverClobbers(t *testing.T) {
	t.Parallel()
	dest := t.TempDir()
	write(t, filepath.Join(dest, "f"), "mine", 0o644)
	if err := unzipBytes(t, makeZip(t, zent{name: "f", body: "theirs"}), dest); err == nil {
		t.Fatal("Unzip over an existing file succeeded")
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "f")); string(b) != "mine" {
		t.Fatalf("existing file now holds %q", b)
	}
	// Existing directories are fine to extract into.
	if err := os.Mkdir(filepath.Join(dest, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unzipBytes(t, makeZip(t, zent{name: "d/", mode: fs.ModeDir | 0o755}, zent{name: "d/g", body: "g"}), dest); err != nil {
		t.Fatalf("Unzip into an existing directory: %v", err)
	}
}

// Links inside the archive may point anywhere inside dest, including through
// each other, but what they resolve to must stay inside.
func TestUnzipLinksStayInside(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dest := filepath.Join(base, "dest")
	check := outsideUntouched(t, base, dest)
	data := makeZip(t,
		zent{name: "d/f", body: "f"},
		link("d/b", ".."),    // d/b -> dest
		link("d/a", "b/.."),  // lexically d; stored cleaned, so not dest/..
		link("d/c", "./b/f"), // cleaned to b/f
		link("top", "d/b/d/f"),
	)
	if err := unzipBytes(t, data, dest); err != nil {
		t.Fatal(err)
	}
	check()
	realDest, err := filepath.EvalSymlinks(dest)
	if err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"d/b": "..", "d/a": ".", "d/c": "b/f", "top": "d/b/d/f"} {
		got, err := os.Readlink(filepath.Join(dest, name))
		if err != nil || got != target {
			t.Errorf("%s -> %q, %v; want %q", name, got, err, target)
		}
		real, err := filepath.EvalSymlinks(filepath.Join(dest, name))
		if err != nil {
			continue
		}
		if r, err := filepath.Rel(realDest, real); err != nil || !filepath.IsLocal(r) && r != "." {
			t.Errorf("%s resolves to %s, outside dest", name, real)
		}
	}
}

func TestUnzipModes(t *testing.T) {
	t.Parallel()
	dest := t.TempDir()
	data := makeZip(t,
		zent{name: "ro/", mode: fs.ModeDir | 0o500}, // read-only, yet has entries below
		zent{name: "ro/f", body: "f", mode: 0o444},
		zent{name: "suid", body: "x", mode: fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky | 0o755},
		zent{name: "exe", body: "x", mode: 0o755},
		zent{name: "private", body: "x", mode: 0o600},
		zent{name: "dos.txt", body: "no unix mode"},
		zent{name: "dosdir/"},
		zent{name: "readonly", body: "x", mode: 0o400},
	)
	if err := unzipBytes(t, data, dest); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		"ro":       fs.ModeDir | 0o700, // owner keeps rwx so dest can be removed
		"ro/f":     0o444,
		"suid":     0o755,
		"exe":      0o755,
		"private":  0o600,
		"dos.txt":  0o644,
		"dosdir":   fs.ModeDir | 0o755,
		"readonly": 0o400,
	}
	for name, mode := range want {
		fi, err := os.Lstat(filepath.Join(dest, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fi.Mode(); got != mode {
			t.Errorf("%s mode = %v, want %v", name, got, mode)
		}
	}
}

func TestUnzipLimits(t *testing.T) {
	t.Parallel()
	small := unzipLimits{size: 1000, entries: 3}
	unzipLim := func(data []byte, dest string, lim unzipLimits) error {
		return unzip(t.Context(), bytes.NewReader(data), int64(len(data)), dest, lim)
	}

	dest := filepath.Join(t.TempDir(), "d")
	many := makeZip(t, zent{name: "a"}, zent{name: "b"}, zent{name: "c"}, zent{name: "d"})
	if err := unzipLim(many, dest, small); err == nil || !strings.Contains(err.Error(), "4 entries") {
		t.Errorf("too many entries: err = %v", err)
	}

	// A bomb: highly compressible data, tiny archive, over the limit.
	bomb := makeZip(t, zent{name: "bomb", body: strings.Repeat("0", 600)}, zent{name: "bomb2", body: strings.Repeat("0", 600)})
	if err := unzipLim(bomb, dest, small); err == nil || !strings.Contains(err.Error(), "bomb2") {
		t.Errorf("too large: err = %v", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("over-limit archive wrote to dest: %v", err)
	}

	// Headers that understate the size: archive/zip refuses to read past the
	// declared size, so the lie fails the entry instead of filling the disk.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	body := strings.Repeat("x", 5000)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: "liar", Method: zip.Store,
		CompressedSize64: uint64(len(body)), UncompressedSize64: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := unzipLim(buf.Bytes(), dest, small); err == nil || !strings.Contains(err.Error(), "liar") {
		t.Errorf("lying header: err = %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "liar")); err == nil && fi.Size() > small.size {
		t.Errorf("lying entry wrote %d bytes, over the limit", fi.Size())
	}

	// Within the limits all is well.
	ok := makeZip(t, zent{name: "a", body: strings.Repeat("a", 500)}, zent{name: "b", body: strings.Repeat("b", 500)})
	if err := unzipLim(ok, filepath.Join(t.TempDir(), "ok"), small); err != nil {
		t.Errorf("archive at the limit: %v", err)
	}
}

func TestUnzipNotAZip(t *testing.T) {
	t.Parallel()
	if err := unzipBytes(t, []byte("this is not a zip file"), t.TempDir()); err == nil {
		t.Fatal("Unzip of garbage succeeded")
	}
}

func TestUnzipCancelled(t *testing.T) {
	t.Parallel()
	data := makeZip(t, zent{name: "f", body: "x"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Unzip(ctx, bytes.NewReader(data), int64(len(data)), t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestUnzipFile(t *testing.T) {
	t.Parallel()
	root, _ := sampleTree(t)
	data, _ := zipTree(t, root, "dist")
	zipPath := filepath.Join(t.TempDir(), "a.zip")
	write(t, zipPath, string(data), 0o600)
	dest := t.TempDir()
	if err := UnzipFile(t.Context(), zipPath, dest); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "dist", "css", "site.css")); err != nil || string(b) != "css" {
		t.Fatalf("site.css = %q, %v", b, err)
	}
	if err := UnzipFile(t.Context(), filepath.Join(t.TempDir(), "missing.zip"), dest); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}

// Archives from other tools start with "./" or hold the root as a directory.
func TestUnzipDotEntries(t *testing.T) {
	t.Parallel()
	dest := t.TempDir()
	data := makeZip(t, zent{name: "./", mode: fs.ModeDir | 0o755}, zent{name: "./a/b", body: "b"})
	if err := unzipBytes(t, data, dest); err != nil {
		t.Fatal(err)
	}
	// "a" has no entry of its own, so its mode is up to the umask.
	if got := listTree(t, dest); len(got) != 2 || !strings.HasPrefix(got[0], "a d:") || got[1] != "a/b f:-rw-r--r--:b" {
		t.Fatalf("tree = %q", got)
	}
}

// Files Stored names are kept without compression, the others deflated, and
// both read back whole.
func TestZipStored(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{".git/objects/pack/p.pack", "src/a.txt"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), bytes.Repeat([]byte("compressible "), 1000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	stored := func(rel string) bool { return strings.HasPrefix(rel, ".git/objects/") }
	if _, err := ZipWith(context.Background(), &buf, root, []string{"**/*"}, ZipOptions{Stored: stored}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]uint16{}
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			methods[f.Name] = f.Method
		}
	}
	if methods[".git/objects/pack/p.pack"] != zip.Store || methods["src/a.txt"] != zip.Deflate || len(methods) != 2 {
		t.Errorf("methods %v, want the pack stored and a.txt deflated", methods)
	}
	dest := t.TempDir()
	if err := Unzip(context.Background(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, ".git/objects/pack/p.pack")); err != nil || len(b) != 13000 {
		t.Errorf("stored file read back: %d bytes, %v", len(b), err)
	}
}
