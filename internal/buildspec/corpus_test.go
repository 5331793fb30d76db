package buildspec

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// The shared corpus holds real files copied from public repositories. It
// lives outside the module, so these tests skip when it is absent.
const corpusDir = "../../../shared/corpus"

// corpusFiles lists the MANIFEST entries under folder whose names start with prefix.
func corpusFiles(t *testing.T, folder, prefix string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("corpus not present")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var files []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), "\t")
		if strings.HasPrefix(name, folder+"/"+prefix) {
			files = append(files, filepath.Join(corpusDir, name))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCorpusBuildspecs parses every real buildspec: none may be rejected.
func TestCorpusBuildspecs(t *testing.T) {
	files := corpusFiles(t, "buildspec", "")
	if len(files) < 50 {
		t.Fatalf("found %d buildspecs in the corpus, want at least 50", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, warns, err := Parse(name, data)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			for _, w := range warns {
				if w.Line <= 0 || w.File != name {
					t.Errorf("warning without file and line: %v", w)
				}
			}
			if len(s.Phases.List()) == 0 && s.Batch == nil {
				t.Errorf("neither phases nor batch read")
			}
		})
	}
}

// TestCorpusInvalid checks that the broken buildspecs are rejected with
// their first problem's line.
func TestCorpusInvalid(t *testing.T) {
	want := map[string]int{
		"buildspec--byu-oit__handel-codepipeline__src__phases__npm__npm-buildspec.yml": 5,
	}
	files := corpusFiles(t, "invalid", "buildspec--")
	if len(files) == 0 {
		t.Fatal("no broken buildspecs in the corpus")
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = Parse(name, data)
			var list yamlnode.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("want an ErrorList, got %v", err)
			}
			for _, e := range list {
				if e.Line <= 0 || e.File != name {
					t.Errorf("error without file and line: %v", e)
				}
			}
			if line, ok := want[name]; ok && list[0].Line != line {
				t.Errorf("first error %v, want it on line %d", list[0], line)
			}
		})
	}
}
