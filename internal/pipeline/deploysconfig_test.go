package pipeline

import (
	"strings"
	"testing"
)

const deploysHead = `name: shop
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
`

func TestDeployProvidersValid(t *testing.T) {
	src := deploysHead + `      - name: Containers
        provider: ECS
        inputArtifacts: [{name: Src}]
        configuration:
          ClusterName: web
          ServiceName: shop
          FileName: build/images.json
          DeploymentTimeout: "15"
          Connection: prod
      - name: Web
        provider: ElasticBeanstalk
        inputArtifacts: [{name: Src}]
        configuration: {ApplicationName: shop, EnvironmentName: shop-live, Connection: prod}
      - name: Migrate
        provider: StepFunctions
        inputArtifacts: [{name: Src}]
        outputArtifacts: [{name: MigrateOut}]
        configuration:
          StateMachineArn: arn:aws:states:eu-west-1:123456789012:stateMachine:migrate
          ExecutionNamePrefix: migrate
          InputType: FilePath
          Input: migrate/input.json
      - name: Notify
        provider: StepFunctions
        configuration:
          StateMachineArn: "#{variables.Notifier}"
          Input: '{"release": "#{SourceVariables.CommitId}"}'
`
	if _, err := ParseWith("p.yml", []byte(strings.Replace(src, "name: shop\n", "name: shop\nvariables: [{name: Notifier}]\n", 1)), RequireRunnable); err != nil {
		t.Fatalf("valid deploy actions refused: %v", err)
	}
}

func TestDeployProvidersRefused(t *testing.T) {
	for _, tc := range []struct {
		name, actions string
		want          []string
	}{
		{"ecs misspelt key and missing key", `      - name: Containers
        provider: ECS
        inputArtifacts: [{name: Src}]
        configuration:
          ClusterName: web
          SeviceName: shop
`, []string{
			`p.yml:15: stages[1].actions[0].configuration: missing ServiceName (required by provider "ECS")`,
			`p.yml:17: stages[1].actions[0].configuration.SeviceName: unknown configuration key (this provider reads ClusterName, ServiceName, FileName, DeploymentTimeout, Connection) (did you mean "ServiceName"?)`,
		}},
		{"ecs bad timeout and file", `      - name: Containers
        provider: ECS
        inputArtifacts: [{name: Src}]
        configuration: {ClusterName: web, ServiceName: shop, DeploymentTimeout: "90", FileName: ../images.json}
`, []string{
			`p.yml:15: stages[1].actions[0].configuration.DeploymentTimeout: "90" is not a whole number of minutes from 1 to 60`,
			`p.yml:15: stages[1].actions[0].configuration.FileName: "../images.json" must be a relative path inside the input artifact`,
		}},
		{"beanstalk", `      - name: Web
        provider: ElasticBeanstalk
        inputArtifacts: [{name: Src}]
        configuration:
          ApplicationName: shop
          EnviromentName: live
`, []string{
			`p.yml:15: stages[1].actions[0].configuration: missing EnvironmentName (required by provider "ElasticBeanstalk")`,
			`p.yml:17: stages[1].actions[0].configuration.EnviromentName: unknown configuration key (this provider reads ApplicationName, EnvironmentName, Connection) (did you mean "EnvironmentName"?)`,
		}},
		{"step functions", `      - name: Migrate
        provider: StepFunctions
        configuration:
          StateMachineArn: arn:aws:states:eu-west-1:123456789012:stateMachine:migrate
          ExecutionNamePrefix: "release 1"
          InputType: Literl
          Inputs: "{}"
`, []string{
			`p.yml:16: stages[1].actions[0].configuration.ExecutionNamePrefix: "release 1" is not 1 to 40 of the characters 0-9, A-Z, a-z, - and _`,
			`p.yml:17: stages[1].actions[0].configuration.InputType: "Literl" is not an input type (want Literal or FilePath) (did you mean "Literal"?)`,
			`p.yml:18: stages[1].actions[0].configuration.Inputs: unknown configuration key (this provider reads StateMachineArn, ExecutionNamePrefix, InputType, Input, Connection) (did you mean "Input"?)`,
		}},
		{"step functions input", `      - name: Migrate
        provider: StepFunctions
        configuration:
          StateMachineArn: arn:aws:states:eu-west-1:123456789012:stateMachine:migrate
          Input: "{release: 1}"
      - name: FromFile
        provider: StepFunctions
        configuration:
          StateMachineArn: arn:aws:states:eu-west-1:123456789012:stateMachine:migrate
          InputType: FilePath
          Input: /etc/passwd
`, []string{
			`p.yml:16: stages[1].actions[0].configuration.Input: is not JSON (with InputType Literal it is the execution's input)`,
			`p.yml:22: stages[1].actions[1].configuration.Input: "/etc/passwd" must be a relative path inside the input artifact`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWith("p.yml", []byte(deploysHead+tc.actions), RequireRunnable)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not hold\n%s\nit is:\n%s", w, err)
				}
			}
		})
	}
}
