package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// sluice server --region NAME: the region reaches a build through its job
// (AWS_REGION, AWS_DEFAULT_REGION, CODEBUILD_BUILD_ARN) and the events carry
// it; each build of a project gets the next CODEBUILD_BUILD_NUMBER. A
// region name that could not be one is refused at start.
func TestServerRegion(t *testing.T) {
	t.Parallel()
	bad := runCLI(t, nil, "server", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--region", "EU=disk")
	if bad.code == 0 || !strings.Contains(bad.stderr, `--region "EU=disk"`) {
		t.Fatalf("a bad region name: %s", bad)
	}

	s := startServer(t, "--region", "eu-west-3")
	dir := s.scratch("region")
	project := filepath.Join(dir, "project.yml")
	writeFile(t, project, `name: numbered
buildspec: |
  version: 0.2
  phases:
    build:
      commands:
        - echo "number=$CODEBUILD_BUILD_NUMBER region=$AWS_REGION/$AWS_DEFAULT_REGION initiator=$CODEBUILD_INITIATOR"
        - echo "arn=$CODEBUILD_BUILD_ARN"
environmentVariables: []
`)
	s.ok("project", "apply", "-f", project)
	pipe := filepath.Join(dir, "pipe.yml")
	writeFile(t, pipe, `name: numbers
stages:
  - name: Source
    actions:
      - name: src
        provider: Commands
        commands: ["echo x > x.txt"]
        outputArtifacts: [{name: code, files: [x.txt]}]
  - name: Build
    actions:
      - name: build
        provider: CodeBuild
        configuration: {ProjectName: numbered}
        inputArtifacts: [code]
`)
	s.apply(pipe)
	for n := 1; n <= 2; n++ {
		id := s.start("numbers")
		s.waitEnd("numbers", id, "Succeeded")
		log := s.ok("logs", "numbers", id, "build")
		wantContains(t, "build log", log,
			fmt.Sprintf("number=%d region=eu-west-3/eu-west-3 initiator=codepipeline/numbers", n),
			"arn=arn:sluice:codebuild:eu-west-3:local:build/numbered:")
	}
	wantContains(t, "events", s.ok("events", "-o", "json"), `"region": "eu-west-3"`)
}
