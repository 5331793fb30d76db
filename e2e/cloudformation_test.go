package e2e

import (
	"strings"
	"testing"
)

// A CloudFormation pipeline applies through the real binary, and one whose
// configuration reads an artifact the action does not have, misspells a key
// or lacks what its ActionMode needs is refused with file, line and field,
// and nothing is stored.
func TestCloudFormationConfigurationAtApply(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const good = `name: infra
stages:
  - name: Source
    actions:
      - name: Checkout
        provider: Noop
        outputArtifacts: [{name: src}]
  - name: Deploy
    actions:
      - name: Stack
        provider: CloudFormation
        inputArtifacts: [{name: src}]
        configuration:
          Connection: prod
          ActionMode: CREATE_UPDATE
          StackName: app
          TemplatePath: src::template.yml
      - name: Set
        provider: CloudFormationStackSet
        inputArtifacts: [{name: src}]
        configuration:
          StackSetName: shared
          TemplatePath: src::set.yml
          DeploymentTargets: "111111111111"
          Regions: eu-west-1,us-east-1
`
	s.apply(s.writeScratch("good.yml", good))

	bad := strings.NewReplacer(
		"TemplatePath: src::template.yml", "TemplatePath: build::template.yml\n          StackNme: x",
		"ActionMode: CREATE_UPDATE", "ActionMode: CHANGE_SET_REPLACE",
	).Replace(strings.Replace(good, "name: infra", "name: infra2", 1))
	r := s.fails("pipeline", "apply", "-f", s.writeScratch("bad.yml", bad))
	for _, want := range []string{
		`bad.yml:13: stages[1].actions[0].configuration.ChangeSetName: required when ActionMode is CHANGE_SET_REPLACE`,
		`bad.yml:18: stages[1].actions[0].configuration.StackNme: unknown configuration key (did you mean "StackName"?)`,
		`bad.yml:17: stages[1].actions[0].configuration.TemplatePath: artifact "build" is not an input artifact of this action (it has src)`,
	} {
		wantContains(t, "apply of bad.yml", r.stderr, want)
	}
	if r := s.cli("pipeline", "get", "infra2"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("the refused pipeline was stored: %s", r)
	}
	s.ok("pipeline", "get", "infra")
}
