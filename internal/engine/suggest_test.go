package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

func TestStartSuggestsNames(t *testing.T) {
	decl, err := pipeline.Parse("p.yml", []byte(`name: app
variables: [{name: REGION, defaultValue: eu}]
stages:
  - name: Source
    actions:
      - name: src
        provider: CodeCommit
        configuration: {RepositoryName: app, BranchName: main}
        outputArtifacts: [{name: code}]
  - name: Build
    actions:
      - name: make
        provider: Commands
        commands: ["true"]
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewExecution(decl, 1, "e1", map[string]string{"REGOIN": "us"}, nil, Trigger{Type: "StartPipelineExecution"}, time.Now())
	if err == nil || !strings.Contains(err.Error(), `pipeline app declares no variable REGOIN (did you mean "REGION"?)`) {
		t.Errorf("unknown variable: %v", err)
	}
	_, err = NewExecution(decl, 1, "e1", nil, map[string]string{"scr": "abcdef1"}, Trigger{Type: "StartPipelineExecution"}, time.Now())
	if err == nil || !strings.Contains(err.Error(), `pipeline app has no source action scr (did you mean "src"?)`) {
		t.Errorf("unknown source action: %v", err)
	}
}
