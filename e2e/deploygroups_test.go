package e2e

import (
	"path/filepath"
	"testing"

	"github.com/sluice-ci/sluice/internal/wire"
)

// Deployment groups through the built binary: apply, list, get, a bad file
// refused with its line and field and nothing changed, delete.
func TestDeployGroupCLI(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "prod.yaml")
	writeFile(t, good, `applicationName: shop
deploymentGroupName: prod
targets:
  agentGroup: web
  tags: {env: prod}
deploymentConfigName: CodeDeployDefault.HalfAtATime
autoRollbackConfiguration: {enabled: true}
`)
	wantContains(t, "apply", s.ok("deploy-group", "apply", "-f", good), "deployment group shop/prod created")
	wantContains(t, "apply again", s.ok("deploy-group", "apply", "-f", good), "deployment group shop/prod unchanged")
	wantContains(t, "list", s.ok("deploy-group", "list"), "shop", "prod", "group web, env=prod", "CodeDeployDefault.HalfAtATime")

	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\ndeploymentConfigName: Custom\nminimumHealthyHosts: {type: HOST_COUNT, value: -1}\n")
	res := s.fails("deploy-group", "apply", "-f", bad)
	wantContains(t, "bad file", res.String(), "bad.yaml:5: minimumHealthyHosts.value: -1 is out of range")
	var g wire.DeployGroup
	s.json(&g, "deploy-group", "get", "shop", "prod")
	wantEqual(t, "config after a bad apply", g.Config, "CodeDeployDefault.HalfAtATime")
	wantEqual(t, "rollback", g.AutoRollback, true)

	wantContains(t, "delete", s.ok("deploy-group", "delete", "shop", "prod"), "deleted")
	wantContains(t, "get after delete", s.fails("deploy-group", "get", "shop", "prod").String(), "not found")
}
