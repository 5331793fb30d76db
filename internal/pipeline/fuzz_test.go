package pipeline

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// FuzzParse checks that no input makes Parse panic or hang, that every
// rejection names a file and a line, and that every pipeline Parse accepts is
// valid and survives a trip through MarshalYAML.
func FuzzParse(f *testing.F) {
	seeds := []string{
		demoYAML,
		demoJSON,
		`{"pipeline": ` + demoJSON + `, "metadata": {"version": 1}}`,
		"name: a\nstages: [{name: S, actions: [{name: A, provider: Noop, runOrder: 2}]}]\n",
		"name: a\nx: &a [1, 2]\nstages: *a\n",
		"name: a\nstages:\n  - &s\n    name: S\n    <<: *s\n",
		"- 1\n",
		"{\"a\": \"\\ud83d\"}",
		"name: a\n---\nname: b\n",
		"",
	}
	for _, s := range seeds {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	for _, folder := range []string{"pipelines", "invalid"} {
		paths, _ := filepath.Glob(filepath.Join(corpusDir, folder, "*.json"))
		for _, path := range paths {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(true, data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, asJSON bool, data []byte) {
		name := "fuzz.yml"
		if asJSON {
			name = "fuzz.json"
		}
		p, err := Parse(name, data)
		if err != nil {
			var list yamlnode.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty yamlnode.ErrorList: %#v", err)
			}
			for _, e := range list {
				if e.File != name || e.Line <= 0 {
					t.Fatalf("error without file or line: %#v", e)
				}
			}
			if p != nil {
				t.Fatal("Parse returned a pipeline with an error")
			}
			return
		}
		if errs := p.Validate(); errs != nil {
			t.Fatalf("Parse accepted an invalid pipeline: %v", errs)
		}
		out, err := MarshalYAML(p)
		if err != nil {
			t.Fatalf("MarshalYAML: %v", err)
		}
		again, err := Parse("again.yml", out)
		if err != nil {
			t.Fatalf("Parse(MarshalYAML(p)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip changed the pipeline:\n%s\n%s", again.Canonical(), p.Canonical())
		}
	})
}
