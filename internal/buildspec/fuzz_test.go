package buildspec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// FuzzParse checks that no input panics and that every rejection is an
// ErrorList whose entries have lines.
func FuzzParse(f *testing.F) {
	f.Add([]byte("version: 0.2\nphases:\n  build:\n    commands: [make]\n"))
	f.Add([]byte("version: 0.1\nenvironment_variables: {plaintext: {A: b}}\n"))
	f.Add([]byte("version: 0.2\nbatch: {build-graph: [{identifier: a, depend-on: [a]}]}\n"))
	f.Add([]byte("version: 0.2\na: &a {<<: *a}\n"))
	f.Add([]byte("version: 0.2\nphases: {build: {on-failure: RETRY-3-x}}\n"))
	if files, _ := filepath.Glob(filepath.Join(corpusDir, "buildspec", "*")); len(files) > 0 {
		for _, path := range files[:min(len(files), 20)] {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _, err := Parse("f.yml", data)
		if err == nil {
			if s == nil {
				t.Fatal("nil spec without an error")
			}
			return
		}
		var list yamlnode.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error is not an ErrorList: %v", err)
		}
		for _, e := range list {
			if e.Line <= 0 {
				t.Fatalf("error without a line: %v", e)
			}
		}
	})
}
