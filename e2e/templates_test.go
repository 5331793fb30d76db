package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A CloudFormation template, as a team using CodePipeline keeps it: short
// tags, a parameter without a default, a role and a build project declared
// beside the pipeline, a transition that starts disabled.
const appTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
  Greeting:
    Type: String
    Default: hello
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  PipelineRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: !Sub "app-${Env}"
      RoleArn: !GetAtt PipelineRole.Arn
      ArtifactStore: {Type: S3, Location: !Ref ArtifactBucket}
      DisableInboundStageTransitions:
        - StageName: Deploy
          Reason: !If [IsProd, release freeze, waiting for review]
      Stages:
        - Name: Build
          Actions:
            - Name: Say
              ActionTypeId: {Category: Compute, Owner: AWS, Provider: Commands, Version: "1"}
              Commands:
                - !Sub "echo ${Greeting} from ${AWS::StackName} in ${AWS::Region}"
        - Name: Deploy
          Actions:
            - Name: Ship
              ActionTypeId: {Category: Compute, Owner: AWS, Provider: Commands, Version: "1"}
              Commands: ["true"]
  ArtifactBucket:
    Type: AWS::S3::Bucket
`

func TestApplyCloudFormationTemplate(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--isolation", "none")
	dir := s.scratch("templates")
	tmpl := filepath.Join(dir, "stack.yaml")
	writeFile(t, tmpl, appTemplate)

	// What only CloudFormation knows is named, with its line and the flag
	// that gives it, and nothing is applied.
	r := s.fails("pipeline", "apply", "-f", tmpl)
	wantContains(t, "unresolved", r.stderr,
		"stack.yaml:19: Resources.Pipeline.Properties.Name: parameter Env (declared on line 3) has no Default: give it with --parameter Env=VALUE",
		"stack.yaml:20: Resources.Pipeline.Properties.RoleArn: !GetAtt PipelineRole.Arn is an attribute of resource PipelineRole (AWS::IAM::Role), which gives no RoleName (CloudFormation makes one up): give it with --resource-value PipelineRole.Arn=VALUE")
	if strings.Contains(s.ok("pipeline", "list"), "app-") {
		t.Fatal("a template that does not resolve applied a pipeline")
	}
	r = s.fails("pipeline", "apply", "-f", tmpl, "--parameter", "Env=staging", "--resource-value", "PipelineRole.Arn=arn:aws:iam::000000000000:role/app")
	wantContains(t, "not allowed", r.stderr, `stack.yaml:3: Parameters.Env: value "staging" is not one of its AllowedValues (dev, prod)`+"\n")

	values := filepath.Join(dir, "values.yaml")
	writeFile(t, values, "PipelineRole.Arn: arn:aws:iam::000000000000:role/app\n")
	out := s.ok("pipeline", "apply", "-f", tmpl, "--parameter", "Env=prod", "--resource-values", values, "--stack-name", "web")
	wantContains(t, "apply", out, "pipeline app-prod created (version 1) from Pipeline", "transition into Deploy disabled: release freeze")

	id := s.start("app-prod")
	e := s.waitFor("app-prod", id, 60*time.Second, "to wait before Deploy", func(e execution) bool { return e.WaitingFor != "" })
	wantContains(t, "waitingFor", e.WaitingFor, "Deploy", "release freeze")
	wantContains(t, "the resolved command", s.ok("logs", "app-prod", id, "Say"), "hello from web in us-east-1")

	// Exported as a template, it applies back unchanged.
	exported := s.ok("pipeline", "export", "app-prod", "-o", "cloudformation")
	wantContains(t, "export", exported, "Type: AWS::CodePipeline::Pipeline", "AppProdPipeline:", "Name: app-prod", "Commands:")
	back := filepath.Join(dir, "exported.yaml")
	writeFile(t, back, exported)
	wantContains(t, "re-apply", s.ok("pipeline", "apply", "-f", back), "pipeline app-prod unchanged (version 1)")
	var doc map[string]any
	if err := json.Unmarshal([]byte(s.ok("pipeline", "export", "app-prod", "-o", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["pipeline"].(map[string]any)["name"] != "app-prod" {
		t.Errorf("export -o json: %v", doc)
	}

	// Template flags on a pipeline file are a mistake, said as such.
	plain := filepath.Join(dir, "plain.yml")
	writeFile(t, plain, "name: plain\nstages:\n  - name: A\n    actions:\n      - {name: a, provider: Noop}\n")
	r = s.fails("pipeline", "apply", "-f", plain, "--parameter", "Env=dev")
	wantContains(t, "flags on a pipeline file", r.stderr, "are for CloudFormation templates")
	_ = os.Remove(plain)
}
