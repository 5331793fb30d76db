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

// An ECR source's revision, recorded on the execution and handed to later
// actions, is the image's digest.
func TestImageSourceRecordsItsDigest(t *testing.T) {
	ecr := noop("img", 1, outputs("Image"), namespace("I", "ImageDigest"))
	ecr.ActionTypeID = pipeline.ActionTypeID{Category: pipeline.CategorySource, Owner: pipeline.OwnerAWS, Provider: "ECR", Version: "1"}
	decl := &pipeline.Pipeline{Name: "p", Stages: []pipeline.Stage{
		stage("Source", ecr),
		stage("Use", noop("use", 1, inputs("Image"))),
	}}
	h := newHarness(t, decl)
	e := h.start(nil)
	digest := "sha256:" + strings.Repeat("cd", 32)
	h.succeed(e, "img", map[string]string{"ImageDigest": digest, "ImageURI": "h/app@" + digest})
	got := h.exec(e.ID)
	if len(got.SourceRevisions) != 1 || got.SourceRevisions[0].RevisionID != digest {
		t.Fatalf("source revisions %+v, want img at %s", got.SourceRevisions, digest)
	}
	if rev := h.job(e, "use").Revision; rev != digest {
		t.Errorf("the next action works on revision %q, want %s", rev, digest)
	}
}
