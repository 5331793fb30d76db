package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/appspec"
	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/deploygroup"
)

// fenced finds the YAML and JSON code blocks of a Markdown file.
var fenced = regexp.MustCompile("(?s)```(yaml|json)\n(.*?)```")

// TestDocumentedPipelinesValidate runs `sluice pipeline validate` on every
// pipeline written out in the README and the documentation, as a reader would
// copy it: an example that no longer applies is a broken promise.
func TestDocumentedPipelinesValidate(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	dir := t.TempDir()
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range fenced.FindAllStringSubmatch(string(data), -1) {
			block := m[2]
			// A whole pipeline has its stages; fragments (one action, a
			// trigger) are shown inside the text that explains them.
			// CloudFormation templates declaring pipelines are checked too.
			if !strings.Contains(block, "\nstages:") && !strings.Contains(block, `"stages"`) && !strings.Contains(block, "AWS::CodePipeline::Pipeline") {
				continue
			}
			file := filepath.Join(dir, filepath.Base(f)+"-"+string(rune('a'+i))+"."+m[1])
			if err := os.WriteFile(file, []byte(block), 0o644); err != nil {
				t.Fatal(err)
			}
			res := runCLI(t, nil, "pipeline", "validate", "-f", file)
			if res.code != 0 {
				t.Errorf("%s, block %d: %s", f, i+1, res)
			}
			checked++
		}
	}
	if checked < 3 {
		t.Fatalf("checked %d documented pipelines, expected the README's and the guides' (at least 3)", checked)
	}
}

// TestDocumentedConnectionsParse checks every connection written out in the
// documentation (a YAML block with a top-level kind: and no stages) as
// `sluice connection apply` would read it.
func TestDocumentedConnectionsParse(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range fenced.FindAllStringSubmatch(string(data), -1) {
			block := m[2]
			if m[1] != "yaml" || strings.Contains(block, "\nstages:") || !regexp.MustCompile(`(?m)^kind: `).MatchString(block) ||
				!regexp.MustCompile(`(?m)^name: `).MatchString(block) {
				continue
			}
			if _, err := connection.Parse(filepath.Base(f)+".yml", []byte(block)); err != nil {
				t.Errorf("%s, block %d: %v", f, i+1, err)
			}
			checked++
		}
	}
	if checked < 2 {
		t.Fatalf("checked %d documented connections, expected at least the aws and the git host examples", checked)
	}
}

// TestDocumentedDeploymentFilesParse checks every deployment group (a YAML
// block with deploymentGroupName:) and every appspec (version: 0.0) written
// out in the documentation, as `sluice deploy-group apply` and an agent read them.
func TestDocumentedDeploymentFilesParse(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	groups, specs := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range fenced.FindAllStringSubmatch(string(data), -1) {
			block := m[2]
			switch {
			case regexp.MustCompile(`(?m)^deploymentGroupName: `).MatchString(block):
				if _, err := deploygroup.Parse(filepath.Base(f)+".yaml", []byte(block)); err != nil {
					t.Errorf("%s, block %d: %v", f, i+1, err)
				}
				groups++
			case regexp.MustCompile(`(?m)^version: 0\.0$`).MatchString(block):
				if _, err := appspec.Parse("appspec.yml", []byte(block)); err != nil {
					t.Errorf("%s, block %d: %v", f, i+1, err)
				}
				specs++
			}
		}
	}
	if groups < 1 || specs < 1 {
		t.Fatalf("checked %d deployment groups and %d appspecs, expected docs/deploys.md's", groups, specs)
	}
}
