package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const conditionsHead = `name: shop
variables: [{name: Env, defaultValue: prod}]
stages:
  - name: Source
    actions:
      - name: Src
        provider: Git
        configuration: {RepositoryName: shop, BranchName: main}
        outputArtifacts: [{name: Src}]
        namespace: SourceVariables
  - name: Deploy
    actions:
      - name: Ship
        provider: Commands
        commands: [./ship]
        inputArtifacts: [Src]
        outputVariables: [Url]
        namespace: ShipVars
`

func TestConditionsValid(t *testing.T) {
	src := conditionsHead + `    beforeEntry:
      conditions:
        - result: SKIP
          rules:
            - name: OnMain
              ruleTypeId: {category: Rule, owner: AWS, provider: VariableCheck, version: "1"}
              configuration: {Variable: "#{SourceVariables.BranchName}", Value: main, Operator: EQ}
            - name: Window
              ruleTypeId: {provider: DeploymentWindow}
              configuration: {Cron: "0 0-59 9-17 ? * MON-FRI *", TimeZone: Europe/Berlin}
    onSuccess:
      conditions:
        - result: ROLLBACK
          rules:
            - name: Smoke
              ruleTypeId: {provider: Commands}
              commands: ["curl -fsS #{ShipVars.Url}/health"]
              inputArtifacts: [Src]
            - name: Errors
              ruleTypeId: {provider: Metric}
              configuration: {Endpoint: "http://127.0.0.1:9090", Query: "sum(rate(errors[5m]))", Operator: LT, Threshold: "0.5", WaitTime: "2"}
    onFailure:
      result: RETRY
      retryConfiguration: {retryMode: ALL_ACTIONS}
`
	p, err := Parse("p.yml", []byte(src))
	if err != nil {
		t.Fatalf("valid conditions refused: %v", err)
	}
	st := p.Stages[1]
	if st.BeforeEntry == nil || len(st.BeforeEntry.Conditions[0].Rules) != 2 {
		t.Fatalf("beforeEntry = %+v", st.BeforeEntry)
	}
	if got := st.BeforeEntry.Conditions[0].Rules[1].RuleTypeID; got != (RuleTypeID{"Rule", "AWS", "DeploymentWindow", "1"}) {
		t.Errorf("rule type defaults = %+v", got)
	}
	if st.OnFailure.Result != ResultRetry || st.OnFailure.RetryConfiguration.RetryMode != RetryAllActions {
		t.Errorf("onFailure = %+v", st.OnFailure)
	}
	// Written back as YAML and as JSON, the conditions read the same.
	y, err := MarshalYAML(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("p.yml", y)
	if err != nil {
		t.Fatalf("marshalled YAML does not parse: %v\n%s", err, y)
	}
	if string(back.Canonical()) != string(p.Canonical()) {
		t.Errorf("YAML round trip changed the pipeline:\n%s\n%s", back.Canonical(), p.Canonical())
	}
	j, _ := json.Marshal(Document{Pipeline: *p})
	back, err = Parse("p.json", j)
	if err != nil {
		t.Fatalf("marshalled JSON does not parse: %v\n%s", err, j)
	}
	if string(back.Canonical()) != string(p.Canonical()) {
		t.Errorf("JSON round trip changed the pipeline")
	}
}

// TestConditionsCodePipelineJSON reads the stage conditions of a
// CodePipeline get-pipeline document, as AWS's user guide shows them.
func TestConditionsCodePipelineJSON(t *testing.T) {
	doc := `{
  "pipeline": {
    "name": "MyPipeline",
    "roleArn": "arn:aws:iam::111111111111:role/service-role/AWSCodePipelineServiceRole",
    "artifactStore": {"type": "S3", "location": "bucket"},
    "pipelineType": "V2",
    "stages": [
      {"name": "Source", "actions": [{"name": "Source",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
        "configuration": {"RepositoryName": "MyDemoRepo", "BranchName": "main"},
        "outputArtifacts": [{"name": "SourceArtifact"}], "namespace": "SourceVariables", "runOrder": 1}]},
      {"name": "Deploy", "actions": [{"name": "Deploy",
        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": "deploy"},
        "inputArtifacts": [{"name": "SourceArtifact"}], "runOrder": 1}],
       "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [{"name": "MyVarCheckRule",
         "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "VariableCheck", "version": "1"},
         "configuration": {"Operator": "EQ", "Value": "MyDemoRepo", "Variable": "#{SourceVariables.RepositoryName}"},
         "inputArtifacts": [], "region": "us-east-1"}]}]},
       "onFailure": {"result": "ROLLBACK", "conditions": [{"rules": [{"name": "MyMonitorRule",
         "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "CloudWatchAlarm", "version": "1"},
         "configuration": {"AlarmName": "CWAlarm", "WaitTime": "1"}, "inputArtifacts": [], "region": "us-east-1"}]}]}}
    ]
  },
  "metadata": {"pipelineArn": "arn:aws:codepipeline:us-east-1:111111111111:MyPipeline", "version": 3}
}`
	p, err := Parse("pipeline.json", []byte(doc))
	if err != nil {
		t.Fatalf("CodePipeline JSON with conditions refused: %v", err)
	}
	st := p.Stages[1]
	conds, result, _ := st.Condition(ConditionOnFailure)
	if result != ResultRollback || len(conds) != 1 || ConditionResult(ConditionOnFailure, conds[0], result) != ResultRollback {
		t.Errorf("onFailure = %+v", st.OnFailure)
	}
	if st.BeforeEntry.Conditions[0].Rules[0].Region != "us-east-1" {
		t.Errorf("rule region lost: %+v", st.BeforeEntry.Conditions[0].Rules[0])
	}
}

func TestConditionsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, stage string
		want        []string
	}{
		{"unknown rule type", `    beforeEntry:
      conditions:
        - rules:
            - name: Check
              ruleTypeId: {provider: VariableChek}
              configuration: {Variable: "#{variables.Env}", Value: prod, Operator: EQ}
`, []string{`p.yml:23: stages[1].beforeEntry.conditions[0].rules[0].ruleTypeId.provider: unknown rule type "VariableChek" (want one of CloudWatchAlarm, Commands, DeploymentWindow, LambdaInvoke, Metric, VariableCheck) (did you mean "VariableCheck"?)`}},
		{"result not allowed for the kind", `    beforeEntry:
      conditions:
        - result: ROLLBACK
          rules:
            - name: Check
              ruleTypeId: {provider: VariableCheck}
              configuration: {Variable: "#{variables.Env}", Value: prod, Operator: EQ}
`, []string{`p.yml:21: stages[1].beforeEntry.conditions[0].result: result "ROLLBACK" is not allowed in beforeEntry (want FAIL or SKIP)`}},
		{"success condition cannot skip", `    onSuccess:
      conditions:
        - result: SKIP
          rules:
            - name: Check
              ruleTypeId: {provider: VariableCheck}
              configuration: {Variable: "#{variables.Env}", Value: prod, Operator: EQ}
`, []string{`p.yml:21: stages[1].onSuccess.conditions[0].result: result "SKIP" is not allowed in onSuccess (want FAIL or ROLLBACK)`}},
		{"failure result", `    onFailure:
      result: SKIP
`, []string{`p.yml:20: stages[1].onFailure.result: result "SKIP" is not allowed in onFailure (want ROLLBACK or RETRY)`}},
		{"retry mode", `    onFailure:
      result: RETRY
      retryConfiguration: {retryMode: SOME_ACTIONS}
`, []string{`p.yml:21: stages[1].onFailure.retryConfiguration.retryMode: unknown retry mode "SOME_ACTIONS" (want FAILED_ACTIONS or ALL_ACTIONS)`}},
		{"retry configuration without retry", `    onFailure:
      result: ROLLBACK
      retryConfiguration: {retryMode: ALL_ACTIONS}
`, []string{`p.yml:21: stages[1].onFailure.retryConfiguration: only a RETRY result takes a retryConfiguration`}},
		{"unknown variable", `    beforeEntry:
      conditions:
        - rules:
            - name: Check
              ruleTypeId: {provider: VariableCheck}
              configuration: {Variable: "#{variables.Enviroment}", Value: prod, Operator: EQ}
`, []string{`p.yml:24: stages[1].beforeEntry.conditions[0].rules[0].configuration.Variable: #{variables.Enviroment} refers to undeclared pipeline variable "Enviroment"`}},
		{"variable of the stage itself before entry", `    beforeEntry:
      conditions:
        - rules:
            - name: Check
              ruleTypeId: {provider: VariableCheck}
              configuration: {Variable: "#{ShipVars.Url}", Value: x, Operator: CONTAINS}
`, []string{`p.yml:24: stages[1].beforeEntry.conditions[0].rules[0].configuration.Variable: #{ShipVars.Url} refers to action "Ship" in stage "Deploy", which does not run before this action`}},
		{"not a reference, bad operator", `    onSuccess:
      conditions:
        - rules:
            - name: Check
              ruleTypeId: {provider: VariableCheck}
              configuration: {Variable: prod, Value: prod, Operator: GT}
`, []string{
			`p.yml:24: stages[1].onSuccess.conditions[0].rules[0].configuration.Operator: unknown operator "GT" (want EQ, NE, CONTAINS, MATCHES)`,
			`p.yml:24: stages[1].onSuccess.conditions[0].rules[0].configuration.Variable: "prod" is not a variable reference: give one such as #{SourceVariables.BranchName}`}},
		{"bad window, unknown key", `    beforeEntry:
      conditions:
        - rules:
            - name: Window
              ruleTypeId: {provider: DeploymentWindow}
              configuration: {Cron: "0 9-17 * * MON-FRI", TimeZon: UTC}
`, []string{
			`p.yml:24: stages[1].beforeEntry.conditions[0].rules[0].configuration.TimeZon: unknown configuration key (rule type "DeploymentWindow" reads Cron, TimeZone) (did you mean "TimeZone"?)`,
			`p.yml:24: stages[1].beforeEntry.conditions[0].rules[0].configuration.Cron: "0 9-17 * * MON-FRI" has 5 fields; want 6 or 7 (seconds minutes hours day-of-month month day-of-week [year])`,
		}},
		{"commands rule without commands, too many rules", `    onSuccess:
      conditions:
        - rules:
            - {name: A, ruleTypeId: {provider: Commands}}
            - {name: B, ruleTypeId: {provider: LambdaInvoke}, configuration: {FunctionName: f}}
            - {name: C, ruleTypeId: {provider: LambdaInvoke}, configuration: {FunctionName: f}}
            - {name: D, ruleTypeId: {provider: LambdaInvoke}, configuration: {FunctionName: f}}
            - {name: E, ruleTypeId: {provider: LambdaInvoke}, configuration: {FunctionName: f}}
            - {name: E, ruleTypeId: {provider: LambdaInvoke, owner: Custom}, configuration: {FunctionName: f}}
`, []string{
			`p.yml:21: stages[1].onSuccess.conditions[0].rules: too many rules: 6, at most 5`,
			`p.yml:22: stages[1].onSuccess.conditions[0].rules[0].commands: required for rule type "Commands"`,
			`p.yml:27: stages[1].onSuccess.conditions[0].rules[5].name: rule name "E" is already used by stages[1].onSuccess.conditions[0].rules[4]`,
			`p.yml:27: stages[1].onSuccess.conditions[0].rules[5].ruleTypeId.owner: unknown rule owner "Custom" (want AWS)`,
		}},
		{"unknown field", `    beforeEntry:
      conditions:
        - rules:
            - name: Check
              ruleTypeId: {provider: VariableCheck}
              configuration: {Variable: "#{variables.Env}", Value: prod, Operator: EQ}
              timeout: 5
`, []string{`p.yml:25: stages[1].beforeEntry.conditions[0].rules[0].timeout: unknown field`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yml", []byte(conditionsHead+tc.stage))
			if err == nil {
				t.Fatalf("accepted")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestConditionsNeedV2(t *testing.T) {
	src := strings.Replace(conditionsHead, "variables: [{name: Env, defaultValue: prod}]\n", "pipelineType: V1\n", 1)
	src = strings.Replace(src, "provider: Commands\n        commands: [./ship]\n        inputArtifacts: [Src]\n        outputVariables: [Url]\n", "provider: Noop\n", 1)
	src += "    onFailure: {result: ROLLBACK}\n"
	_, err := Parse("p.yml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "stage conditions need pipelineType V2") {
		t.Fatalf("err = %v", err)
	}
}

func TestWindowSchedule(t *testing.T) {
	s, err := WindowSchedule("0 0-59 9-16 ? * MON-FRI *")
	if err != nil {
		t.Fatal(err)
	}
	// Friday 16:59 is inside, Friday 17:00 is not; the next opening is Monday 09:00.
	fri := time.Date(2026, 12, 4, 16, 59, 0, 0, time.UTC)
	if got := s.Next(fri.Add(-time.Second), time.UTC); !got.Equal(fri) {
		t.Errorf("Friday 16:59 not in the window: next %v", got)
	}
	if got, want := s.Next(fri, time.UTC), time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next opening = %v, want %v", got, want)
	}
	for _, bad := range []string{"0 9-17 * * MON-FRI", "5 * * ? * * *", "* * * * * *"} {
		if _, err := WindowSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// cdkTemplate is what `cdk synth` writes for a V2 pipeline with stage
// conditions (aws-cdk-lib's Pipeline with beforeEntry, onSuccess and
// onFailure): the pipeline is a resource of a CloudFormation template, its
// keys capitalised, its role and artifact bucket other resources.
const cdkTemplate = `{
 "Resources": {
  "PipelineArtifactsBucket22248F97": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
  "PipelineRoleD68726F7": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
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

func TestConditionsCDKTemplate(t *testing.T) {
	p, err := Parse("cdk.out/Stack.template.json", []byte(cdkTemplate))
	if err != nil {
		t.Fatalf("CDK template refused: %v", err)
	}
	if p.Name != "Pipeline9850B417" || p.ExecutionMode != Queued || p.Role != "" || len(p.Stages) != 2 {
		t.Fatalf("pipeline = %s %s role %q, %d stages", p.Name, p.ExecutionMode, p.Role, len(p.Stages))
	}
	st := p.Stages[1]
	if st.BeforeEntry.Conditions[0].Rules[0].Configuration["Variable"] != "#{SourceVariables.BranchName}" ||
		st.OnSuccess.Conditions[0].Result != ResultRollback || st.OnFailure.RetryConfiguration.RetryMode != RetryAllActions {
		t.Errorf("conditions = %+v %+v %+v", st.BeforeEntry, st.OnSuccess, st.OnFailure)
	}

	// What the template names of its stack is refused on its line, and a
	// wrong condition as in any declaration.
	bad := strings.Replace(cdkTemplate, `"Commands": ["./deploy.sh"]`, `"Commands": [{"Fn::Sub": "./deploy.sh ${AWS::Region}"}]`, 1)
	bad = strings.Replace(bad, `"Result": "ROLLBACK"`, `"Result": "SKIP"`, 1)
	_, err = Parse("t.json", []byte(bad))
	want := "t.json:24: stages[1].onSuccess.conditions[0].result: result \"SKIP\" is not allowed in onSuccess (want FAIL or ROLLBACK)"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "t.json:20: stages[1].actions[0].commands[0]: is a CloudFormation intrinsic function (Fn::Sub)") ||
		strings.Contains(err.Error(), "commands: required") {
		t.Errorf("bad template: %v", err)
	}
}
