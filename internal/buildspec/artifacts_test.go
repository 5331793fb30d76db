package buildspec

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
