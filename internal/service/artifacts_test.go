package service_test

import (
	"io"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/service"
)

const artifactStages = `
name: p
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        commands: [make]
        outputArtifacts:
          - name: bin
            files: ["**"]
          - name: docs
            files: ["**"]
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        inputArtifacts: [bin]
        commands: [ship]
`

// A failed job's uploaded outputs are downloadable and marked; the next stage
// never runs on them; names that are not artifacts get a did-you-mean, and
// declared ones not produced say why.
func TestOpenArtifact(t *testing.T) {
	f := newFixture(t)
	f.apply(artifactStages)
	id := f.start("p")

	_, err := f.svc.OpenArtifact(f.ctx, "p", id, "bin")
	if service.ErrorCode(err) != service.CodeNotFound || !strings.Contains(err.Error(), "was not produced") || !strings.Contains(err.Error(), "Build/make") {
		t.Errorf("before the build ran: %v", err)
	}

	j := f.claim("w")
	if _, err := f.svc.PutOutput(f.ctx, j.Job.ID, "w", "bin", strings.NewReader("failed-zip")); err != nil {
		t.Fatal(err)
	}
	// docs is named but was never uploaded: it is not recorded.
	if err := f.svc.CompleteJob(f.ctx, j.Job.ID, "w", service.JobResult{Message: "tests failed", FailedArtifacts: []string{"bin", "docs"}}); err != nil {
		t.Fatal(err)
	}
	f.noJob() // Deploy never starts on a failed attempt's artifact

	a, err := f.svc.OpenArtifact(f.ctx, "p", id, "bin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(a)
	a.Close()
	if string(b) != "failed-zip" || !a.Failed || a.Attempt != 1 || a.Action != "make" {
		t.Errorf("failed attempt's artifact: %q failed=%v attempt=%d action=%s", b, a.Failed, a.Attempt, a.Action)
	}
	_, err = f.svc.OpenArtifact(f.ctx, "p", id, "docs")
	if err == nil || !strings.Contains(err.Error(), "failed without uploading it") {
		t.Errorf("docs, never uploaded: %v", err)
	}
	_, err = f.svc.OpenArtifact(f.ctx, "p", id, "bni")
	if service.ErrorCode(err) != service.CodeNotFound || !strings.Contains(err.Error(), `unknown artifact "bni" (did you mean "bin"?)`) {
		t.Errorf("misspelt name: %v", err)
	}
	_, err = f.svc.OpenArtifact(f.ctx, "p", id, "zzzzzz")
	if err == nil || !strings.Contains(err.Error(), `unknown artifact "zzzzzz"`) || !strings.Contains(err.Error(), "bin, docs") {
		t.Errorf("unknown name: %v", err)
	}

	// A retry that succeeds replaces it; the next stage gets the new one.
	if err := f.svc.RetryStage(f.ctx, "p", id, "Build", false); err != nil {
		t.Fatal(err)
	}
	j = f.claim("w")
	for _, name := range []string{"bin", "docs"} {
		if _, err := f.svc.PutOutput(f.ctx, j.Job.ID, "w", name, strings.NewReader("good-zip")); err != nil {
			t.Fatal(err)
		}
	}
	f.succeed(j, nil)
	a, err = f.svc.OpenArtifact(f.ctx, "p", id, "bin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(a)
	a.Close()
	if string(b) != "good-zip" || a.Failed || a.Attempt != 2 {
		t.Errorf("after the retry: %q failed=%v attempt=%d", b, a.Failed, a.Attempt)
	}
	ship := f.claim("w")
	in, err := f.svc.OpenInput(f.ctx, ship.Job.ID, "w", "bin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(in)
	in.Close()
	if string(b) != "good-zip" {
		t.Errorf("Deploy's input = %q, want the successful attempt's", b)
	}
}
