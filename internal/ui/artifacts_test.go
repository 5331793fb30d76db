package ui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/wire"
)

// A failed build's kept artifact is linked from its action's log page, marked
// as from a failed attempt, and downloads under a name that says so.
func TestLogPageLinksFailedAttemptArtifact(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	if _, err := ts.api.ApplyProject(ctx, "project.yml", []byte(`name: flaky
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - mkdir -p out && echo partial > out/x.txt
        - exit 1
  artifacts:
    files: ['out/**/*']
`)); err != nil {
		t.Fatal(err)
	}
	ts.apply(`name: kept
stages:
  - name: Seed
    actions:
      - name: seed
        provider: Commands
        commands: ["echo s > s.txt"]
        outputArtifacts:
          - name: src
            files: [s.txt]
  - name: Build
    actions:
      - name: compile
        provider: CodeBuild
        configuration: {ProjectName: flaky}
        inputArtifacts: [src]
        outputArtifacts: [bin]
`)
	id, err := ts.api.Start(ctx, "kept", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("kept", id, "failure", func(e *wire.Execution) bool { return e.Status == "Failed" })
	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	resp, body := b.get("/ui/pipelines/kept/executions/" + id + "/logs/Build/compile")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log page: %s", resp.Status)
	}
	link := "/ui/pipelines/kept/executions/" + id + "/artifacts/bin"
	for _, want := range []string{`href="` + link + `"`, "from failed attempt 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("log page has no %q", want)
		}
	}
	resp, _ = b.get(link)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "bin-failed-attempt-1.zip") {
		t.Errorf("download: %s, %q", resp.Status, resp.Header.Get("Content-Disposition"))
	}
}
