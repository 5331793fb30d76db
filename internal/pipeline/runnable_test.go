package pipeline

import (
	"strings"
	"testing"
)

func TestRequireRunnable(t *testing.T) {
	src := `name: p
stages:
  - name: Build
    actions:
      - name: ok
        provider: Commands
        commands: ["true"]
      - name: later
        provider: EC2
`
	if _, err := Parse("p.yml", []byte(src)); err != nil {
		t.Fatalf("a known provider is valid: %v", err)
	}
	_, err := ParseWith("p.yml", []byte(src), RequireRunnable)
	if err == nil {
		t.Fatal("a provider that cannot run was accepted")
	}
	want := `p.yml:9: stages[0].actions[1].provider: provider "EC2" cannot run in this version of sluice yet (it runs Build, CloudFormation, CloudFormationStackInstances, CloudFormationStackSet, CodeBuild, CodeCommit, CodeConnections, CodeDeploy, CodeStarSourceConnection, Commands, ECR, ECS, ElasticBeanstalk, Function, Git, GitHub, GitRemote, Lambda, Manual, Noop, Pipeline, PipelineGate, PipelineUpdate, S3, StepFunctions)`
	if got := err.Error(); got != want {
		t.Fatalf("error:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(err.Error(), ":9:") {
		t.Fatal("no line")
	}
}
