package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// An ECR source is pinned to a manifest digest, a git source to a commit id;
// neither takes the other's.
func TestSourceRevisionOfAnImage(t *testing.T) {
	decl, err := pipeline.Parse("p.yml", []byte(`name: app
stages:
  - name: Source
    actions:
      - name: img
        actionTypeId: {category: Source, owner: AWS, provider: ECR, version: "1"}
        configuration: {RepositoryName: app, RegistryUrl: "http://127.0.0.1:5000"}
        outputArtifacts: [{name: image}]
      - name: src
        provider: CodeCommit
        configuration: {RepositoryName: app, BranchName: main}
        outputArtifacts: [{name: code}]
`))
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	start := func(revs map[string]string) error {
		_, err := NewExecution(decl, 1, "e1", nil, revs, Trigger{Type: "StartPipelineExecution"}, time.Now())
		return err
	}
	if err := start(map[string]string{"img": digest, "src": "abcdef1"}); err != nil {
		t.Fatalf("digest for the image, commit for git: %v", err)
	}
	for _, bad := range []string{"abcdef1", "sha256:" + strings.Repeat("AB", 32), "sha256:abc", "sha512:" + strings.Repeat("ab", 32)} {
		if err := start(map[string]string{"img": bad}); err == nil || !strings.Contains(err.Error(), "is not an image digest") {
			t.Errorf("image pinned to %q: %v", bad, err)
		}
	}
	if err := start(map[string]string{"src": digest}); err == nil || !strings.Contains(err.Error(), "is not a commit id") {
		t.Errorf("git pinned to a digest: %v", err)
	}
}
