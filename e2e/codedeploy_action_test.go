package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// A pipeline's CodeDeploy action deploys its input artifact to a group's
// agents and follows the deployment: success with each host's events in its
// log, and a failure on one host failing the action with the deployment's
// reason.
func TestCodeDeployAction(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 serves the test application")
	}
	s := startServer(t)
	agents := startShopAgents(t, s, "h", 2)
	eventually(t, 20*time.Second, "two agents registered", func() bool {
		var as []wire.Agent
		s.json(&as, "deployment", "agents")
		return len(as) == 2
	})
	applyGroup(t, s, "deploymentConfigName: CodeDeployDefault.AllAtOnce\n")

	pipelineFor := func(name, revision string) {
		s.apply(s.writeScratch(name+".yml", fmt.Sprintf(`name: %s
stages:
  - name: Build
    actions:
      - name: Package
        provider: Commands
        commands: ["cp -r %s/. ."]
        outputArtifacts:
          - name: app
            files: ["**/*"]
  - name: Deploy
    actions:
      - name: Shop
        provider: CodeDeploy
        configuration:
          ApplicationName: shop
          DeploymentGroupName: prod
        inputArtifacts: [app]
`, name, revision)))
	}
	pipelineFor("ship", appRevision(t, "v-pipe", false))
	id := s.start("ship")
	s.waitEnd("ship", id, "Succeeded")
	for _, a := range agents {
		wantEqual(t, "page", page(a.port), "shop v-pipe")
	}
	log := s.ok("logs", "ship", id, "Shop")
	wantContains(t, "action log", log, "h1: Succeeded", "h2: Succeeded", "ValidateService")
	var ds []wire.Deployment
	s.json(&ds, "deployment", "list")
	wantContains(t, "creator", ds[0].Creator, "pipeline/ship/"+id+"/Deploy/Shop")

	// AllAtOnce succeeds when one host does, as CodeDeploy's does.
	touch(t, filepath.Join(agents[1].root, "fail-validate"))
	pipelineFor("ship-bad", appRevision(t, "v-bad", true))
	id = s.start("ship-bad")
	e := s.waitEnd("ship-bad", id, "Succeeded")
	wantContains(t, "AllAtOnce with a failed host", e.action(t, "Shop").Summary, "1 of 2 hosts succeeded")
	os.Remove(filepath.Join(agents[1].root, "fail-validate"))

	// OneAtATime fails with its first host, and so does the action.
	applyGroup(t, s, "deploymentConfigName: CodeDeployDefault.OneAtATime\n")
	touch(t, filepath.Join(agents[0].root, "fail-validate"))
	id = s.start("ship-bad")
	e = s.waitEnd("ship-bad", id, "Failed")
	wantContains(t, "failed action", e.action(t, "Shop").Summary, "Failed", "1 of 2 hosts failed")
	wantContains(t, "failed action's log", s.ok("logs", "ship-bad", id, "Shop"), "h1: Failed", "ValidateService")
}
