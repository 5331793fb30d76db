package cfntemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// everyFunction uses each intrinsic function and pseudo parameter sluice
// resolves, in both their forms.
const everyFunction = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
  Branch:
    Type: String
  Regions:
    Type: CommaDelimitedList
    Default: "eu-west-3, us-east-1"
Mappings:
  Sizes:
    dev: {Compute: SMALL, Timeout: 5}
    prod: {Compute: LARGE, Timeout: 30}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  DevOnMain: !And [!Condition IsDev, !Equals [!Ref Branch, main]]
  Either: !Or [!Condition IsProd, {Condition: DevOnMain}]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "${AWS::StackName}-pipeline"
      Path: /ci/
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Join ["-", [artifacts, !Ref "AWS::AccountId", !Ref "AWS::Region"]]
  Project:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: {"Fn::Sub": ["${Prefix}-build", {Prefix: !Ref Env}]}
  Unused:
    Type: AWS::SQS::Queue
  App:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: !Sub app-${Env}
      RoleArn: !GetAtt Role.Arn
      RestartExecutionOnUpdate: true
      ArtifactStore: {Type: S3, Location: !Ref SomethingOnlyCloudFormationKnows}
      PipelineType: V2
      ExecutionMode: QUEUED
      Variables:
        - Name: REGION
          DefaultValue: !Select [1, !Ref Regions]
      Tags:
        - Key: stack
          Value: !Ref AWS::StackName
      DisableInboundStageTransitions:
        - StageName: Build
          Reason: !Sub "frozen in ${AWS::Partition}"
      Stages:
        - Name: Source
          Actions:
            - Name: Source
              ActionTypeId: {Category: Source, Owner: AWS, Provider: S3, Version: 1}
              Configuration:
                S3Bucket: !Ref Bucket
                S3ObjectKey: !Sub "${Branch}/src.zip"
                PollForSourceChanges: false
              OutputArtifacts: [{Name: src}]
        - Name: Build
          Actions:
            - Name: Build
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1"}
              RunOrder: 1
              TimeoutInMinutes: !FindInMap [Sizes, !Ref Env, Timeout]
              Configuration:
                ProjectName: !Ref Project
                EnvironmentVariables: !ToJsonString [{name: SIZE, value: !FindInMap [Sizes, !Ref Env, Compute]}]
                Note: !Base64 "hi"
                Literal: !Sub "${!NotAVariable} ${AWS::URLSuffix}"
                Bucket: !GetAtt [Bucket, Arn]
                Imported: !ImportValue shared-vpc
                Split: !Select [0, !Split [",", "a,b,c"]]
              InputArtifacts: [{Name: src}]
              Region: !If [IsProd, !Select [0, !Ref Regions], !Ref "AWS::NoValue"]
            - !If
              - Either
              - Name: Extra
                ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: "1"}
                RunOrder: 2
                Configuration: {ProjectName: extra}
                InputArtifacts: [{Name: src}]
              - !Ref AWS::NoValue
  ProdOnly:
    Type: AWS::CodePipeline::Pipeline
    Condition: IsProd
    Properties:
      RoleArn: arn:aws:iam::123456789012:role/x
      Stages: []
`

func opts(params map[string]string) Options {
	return Options{
		Parameters: params, Values: map[string]string{"import:shared-vpc": "vpc-0abc"},
		StackName: "web", AWS: awsid.ID{Region: "eu-west-3", Account: "123456789012"},
	}
}

func readOne(t *testing.T, src string, o Options) (Pipeline, *pipeline.Pipeline) {
	t.Helper()
	ps, err := Read("stack.yml", []byte(src), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("%d pipelines", len(ps))
	}
	decl, err := Parse("stack.yml", ps[0])
	if err != nil {
		t.Fatal(err)
	}
	return ps[0], decl
}

func TestEveryFunction(t *testing.T) {
	p, decl := readOne(t, everyFunction, opts(map[string]string{"Branch": "main"}))
	if p.Logical != "App" || p.Name != "app-dev" || decl.Name != "app-dev" || decl.ExecutionMode != "QUEUED" || decl.PipelineType != "V2" {
		t.Errorf("pipeline %+v / %s %s %s", p, decl.Name, decl.ExecutionMode, decl.PipelineType)
	}
	if decl.Role != "arn:aws:iam::123456789012:role/ci/web-pipeline" {
		t.Errorf("role %q", decl.Role)
	}
	if len(decl.Variables) != 1 || decl.Variables[0].DefaultValue != "us-east-1" {
		t.Errorf("variables %+v", decl.Variables)
	}
	src := decl.Stages[0].Actions[0].Configuration
	if src["S3Bucket"] != "artifacts-123456789012-eu-west-3" || src["S3ObjectKey"] != "main/src.zip" || src["PollForSourceChanges"] != "false" {
		t.Errorf("source configuration %v", src)
	}
	build := decl.Stages[1].Actions
	if len(build) != 2 || build[1].Name != "Extra" {
		t.Fatalf("Either holds (dev on main): want the Extra action, got %+v", build)
	}
	c := build[0].Configuration
	want := map[string]string{
		"ProjectName":          "dev-build",
		"EnvironmentVariables": `[{"name":"SIZE","value":"SMALL"}]`,
		"Note":                 "aGk=",
		"Literal":              "${NotAVariable} amazonaws.com",
		"Bucket":               "arn:aws:s3:::artifacts-123456789012-eu-west-3",
		"Imported":             "vpc-0abc",
		"Split":                "a",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("configuration %s = %q, want %q", k, c[k], v)
		}
	}
	if build[0].TimeoutInMinutes != 5 || build[0].Region != "" {
		t.Errorf("timeout %d, region %q (AWS::NoValue leaves it out)", build[0].TimeoutInMinutes, build[0].Region)
	}
	if len(p.DisabledTransitions) != 1 || p.DisabledTransitions[0] != (Transition{Stage: "Build", Reason: "frozen in aws", Line: 53}) {
		t.Errorf("transitions %+v", p.DisabledTransitions)
	}
	if tags := field(p.Document, "tags"); tags == nil || tags.Content[0].Content[0].Value != "key" || tags.Content[0].Content[3].Value != "web" {
		t.Errorf("tags %v", toAny(tags))
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "stack.yml:42: RestartExecutionOnUpdate") {
		t.Errorf("notes %q", p.Notes)
	}

	// In prod: the other branch of each If, and the pipeline whose
	// Condition holds, named by its logical id.
	ps, err := Read("stack.yml", []byte(everyFunction), opts(map[string]string{"Branch": "dev", "Env": "prod"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Name != "ProdOnly" || !strings.Contains(strings.Join(ps[1].Notes, "\n"), "gives no Name") {
		t.Fatalf("prod pipelines %+v", ps)
	}
	decl, err = Parse("stack.yml", ps[0])
	if err != nil {
		t.Fatal(err)
	}
	if a := decl.Stages[1].Actions; len(a) != 2 || a[0].Region != "eu-west-3" || a[0].TimeoutInMinutes != 30 || a[0].Configuration["ProjectName"] != "prod-build" {
		t.Errorf("prod build %+v", a)
	}
}

func TestWhatCannotBeResolvedIsNamed(t *testing.T) {
	src := `Parameters:
  Repo: {Type: String}
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
Resources:
  Role: {Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {}}}
  Project: {Type: AWS::CodeBuild::Project, Properties: {}}
  Repository: {Type: AWS::CodeCommit::Repository, Properties: {RepositoryName: web}}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      RoleArn: !GetAtt Role.Arn
      Stages:
        - Name: Source
          Actions:
            - Name: Source
              ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeCommit, Version: 1}
              Configuration: {RepositoryName: !Ref Repo, BranchName: !Ref Repo, Id: !Ref Repository}
              OutputArtifacts: [{Name: src}]
        - Name: Build
          Actions:
            - Name: Build
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: 1}
              Configuration: {ProjectName: !Ref Project, Other: !Ref Nowhere, Net: !ImportValue shared-vpc, F: !GetAZs ""}
              InputArtifacts: [{Name: src}]
`
	_, err := Read("stack.yml", []byte(src), Options{Parameters: map[string]string{"Env": "test", "Nope": "x"}})
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`stack.yml:1: Parameters: --parameter Nope: the template declares no parameter Nope`,
		`stack.yml:3: Parameters.Env: value "test" is not one of its AllowedValues (dev, prod)`,
		`stack.yml:11: Resources.Pipeline.Properties.RoleArn: !GetAtt Role.Arn is an attribute of resource Role (AWS::IAM::Role), which gives no RoleName (CloudFormation makes one up): give it with --resource-value Role.Arn=VALUE (or in a --resource-values file)`,
		`stack.yml:17: Resources.Pipeline.Properties.Stages[0].Actions[0].Configuration.RepositoryName: parameter Repo (declared on line 2) has no Default: give it with --parameter Repo=VALUE (used 1 more times)`,
		`stack.yml:17: Resources.Pipeline.Properties.Stages[0].Actions[0].Configuration.Id: !Ref Repository names resource Repository (AWS::CodeCommit::Repository), whose Ref (repository id) only CloudFormation knows: give it with --resource-value Repository=VALUE (or in a --resource-values file)`,
		`stack.yml:23: Resources.Pipeline.Properties.Stages[1].Actions[0].Configuration.ProjectName: !Ref Project names resource Project (AWS::CodeBuild::Project), which gives no Name (CloudFormation makes one up): give it with --resource-value Project=VALUE (or in a --resource-values file)`,
		`stack.yml:23: Resources.Pipeline.Properties.Stages[1].Actions[0].Configuration.Other: !Ref Nowhere: the template has no parameter or resource Nowhere`,
		`stack.yml:23: Resources.Pipeline.Properties.Stages[1].Actions[0].Configuration.Net: Fn::ImportValue shared-vpc is another stack's export, which only CloudFormation knows: give it with --resource-value 'import:shared-vpc=VALUE' (or in a --resource-values file)`,
		`stack.yml:23: Resources.Pipeline.Properties.Stages[1].Actions[0].Configuration.F: "Fn::GetAZs" is not supported here`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing:\n%s\nin:\n%s", w, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != len(want) {
		t.Errorf("%d errors, want %d:\n%s", n, len(want), got)
	}

	// Given what was missing, it reads.
	o := Options{
		Parameters: map[string]string{"Repo": "web", "Env": "prod"},
		Values: map[string]string{"Role.Arn": "arn:aws:iam::1:role/r", "Repository": "id-1", "Project": "build",
			"import:shared-vpc": "vpc-1"},
	}
	src = strings.Replace(src, `, F: !GetAZs ""`, "", 1)
	src = strings.Replace(src, `Other: !Ref Nowhere, `, "", 1)
	p, decl := readOne(t, src, o)
	if decl.Stages[1].Actions[0].Configuration["ProjectName"] != "build" || decl.Stages[0].Actions[0].Configuration["Id"] != "id-1" || p.Name != "Pipeline" {
		t.Errorf("resolved %+v", decl.Stages)
	}
}

func TestProblemsInThePipelineNameTheTemplate(t *testing.T) {
	src := `Resources:
  Pipe:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: web
      Stages:
        - Name: Build
          Actions:
            - Name: Build
              ActionTypeId: {Category: Build, Owner: AWS, Provider: CodeBuild, Version: 1}
              Configuration: {ProjectName: x}
              InputArtifacts: [{Name: missing}]
              Colour: blue
`
	ps, err := Read("stack.yml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("stack.yml", ps[0])
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"stack.yml:12: Resources.Pipe.Properties.Stages[0].Actions[0].InputArtifacts[0].Name: ",
		"stack.yml:13: Resources.Pipe.Properties.Stages[0].Actions[0].Colour: unknown field",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

func TestTemplatePath(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "Resources.P.Properties",
		"name":                              "Resources.P.Properties.Name",
		"stages[1].actions[0].actionTypeId": "Resources.P.Properties.Stages[1].Actions[0].ActionTypeId",
		"stages[0].actions[0].configuration.projectName": "Resources.P.Properties.Stages[0].Actions[0].Configuration.projectName",
		"tags[0].key": "Resources.P.Properties.Tags[0].Key",
	} {
		if got := TemplatePath("P", in); got != want {
			t.Errorf("TemplatePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// An alias bomb, or a Join of it, stops at the budget.
func TestBombsStop(t *testing.T) {
	var b strings.Builder
	b.WriteString("Resources:\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Properties:\n      a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("      a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := Read("bomb.yml", []byte(b.String()), Options{})
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("bomb: %v", err)
	}
}

// Real templates, kept in testdata with where each came from (SOURCES.tsv),
// read with the parameters and values they need.
func TestRealTemplates(t *testing.T) {
	cases := []struct {
		file   string
		o      Options
		names  []string
		stages int
		check  func(t *testing.T, d *pipeline.Pipeline)
	}{
		{"codebuild-and-codepipeline.yml", Options{
			Parameters: map[string]string{"CodeBuildStack": "cb"},
			Values: map[string]string{"PipelineRole.Arn": "arn:aws:iam::000000000000:role/pipeline",
				"import:cb-CodeCommitName": "app", "import:cb-AppBuild": "app-build", "import:cb-AppDeploy": "app-deploy"},
		}, []string{"sluice-Code-Pipeline"}, 3, func(t *testing.T, d *pipeline.Pipeline) {
			a := d.Stages[2].Actions[1]
			if a.Configuration["ProjectName"] != "app-deploy" || !strings.Contains(a.Configuration["EnvironmentVariables"], "SampleEnv") || a.RunOrder != 3 {
				t.Errorf("App-Deploy %+v", a)
			}
		}},
		{"cdk-manual-approval.template.json", Options{Values: map[string]string{
			"Bucket83908E77": "bucket", "PipelineRoleD68726F7.Arn": "arn:aws:iam::000000000000:role/p",
			"PipelineSourceS3CodePipelineActionRole3CAFD08F.Arn":              "arn:aws:iam::000000000000:role/s",
			"PipelineApproveManualApprovalCodePipelineActionRole51D669A5.Arn": "arn:aws:iam::000000000000:role/a",
			"PipelineApproveManualApprovalTopicResourceF5A35B20":              "arn:aws:sns:us-east-1:000000000000:approvals",
		}}, []string{"PipelineC660917D"}, 2, func(t *testing.T, d *pipeline.Pipeline) {
			a := d.Stages[1].Actions[0]
			if a.ActionTypeID.Provider != "Manual" || a.TimeoutInMinutes != 10 || !strings.HasPrefix(a.Configuration["NotificationArn"], "arn:aws:sns:us-east-1:000000000000:") {
				t.Errorf("approval %+v", a)
			}
		}},
		{"static-website-pipeline.json", Options{}, []string{"CodePipeline"}, 0, nil},
		{"lambda-pipeline.yml", Options{Values: map[string]string{"ArtifactsBucket": "artifacts", "CodePipelineRole.Arn": "arn:aws:iam::000000000000:role/p",
			"CloudFormationRole.Arn": "arn:aws:iam::000000000000:role/cfn"}}, []string{"my-lambda-project"}, 0, nil},
		{"polyglot-app-pipeline.yaml", Options{Parameters: map[string]string{"SourceRepo": "polyglot"}}, []string{"PolyglotPipeline-sluice"}, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			ps, err := Read(c.file, data, c.o)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range ps {
				names = append(names, p.Name)
				d, err := Parse(c.file, p)
				if err != nil {
					t.Fatal(err)
				}
				if c.stages > 0 && len(d.Stages) != c.stages {
					t.Errorf("%d stages, want %d", len(d.Stages), c.stages)
				}
				if c.check != nil {
					c.check(t, d)
				}
			}
			if strings.Join(names, ",") != strings.Join(c.names, ",") {
				t.Errorf("pipelines %v, want %v", names, c.names)
			}
		})
	}
}

// A template whose Actions are indented as stage fields is refused, each
// misplaced field on its line.
func TestMisindentedRealTemplate(t *testing.T) {
	data, err := os.ReadFile("testdata/protag-pipeline-misindented.yml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Read("protag.yml", data, Options{Values: map[string]string{"CodePipelineRole.Arn": "arn:aws:iam::0:role/x", "CloudFormationRole.Arn": "arn:aws:iam::0:role/y"}})
	if err != nil {
		// it may need more; say what
		t.Fatalf("read: %v", err)
	}
	_, err = Parse("protag.yml", ps[0])
	if err == nil || !strings.Contains(err.Error(), "protag.yml:152: Resources.CodePipeline.Properties.Stages[0].ActionTypeId: unknown field") {
		t.Fatalf("%v", err)
	}
}

func TestIsTemplate(t *testing.T) {
	for src, want := range map[string]bool{
		"AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n": true,
		"Resources: {}\n":             true,
		"name: p\nstages: []\n":       false,
		`{"pipeline": {"name": "p"}}`: false,
		"Resources: {}\nstages: []\n": false,
	} {
		root, err := readDoc(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := IsTemplate(root); got != want {
			t.Errorf("IsTemplate(%q) = %v", src, got)
		}
	}
	_ = json.Valid
}

// Triggers and variables keep CodePipeline's nesting under their
// capitalised names.
func TestTriggers(t *testing.T) {
	data, err := os.ReadFile("testdata/triggers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Read("triggers.yaml", data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Parse("triggers.yaml", ps[0], pipeline.RequireRunnable)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Triggers) != 1 || d.Triggers[0].GitConfiguration == nil {
		t.Fatalf("triggers %+v", d.Triggers)
	}
	push := d.Triggers[0].GitConfiguration.Push[0]
	if strings.Join(push.Branches.Includes, ",") != "main,release/*" || push.FilePaths.Excludes[0] != "docs/**" ||
		d.Stages[0].Actions[0].Configuration["PollForSourceChanges"] != "false" {
		t.Errorf("push %+v, configuration %v", push, d.Stages[0].Actions[0].Configuration)
	}
}

// What a template's author could do to the machine reading it, or to the
// one giving its parameters, is refused: functions that amplify a string,
// conditions and names that refer to themselves, a secret repeated in a
// message.
func TestHostileTemplates(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	for name, c := range map[string]struct{ src, want string }{
		"join amplification": {"Resources:\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Properties:\n      Name: !Join [\"\", [&b \"" + big + "\"" + strings.Repeat(", *b", 20) + "]]\n",
			"Fn::Join makes a string longer than 1048576 bytes"},
		"sub amplification": {"Parameters:\n  B: {Type: String, Default: \"" + big + "\"}\nResources:\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Properties:\n      Name: !Sub \"" + strings.Repeat("${B}", 20) + "\"\n",
			"Fn::Sub makes a string longer than 1048576 bytes"},
		"condition cycle": {"Conditions:\n  A: !Not [!Condition B]\n  B: !Not [!Condition A]\nResources:\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Condition: A\n    Properties: {Name: p}\n",
			"depends on itself"},
		"name cycle": {"Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: !GetAtt R.Arn}\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Properties: {Name: p, RoleArn: !GetAtt R.Arn}\n",
			"refers to itself"},
		"secret not echoed": {"Parameters:\n  Token: {Type: String, NoEcho: true, AllowedValues: [a, b]}\nResources:\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Properties: {Name: !Ref Token}\n",
			"value (NoEcho, not shown) is not one of its AllowedValues"},
	} {
		o := Options{}
		if name == "secret not echoed" {
			o.Parameters = map[string]string{"Token": "hunter2"}
		}
		_, err := Read("evil.yml", []byte(c.src), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the secret is in the message: %v", name, err)
		}
		if err != nil && len(err.Error()) > 10_000 {
			t.Errorf("%s: a message of %d bytes", name, len(err.Error()))
		}
	}
}
