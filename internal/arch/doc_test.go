package arch

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// mentioned finds the paths docs/ARCHITECTURE.md names under internal/.
var mentioned = regexp.MustCompile(`internal/[a-z0-9_./]*[a-z0-9_]`)

// TestArchitectureNoteIsTrue checks docs/ARCHITECTURE.md against the tree:
// every path it names exists (NAME stands for any), and every package of
// sluice's is named in its package list or the layer table, so that a reader
// finds where each thing lives and where a new one goes.
func TestArchitectureNoteIsTrue(t *testing.T) {
	data, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	note := string(data)
	for _, p := range mentioned.FindAllString(note, -1) {
		if strings.Contains(p, "NAME") || strings.HasSuffix(p, "/NAME") {
			continue
		}
		if _, err := os.Stat("../../" + p); err != nil {
			t.Errorf("docs/ARCHITECTURE.md names %s, which does not exist", p)
		}
	}
	out, err := exec.Command("go", "list", "../../internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(pkg, module+"internal/")
		if rel == "arch" {
			continue
		}
		base := rel[strings.LastIndex(rel, "/")+1:]
		named := strings.Contains(note, "internal/"+rel) || strings.Contains(note, "`"+rel+"`") ||
			strings.Contains(rel, "/") && (strings.Contains(note, rel) || regexp.MustCompile(`[ (`+"`"+`]`+base+`[,:;) `+"`"+`]`).MatchString(note))
		if !named {
			t.Errorf("package internal/%s is not in docs/ARCHITECTURE.md: say what it holds and its layer", rel)
		}
	}
}
