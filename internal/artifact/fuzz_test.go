package artifact

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzUnzip feeds Unzip arbitrary bytes and checks the one property that must
// hold whatever the archive: nothing outside dest changes, and nothing inside
// dest leads outside it.
func FuzzUnzip(f *testing.F) {
	root, _ := sampleTree(f)
	var buf bytes.Buffer
	if _, err := Zip(f.Context(), &buf, root, []string{"**"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	for _, entries := range [][]zent{
		{{name: "../evil", body: "x"}},
		{{name: "a/../../evil", body: "x"}},
		{{name: "/abs", body: "x"}},
		{link("l", "/etc")},
		{link("l", "../..")},
		{link("l", "sub"), {name: "l/x", body: "x"}},
		{{name: "l/x", body: "x"}, link("l", "..")},
		{link("d/b", ".."), link("d/a", "b/../.."), link("d/c", "b/.."), {name: "d/c/x", body: "x"}},
		{{name: "ro/", mode: fs.ModeDir | 0o500}, {name: "ro/f", body: "f", mode: 0o755}},
		{{name: "./", mode: fs.ModeDir | 0o755}, {name: "./a/b", body: "b"}},
		{{name: "a", body: strings.Repeat("a", 4096)}, {name: "a/b", body: "x"}},
	} {
		f.Add(makeZip(f, entries...))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dest := filepath.Join(base, "a", "dest")
		write(t, filepath.Join(base, "sentinel"), "keep", 0o644)
		write(t, filepath.Join(base, "a", "sibling"), "keep", 0o644)

		// Small limits keep each run fast; the limit logic is the same.
		err := unzip(t.Context(), bytes.NewReader(data), int64(len(data)), dest, unzipLimits{size: 1 << 20, entries: 256})

		var outside []string
		for _, line := range listTree(t, base) {
			if line != "a/dest d:"+modeOf(t, dest) && !strings.HasPrefix(line, "a/dest/") {
				outside = append(outside, line)
			}
		}
		want := []string{"a d:" + modeOf(t, filepath.Join(base, "a")), "a/sibling f:-rw-r--r--:keep", "sentinel f:-rw-r--r--:keep"}
		if !slices.Equal(outside, want) {
			t.Fatalf("outside dest changed (unzip err = %v):\n%q\nwant\n%q", err, outside, want)
		}
		if _, serr := os.Lstat(dest); serr != nil {
			return
		}
		realDest, rerr := filepath.EvalSymlinks(dest)
		if rerr != nil {
			t.Fatal(rerr)
		}
		walkErr := filepath.WalkDir(dest, func(p string, de fs.DirEntry, werr error) error {
			if werr != nil {
				return werr
			}
			if de.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			target, lerr := os.Readlink(p)
			if lerr != nil {
				return lerr
			}
			if filepath.IsAbs(target) {
				t.Errorf("%s -> %s: absolute link in dest (unzip err = %v)", p, target, err)
			}
			real, eerr := filepath.EvalSymlinks(p)
			if eerr != nil {
				return nil // dangling or looping links lead nowhere
			}
			if r, rerr := filepath.Rel(realDest, real); rerr != nil || !filepath.IsLocal(r) {
				t.Errorf("%s -> %s resolves to %s, outside dest (unzip err = %v)", p, target, real, err)
			}
			return nil
		})
		if walkErr != nil {
			t.Fatal(walkErr)
		}
	})
}

func modeOf(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		return "missing"
	}
	return fi.Mode().Perm().String()
}
