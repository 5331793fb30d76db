package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// The AWS deploy and invoke actions' configuration is checked when the
// pipeline is applied, through the real binary: a misspelt key gets a
// did-you-mean, a missing one is named, each with file, line and field, and
// nothing is stored. The same pipeline, corrected, applies.
func TestDeployConfigurationCheckedAtApply(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	src := `name: shop
stages:
  - name: Source
    actions:
      - name: Src
        provider: Git
        configuration: {RepositoryName: shop, BranchName: main}
        outputArtifacts: [{name: Src}]
  - name: Deploy
    actions:
      - name: Containers
        provider: ECS
        inputArtifacts: [{name: Src}]
        configuration:
          ClusterName: web
          SeviceName: shop
          DeploymentTimeout: "120"
      - name: Web
        provider: ElasticBeanstalk
        inputArtifacts: [{name: Src}]
        configuration: {ApplicationName: shop}
      - name: Migrate
        provider: StepFunctions
        configuration:
          StateMachineArn: arn:aws:states:us-east-1:123456789012:stateMachine:migrate
          InputType: FilePaht
`
	file := filepath.Join(s.scratch("pipelines"), "shop.yml")
	writeFile(t, file, src)
	r := s.fails("pipeline", "apply", "-f", file)
	wantContains(t, "bad deploy configuration", r.stderr,
		file+`:14: stages[1].actions[0].configuration: missing ServiceName (required by provider "ECS")`,
		file+`:16: stages[1].actions[0].configuration.SeviceName: unknown configuration key (this provider reads ClusterName, ServiceName, FileName, DeploymentTimeout, Connection) (did you mean "ServiceName"?)`,
		file+`:17: stages[1].actions[0].configuration.DeploymentTimeout: "120" is not a whole number of minutes from 1 to 60`,
		file+`:21: stages[1].actions[1].configuration: missing EnvironmentName (required by provider "ElasticBeanstalk")`,
		file+`:26: stages[1].actions[2].configuration.InputType: "FilePaht" is not an input type (want Literal or FilePath) (did you mean "FilePath"?)`,
	)
	if out := s.ok("pipeline", "list"); strings.Contains(out, "shop") {
		t.Errorf("a refused pipeline was stored:\n%s", out)
	}

	fixed := strings.NewReplacer(
		"SeviceName", "ServiceName",
		`DeploymentTimeout: "120"`, `DeploymentTimeout: "30"`,
		"{ApplicationName: shop}", "{ApplicationName: shop, EnvironmentName: shop-live}",
		"FilePaht", "Literal",
	).Replace(src)
	writeFile(t, file, fixed)
	s.ok("pipeline", "apply", "-f", file)
}
