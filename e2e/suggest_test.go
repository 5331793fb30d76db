package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Misspelt pipeline, stage and action names get a did-you-mean wherever the
// CLI and the API take them; retrying a stage the pipeline does not have is
// "not found", not "did not fail".
func TestDidYouMeanForNames(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.applyYAML("app", `name: app
stages:
  - name: Build
    actions:
      - name: compile
        provider: Commands
        commands: ["false"]
  - name: Deploy
    actions:
      - name: ship
        provider: Noop
`)
	id := s.start("app")
	s.waitFor("app", id, 30*time.Second, "to fail", execution.terminal)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"retry", "app", id, "Biuld"}, `stage "Biuld" not found in pipeline app (did you mean "Build"?)`},
		{[]string{"transition", "disable", "app", "Deplyo", "--reason", "freeze"}, `stage "Deplyo" not found in pipeline app (did you mean "Deploy"?)`},
		{[]string{"logs", "app", id, "compiel"}, `action "compiel" not found in execution ` + id + ` of pipeline app (did you mean "compile"?)`},
		{[]string{"approve", "app", id, "Biuld", "compile"}, `stage "Biuld" not found in pipeline app (did you mean "Build"?)`},
		{[]string{"executions", "ap"}, `pipeline ap not found (did you mean "app"?)`},
		{[]string{"status", "ap"}, `pipeline ap not found (did you mean "app"?)`},
		{[]string{"start", "ap"}, `pipeline ap not found (did you mean "app"?)`},
	} {
		r := s.fails(c.args...)
		wantContains(t, "sluice "+strings.Join(c.args, " "), r.stderr, c.want)
	}
	// Nothing was retried.
	wantEqual(t, "status after the refused retry", s.execution("app", id).Status, "Failed")

	// A caller who may not list pipelines learns no names from a typo.
	dir := s.scratch("policy")
	policy := filepath.Join(dir, "one.yml")
	writeFile(t, policy, "Statement:\n  - Effect: Allow\n    Action: \"sluice:*\"\n    Resource: pipeline/ap\n")
	tok := strings.TrimSpace(s.ok("token", "create", "narrow", "--policy", policy))
	r := runCLI(t, cliEnv(s.url, tok), "executions", "ap")
	wantContains(t, "executions ap by a token that may not list pipelines", r.stderr, "pipeline ap not found")
	if strings.Contains(r.stderr, "did you mean") {
		t.Errorf("a token that may not list pipelines was told a name: %s", r.stderr)
	}
}
