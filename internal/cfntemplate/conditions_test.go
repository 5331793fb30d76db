package cfntemplate

import (
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// cdkTemplate is what `cdk synth` writes for a V2 pipeline with stage
// conditions (aws-cdk-lib's Pipeline with beforeEntry, onSuccess and
// onFailure): the pipeline is a resource of a CloudFormation template, its
// keys capitalised, its role and artifact bucket other resources.
const cdkTemplate = `{
 "Resources": {
  "PipelineArtifactsBucket22248F97": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
  "PipelineRoleD68726F7": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
  "PipelineSourceCodePipelineActionRoleC6F9E7F5": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
  "Pipeline9850B417": {
   "Type": "AWS::CodePipeline::Pipeline",
   "Properties": {
    "ArtifactStore": {"Location": {"Ref": "PipelineArtifactsBucket22248F97"}, "Type": "S3"},
    "ExecutionMode": "QUEUED",
    "PipelineType": "V2",
    "RestartExecutionOnUpdate": false,
    "RoleArn": {"Fn::GetAtt": ["PipelineRoleD68726F7", "Arn"]},
    "Stages": [
     {"Actions": [{"ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "CodeStarSourceConnection", "Version": "1"},
       "Configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc", "FullRepositoryId": "shop/api", "BranchName": "main"},
       "Name": "Source", "Namespace": "SourceVariables", "OutputArtifacts": [{"Name": "Artifact_Source"}], "RunOrder": 1,
       "RoleArn": {"Fn::GetAtt": ["PipelineSourceCodePipelineActionRoleC6F9E7F5", "Arn"]}}],
      "Name": "Source"},
     {"Actions": [{"ActionTypeId": {"Category": "Compute", "Owner": "AWS", "Provider": "Commands", "Version": "1"},
       "Commands": ["./deploy.sh"], "InputArtifacts": [{"Name": "Artifact_Source"}], "Name": "Deploy", "RunOrder": 1}],
      "BeforeEntry": {"Conditions": [{"Result": "FAIL", "Rules": [{"Name": "OnMain",
        "RuleTypeId": {"Category": "Rule", "Owner": "AWS", "Provider": "VariableCheck", "Version": "1"},
        "Configuration": {"Variable": "#{SourceVariables.BranchName}", "Value": "main", "Operator": "EQ"}}]}]},
      "OnSuccess": {"Conditions": [{"Result": "ROLLBACK", "Rules": [{"Name": "CloudWatchCheck",
        "RuleTypeId": {"Category": "Rule", "Owner": "AWS", "Provider": "CloudWatchAlarm", "Version": "1"},
        "Configuration": {"AlarmName": "AlarmName1", "WaitTime": "5"}}]}]},
      "OnFailure": {"Result": "RETRY", "RetryConfiguration": {"RetryMode": "ALL_ACTIONS"}},
      "Name": "Deploy"}
    ]
   },
   "DependsOn": ["PipelineRoleD68726F7"]
  }
 }
}`

// TestConditionsCDKTemplate: a CDK-synthesized V2 pipeline with stage
// conditions applies once what only CloudFormation knows (the role CDK
// made, the artifact bucket) is given; a wrong condition is refused on the
// template's line as in any declaration.
func TestConditionsCDKTemplate(t *testing.T) {
	opts := Options{Values: map[string]string{
		"PipelineRoleD68726F7.Arn":                         "arn:aws:iam::123456789012:role/deployer",
		"PipelineSourceCodePipelineActionRoleC6F9E7F5.Arn": "arn:aws:iam::123456789012:role/deployer",
		"PipelineArtifactsBucket22248F97":                  "artifacts",
	}}
	ps, err := Read("cdk.out/Stack.template.json", []byte(cdkTemplate), opts)
	if err != nil {
		t.Fatalf("CDK template refused: %v", err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d pipelines", len(ps))
	}
	p, err := Parse("cdk.out/Stack.template.json", ps[0])
	if err != nil {
		t.Fatalf("CDK pipeline refused: %v", err)
	}
	if p.Name != "Pipeline9850B417" || p.ExecutionMode != pipeline.Queued || len(p.Stages) != 2 {
		t.Fatalf("pipeline = %s %s, %d stages", p.Name, p.ExecutionMode, len(p.Stages))
	}
	st := p.Stages[1]
	if st.BeforeEntry.Conditions[0].Rules[0].Configuration["Variable"] != "#{SourceVariables.BranchName}" ||
		st.OnSuccess.Conditions[0].Result != pipeline.ResultRollback || st.OnFailure.RetryConfiguration.RetryMode != pipeline.RetryAllActions {
		t.Errorf("conditions = %+v %+v %+v", st.BeforeEntry, st.OnSuccess, st.OnFailure)
	}

	bad := strings.Replace(cdkTemplate, `"Result": "ROLLBACK"`, `"Result": "SKIP"`, 1)
	ps, err = Read("t.json", []byte(bad), opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("t.json", ps[0])
	want := `t.json:25: Resources.Pipeline9850B417.Properties.Stages[1].OnSuccess.Conditions[0].Result: result "SKIP" is not allowed in onSuccess (want FAIL or ROLLBACK)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bad condition: %v\nwant %s", err, want)
	}
}
