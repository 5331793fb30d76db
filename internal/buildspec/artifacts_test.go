package buildspec

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
)

func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func names(files []ArtifactFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

func TestCollect(t *testing.T) {
	dir := tree(t, map[string]string{
		"dist/app.js": "a", "dist/css/site.css": "c", "dist/app.js.map": "m",
		"README.md": "r", "src/main.go": "g",
	})
	for _, tc := range []struct {
		name string
		a    Artifact
		want []string
		err  string
	}{
		{"everything", Artifact{Files: []string{"**/*"}}, []string{"README.md", "dist/app.js", "dist/app.js.map", "dist/css/site.css", "src/main.go"}, ""},
		{"base-directory", Artifact{Files: []string{"**/*"}, BaseDirectory: "dist"}, []string{"app.js", "app.js.map", "css/site.css"}, ""},
		{"exclude-paths", Artifact{Files: []string{"**/*"}, BaseDirectory: "dist", ExcludePaths: []string{"**/*.map"}}, []string{"app.js", "css/site.css"}, ""},
		{"discard-paths", Artifact{Files: []string{"dist/**/*.css", "src/*.go"}, DiscardPaths: true}, []string{"main.go", "site.css"}, ""},
		{"a directory whole", Artifact{Files: []string{"dist"}}, []string{"dist/app.js", "dist/app.js.map", "dist/css/site.css"}, ""},
		{"no match fails", Artifact{Files: []string{"build/**/*", "README.md"}}, nil, `no matching artifact paths found for "build/**/*"`},
		{"escape refused", Artifact{Files: []string{"../etc/passwd"}}, nil, "must stay inside"},
		{"missing base", Artifact{Files: []string{"*"}, BaseDirectory: "out"}, nil, "base-directory out: not a directory"},
		{"one glob of several matching nothing", Artifact{Files: []string{"dist/app.js", "other/app.js"}, DiscardPaths: true}, nil, `no matching artifact paths found for "other/app.js"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.a.Collect(dir)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(names(got), tc.want) {
				t.Fatalf("files %v, want %v", names(got), tc.want)
			}
		})
	}
}

func TestDiscardPathsClash(t *testing.T) {
	dir := tree(t, map[string]string{"a/x.txt": "1", "b/x.txt": "2"})
	_, err := Artifact{Files: []string{"**/*.txt"}, DiscardPaths: true}.Collect(dir)
	if err == nil || !strings.Contains(err.Error(), "discard-paths puts both") {
		t.Fatalf("clash: %v", err)
	}
}

func TestWriteZipAndDir(t *testing.T) {
	dir := tree(t, map[string]string{"dist/app.js": "code", "dist/css/site.css": "style"})
	if err := os.Symlink("app.js", filepath.Join(dir, "dist", "latest.js")); err != nil {
		t.Fatal(err)
	}
	files, err := Artifact{Files: []string{"**/*"}, BaseDirectory: "dist", EnableSymlinks: true}.Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteZip(&buf, files); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range zr.File {
		got = append(got, f.Name)
		if f.Name == "latest.js" && f.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("symlink not kept: %v", f.Mode())
		}
	}
	if want := []string{"app.js", "css/site.css", "latest.js"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("zip holds %v", got)
	}
	out := t.TempDir()
	if err := WriteDir(out, files); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "css", "site.css")); string(b) != "style" {
		t.Fatalf("extracted %q", b)
	}
	if target, _ := os.Readlink(filepath.Join(out, "latest.js")); target != "app.js" {
		t.Fatalf("link %q", target)
	}
	// Without enable-symlinks the link's content is taken.
	files, _ = Artifact{Files: []string{"latest.js"}, BaseDirectory: "dist"}.Collect(dir)
	if len(files) != 1 || files[0].Mode&os.ModeSymlink != 0 {
		t.Fatalf("followed link = %+v", files)
	}
}

// What a build could leave in its workspace to make the worker, outside the
// sandbox, read a host file into an artifact, a cache or a report: each fails
// Collect with a LinkError naming the link and where it points.
func TestCollectLinkAttacks(t *testing.T) {
	base := t.TempDir()
	secret := filepath.Join(base, "data", "admin.token")
	if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("TOPSECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(base, "src")
	for _, d := range []string{"out/sub", "dir/inner", "loop", "a", "b"} {
		if err := os.MkdirAll(filepath.Join(ws, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(ws, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	ln(secret, "out/tok")
	ln("/etc", "out/etc")
	ln("../../../../../../../../etc/passwd", "out/sub/rel")
	ln("../data-link", "out/chain")
	ln(secret, "data-link")
	ln("../dir", "out/d")
	ln(secret, "dir/inner/leak")
	ln("..", "loop/up")
	ln("../b", "a/tob")
	ln("../a", "b/toa")
	ln("/etc", "etclink")

	for _, tc := range []struct {
		a                    Artifact
		link, target, reason string
	}{
		{Artifact{Files: []string{"out/tok"}}, "out/tok", secret, LinkOutside},
		{Artifact{Files: []string{"out/**/*"}, ExcludePaths: []string{"out/etc", "out/sub/**", "out/chain", "out/d/**"}}, "out/tok", secret, LinkOutside},
		{Artifact{Files: []string{"etc"}, BaseDirectory: "out"}, "etc", "/etc", LinkOutside},
		{Artifact{Files: []string{"out/sub/rel"}}, "out/sub/rel", "../../../../../../../../etc/passwd", LinkOutside},
		{Artifact{Files: []string{"out/chain"}}, "out/chain", "../data-link", LinkOutside},
		{Artifact{Files: []string{"out/d"}}, "out/d/inner/leak", secret, LinkOutside},
		{Artifact{Files: []string{"tok"}, BaseDirectory: "out", DiscardPaths: true}, "tok", secret, LinkOutside},
		{Artifact{Files: []string{"loop"}}, "loop/up", "..", LinkCycle},
		{Artifact{Files: []string{"a"}}, "a/tob/toa/tob", "../b", LinkCycle},
		// enable-symlinks keeps links as links, but not ones leading out.
		{Artifact{Files: []string{"out/tok"}, EnableSymlinks: true}, "out/tok", secret, LinkOutside},
		{Artifact{Files: []string{"out/sub/rel"}, EnableSymlinks: true}, "out/sub/rel", "../../../../../../../../etc/passwd", LinkOutside},
	} {
		_, err := tc.a.Collect(ws)
		var le *LinkError
		if !errors.As(err, &le) {
			t.Errorf("%+v: err = %v, want a LinkError", tc.a, err)
			continue
		}
		if le.Path != tc.link || le.Target != tc.target || le.Reason != tc.reason {
			t.Errorf("%+v: LinkError{%q, %q, %q}, want {%q, %q, %q}", tc.a, le.Path, le.Target, le.Reason, tc.link, tc.target, tc.reason)
		}
	}
	// A base-directory that is a link out is refused too.
	if _, err := (Artifact{Files: []string{"**/*"}, BaseDirectory: "etclink"}).Collect(ws); err == nil || !strings.Contains(err.Error(), "etclink") {
		t.Errorf("base-directory through a link out: %v", err)
	}
	// And the worker opening a collected file checks again: a file swapped
	// for a link after Collect is not read.
	if err := os.WriteFile(filepath.Join(ws, "late"), []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := Artifact{Files: []string{"late"}}.Collect(ws)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(ws, "late"))
	ln(secret, "late")
	var buf bytes.Buffer
	if err := WriteZip(&buf, files); err == nil || bytes.Contains(buf.Bytes(), []byte("TOPSECRET")) {
		t.Errorf("WriteZip through a swapped-in link: err = %v", err)
	}
}

// Links that stay inside the workspace are stored as their targets, or with
// enable-symlinks as links, and the zip keeps files' modification times.
func TestCollectInsideLinks(t *testing.T) {
	dir := tree(t, map[string]string{"out/v1/app": "app", "shared/lib.txt": "lib"})
	for _, l := range [][2]string{{"v1", "out/current"}, {"../shared/lib.txt", "out/lib.txt"}, {"app", "out/v1/app.latest"}} {
		if err := os.Symlink(l[0], filepath.Join(dir, filepath.FromSlash(l[1]))); err != nil {
			t.Fatal(err)
		}
	}
	mtime := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(dir, "out", "v1", "app"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	files, err := Artifact{Files: []string{"**/*"}, BaseDirectory: "out"}.Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(files), []string{"current/app", "current/app.latest", "lib.txt", "v1/app", "v1/app.latest"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for _, f := range files {
		if f.Mode&os.ModeSymlink != 0 {
			t.Errorf("%s kept as a link without enable-symlinks", f.Name)
		}
	}
	var buf bytes.Buffer
	if err := WriteZip(&buf, files); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if err := artifact.Unzip(t.Context(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"current/app": "app", "lib.txt": "lib", "v1/app.latest": "app"} {
		if b, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(name))); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	fi, err := os.Stat(filepath.Join(dest, "v1", "app"))
	if err != nil {
		t.Fatal(err)
	}
	if d := fi.ModTime().Sub(mtime); d < -2*time.Second || d > 2*time.Second {
		t.Errorf("extracted mtime %v, want %v", fi.ModTime(), mtime)
	}

	// enable-symlinks: links round-trip as links.
	files, err = Artifact{Files: []string{"**/*"}, BaseDirectory: "out", EnableSymlinks: true}.Collect(dir)
	if !errors.As(err, new(*LinkError)) || !strings.Contains(err.Error(), "lib.txt") {
		t.Fatalf("a kept link leaving the base directory: %v", err)
	}
	files, err = Artifact{Files: []string{"current", "v1/**/*"}, BaseDirectory: "out", EnableSymlinks: true}.Collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := WriteZip(&buf, files); err != nil {
		t.Fatal(err)
	}
	dest = t.TempDir()
	if err := artifact.Unzip(t.Context(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), dest); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"current": "v1", "v1/app.latest": "app"} {
		if got, err := os.Readlink(filepath.Join(dest, filepath.FromSlash(name))); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want a link to %q", name, got, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dest, "current", "app.latest")); err != nil || string(b) != "app" {
		t.Errorf("reading through extracted links: %q, %v", b, err)
	}
}

// Directories holding two links each to the next make a tree that doubles
// with every level without a cycle: Collect must stop, not run on.
func TestCollectFanOutBounded(t *testing.T) {
	defer func(n int) { maxCollect = n }(maxCollect)
	maxCollect = 20_000
	dir := t.TempDir()
	const levels = 24 // 2^24 paths, far past the bound
	for i := range levels {
		d := filepath.Join(dir, fmt.Sprintf("d%02d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range levels - 1 {
		d := filepath.Join(dir, fmt.Sprintf("d%02d", i))
		next := fmt.Sprintf("../d%02d", i+1)
		for _, n := range []string{"a", "b"} {
			if err := os.Symlink(next, filepath.Join(d, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err := Artifact{Files: []string{"d00"}}.Collect(dir)
	if err == nil || !strings.Contains(err.Error(), "fan out") {
		t.Fatalf("err = %v, want the fan-out bound", err)
	}
}
