package pipeline

import (
	"strings"
	"testing"
)

const cfnPipeline = `name: infra
stages:
  - name: Source
    actions:
      - name: Checkout
        provider: Git
        outputArtifacts: [{name: src}]
      - name: Params
        provider: Git
        outputArtifacts: [{name: params}]
  - name: Deploy
    actions:
      - name: Stack
        provider: CloudFormation
        inputArtifacts: [{name: src}, {name: params}]
        outputArtifacts: [{name: outputs}]
        configuration:
          ActionMode: CREATE_UPDATE
          StackName: app
          TemplatePath: src::stack/template.yml
          TemplateConfiguration: params::config.json
          ParameterOverrides: '{"Env": {"Fn::GetParam": ["params", "env.json", "env"]}, "Key": {"Fn::GetArtifactAtt": ["src", "ObjectKey"]}}'
          Capabilities: CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND
          OutputFileName: outputs.json
          Connection: prod
      - name: Set
        provider: CloudFormationStackSet
        inputArtifacts: [{name: src}]
        configuration:
          StackSetName: shared
          TemplatePath: src::set.yml
          DeploymentTargets: src::accounts.json
          Regions: eu-west-1,us-east-1
          FailureTolerancePercentage: "10"
          MaxConcurrentCount: "2"
          PermissionModel: SELF_MANAGED
      - name: Instances
        provider: CloudFormationStackInstances
        runOrder: 2
        configuration:
          StackSetName: shared
          DeploymentTargets: "111111111111,222222222222"
          Regions: ap-southeast-2
          ParameterOverrides: ParameterKey=Env,ParameterValue=prod
`

func TestCloudFormationConfigValid(t *testing.T) {
	if _, err := ParseWith("infra.yml", []byte(cfnPipeline), RequireRunnable); err != nil {
		t.Fatalf("a valid CloudFormation pipeline was refused:\n%v", err)
	}
}

func TestCloudFormationConfigErrors(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     []string
	}{
		{"misspelt key", "          StackName: app\n", "          StackName: app\n          TemplatPath: x\n",
			[]string{`infra.yml:20: stages[1].actions[0].configuration.TemplatPath: unknown configuration key (did you mean "TemplatePath"?)`}},
		{"unknown key", "          Connection: prod\n", "          Connection: prod\n          Colour: blue\n",
			[]string{`infra.yml:26: stages[1].actions[0].configuration.Colour: unknown configuration key (this provider reads ActionMode, StackName, ChangeSetName, TemplatePath, TemplateConfiguration, ParameterOverrides, Capabilities, RoleArn, OutputFileName, Connection)`}},
		{"misspelt mode", "ActionMode: CREATE_UPDATE", "ActionMode: CREATE_UPDATES",
			[]string{`infra.yml:18: stages[1].actions[0].configuration.ActionMode: "CREATE_UPDATES" is not an action mode (want CREATE_UPDATE, DELETE_ONLY, REPLACE_ON_FAILURE, CHANGE_SET_REPLACE, CHANGE_SET_EXECUTE) (did you mean "CREATE_UPDATE"?)`}},
		{"no action mode", "          ActionMode: CREATE_UPDATE\n", "",
			[]string{`infra.yml:17: stages[1].actions[0].configuration: missing ActionMode (required by provider "CloudFormation")`}},
		{"keys a mode needs", "ActionMode: CREATE_UPDATE", "ActionMode: CHANGE_SET_REPLACE",
			[]string{`infra.yml:17: stages[1].actions[0].configuration.ChangeSetName: required when ActionMode is CHANGE_SET_REPLACE`}},
		{"stack name", "          StackName: app\n", "",
			[]string{`infra.yml:17: stages[1].actions[0].configuration.StackName: required when ActionMode is CREATE_UPDATE`}},
		{"template of an artifact the action lacks", "TemplatePath: src::stack", "TemplatePath: build::stack",
			[]string{`infra.yml:20: stages[1].actions[0].configuration.TemplatePath: artifact "build" is not an input artifact of this action (it has src, params)`}},
		{"template path without an artifact", "TemplatePath: src::stack/template.yml", "TemplatePath: stack/template.yml",
			[]string{`infra.yml:20: stages[1].actions[0].configuration.TemplatePath: "stack/template.yml" is not ArtifactName::path/in/it`}},
		{"template path out of the artifact", "TemplatePath: src::stack/template.yml", "TemplatePath: src::../../etc/passwd",
			[]string{`infra.yml:20: stages[1].actions[0].configuration.TemplatePath: "src::../../etc/passwd" must name a relative path inside the artifact`}},
		{"Fn::GetParam of an artifact the action lacks", `["params", "env.json", "env"]`, `["parms", "env.json", "env"]`,
			[]string{`infra.yml:22: stages[1].actions[0].configuration.ParameterOverrides: artifact "parms" is not an input artifact of this action (it has src, params) (did you mean "params"?)`}},
		{"parameter overrides not JSON", `ParameterOverrides: '{"Env"`, `ParameterOverrides: '["Env"`,
			[]string{`infra.yml:22: stages[1].actions[0].configuration.ParameterOverrides: must be a JSON object of parameter names to values: invalid character ':' after array element`}},
		{"capability", "CAPABILITY_IAM,", "CAPABILITY_IAMS,",
			[]string{`infra.yml:23: stages[1].actions[0].configuration.Capabilities: "CAPABILITY_IAMS" is not a capability (want CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND) (did you mean "CAPABILITY_IAM"?)`}},
		{"output file without an output artifact", "        outputArtifacts: [{name: outputs}]\n", "",
			[]string{`infra.yml:23: stages[1].actions[0].configuration.OutputFileName: the action has no output artifact to write it to`}},
		{"stack set without a template", "          TemplatePath: src::set.yml\n", "",
			[]string{`infra.yml:29: stages[1].actions[1].configuration: missing TemplatePath (required by provider "CloudFormationStackSet")`}},
		{"stack set values", "FailureTolerancePercentage: \"10\"", "FailureTolerancePercentage: \"110\"\n          Region: eu-west-1",
			[]string{
				`infra.yml:34: stages[1].actions[1].configuration.FailureTolerancePercentage: "110" is not a whole number from 0 to 100`,
				`infra.yml:35: stages[1].actions[1].configuration.Region: unknown configuration key (did you mean "Regions"?)`}},
		{"stack set targets of another artifact", "DeploymentTargets: src::accounts.json", "DeploymentTargets: params::accounts.json",
			[]string{`infra.yml:32: stages[1].actions[1].configuration.DeploymentTargets: artifact "params" is not an input artifact of this action (it has src)`}},
		{"instances region and model", "Regions: ap-southeast-2", "Regions: ap-southeast-2,Europe",
			[]string{`infra.yml:43: stages[1].actions[2].configuration.Regions: "Europe" is not a region name (as in eu-west-1)`}},
		{"instances without regions", "          Regions: ap-southeast-2\n", "",
			[]string{`infra.yml:40: stages[1].actions[2].configuration: missing Regions (required by provider "CloudFormationStackInstances")`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(cfnPipeline, tc.old) {
				t.Fatalf("the pipeline has no %q", tc.old)
			}
			src := strings.Replace(cfnPipeline, tc.old, tc.new, 1)
			_, err := ParseWith("infra.yml", []byte(src), RequireRunnable)
			if err == nil {
				t.Fatal("accepted")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}
