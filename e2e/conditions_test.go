package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"
)

// conditionsPipeline deploys after three entry checks: a VariableCheck, a
// Commands rule running check (a shell script) and a LambdaInvoke rule (a
// sluice function); a failing deploy rolls back.
func conditionsPipeline(check, fn string) string {
	return `name: release
variables: [{name: Target, defaultValue: prod}, {name: Break, defaultValue: "no"}]
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        namespace: build
        commands: ["export VERSION=1.#{codepipeline.PipelineExecutionId}"]
        outputVariables: [VERSION]
  - name: Deploy
    actions:
      - name: ship
        provider: Commands
        commands: ['echo "shipping #{build.VERSION}"', 'test "#{variables.Break}" = no']
    beforeEntry:
      conditions:
        - result: FAIL
          rules:
            - name: ToProd
              ruleTypeId: {category: Rule, owner: AWS, provider: VariableCheck, version: "1"}
              configuration: {Variable: "#{variables.Target}", Operator: MATCHES, Value: "prod|staging"}
            - name: Probe
              ruleTypeId: {category: Rule, owner: AWS, provider: Commands, version: "1"}
              commands:
                - |
` + indent(check, "                  ") + `
            - name: Ask
              ruleTypeId: {category: Rule, owner: AWS, provider: LambdaInvoke, version: "1"}
              configuration: {FunctionName: ` + fn + `, UserParameters: success}
    onFailure:
      result: ROLLBACK
`
}

func TestStageConditionsAndRollback(t *testing.T) {
	t.Parallel()
	// Functions run as command functions here, which answer through the
	// CLI from outside any sandbox; TestCommandsRuleIsSandboxed runs a rule
	// in the sandbox.
	s := startServer(t)
	dir := s.scratch("fn")
	script := filepath.Join(dir, "fn.sh")
	writeExecutable(t, script, functionScript)
	applyFunction(t, s, "asker", fmt.Sprintf("name: asker\ncommand: [%s]\nenvironment:\n  DIR: %s\n  CLI: %s\n", script, dir, sluiceBin))
	s.applyYAML("release", conditionsPipeline(`test -n "$CODEBUILD_SRC_DIR$PWD" && echo "checked"`, "asker"))

	// Nothing succeeded through Deploy yet: a rollback is refused.
	r := s.fails("rollback", "release", "Deploy")
	wantContains(t, "early rollback", r.stderr, "no execution of pipeline release succeeded through stage Deploy")

	good := s.start("release")
	s.waitEnd("release", good, "Succeeded")
	var e wire.Execution
	s.json(&e, "execution", "get", "release", good)
	entry := e.Stages[1].BeforeEntryConditionState
	if entry == nil || entry.Status != "Succeeded" || len(entry.RuleExecutions) != 3 {
		t.Fatalf("entry condition = %+v", entry)
	}
	for _, rule := range entry.RuleExecutions {
		if rule.Status != "Succeeded" || rule.Category != "Rule" {
			t.Errorf("rule %s = %s (%s)", rule.Name, rule.Status, rule.Category)
		}
	}
	wantContains(t, "rule log", s.ok("logs", "release", good, "Probe"), "checked")
	var rules []wire.RuleExecution
	s.json(&rules, "stage", "rules", "release", "--execution", good)
	if len(rules) != 3 || rules[2].RuleTypeID.Provider != "LambdaInvoke" || rules[2].ConditionType != "BEFORE_ENTRY" || rules[2].Status != "Succeeded" {
		t.Errorf("ListRuleExecutions = %+v", rules)
	}
	wantContains(t, "execution get", s.ok("execution", "get", "release", good), "[beforeEntry]", "rule Ask (Lambda)", "rule ToProd (VariableCheck)")

	// A failing deploy rolls back, automatically, to the good execution.
	bad := s.start("release", "Break=yes")
	s.waitEnd("release", bad, "Failed")
	var rollback wire.Execution
	eventually(t, 30*time.Second, "a rollback execution", func() bool {
		var list []wire.ExecutionSummary
		s.json(&list, "executions", "release")
		for _, sum := range list {
			if sum.ExecutionType == "ROLLBACK" {
				s.json(&rollback, "execution", "get", "release", sum.PipelineExecutionID)
				return true
			}
		}
		return false
	})
	s.waitEnd("release", rollback.PipelineExecutionID, "Succeeded")
	s.json(&rollback, "execution", "get", "release", rollback.PipelineExecutionID)
	if rollback.RollbackMetadata == nil || rollback.RollbackMetadata.RollbackTargetPipelineExecutionID != good || rollback.Trigger.TriggerType != "AutomatedRollback" {
		t.Fatalf("rollback = %+v", rollback)
	}
	wantContains(t, "rollback ship log", s.ok("logs", "release", rollback.PipelineExecutionID, "ship"), "shipping 1."+good)

	// By hand, to a named execution.
	manual := strings.TrimSpace(s.ok("rollback", "release", "Deploy", "--to", good))
	s.waitEnd("release", manual, "Succeeded")
	wantContains(t, "manual rollback", s.ok("execution", "get", "release", manual), "ROLLBACK: rolls back to execution "+good)

	// An entry condition that is not met fails the stage before it runs.
	no := s.start("release", "Target=dev")
	ended := s.waitEnd("release", no, "Failed")
	wantContains(t, "summary", ended.StatusSummary, "beforeEntry condition of stage Deploy not met", "rule ToProd failed")

	// Bad input is refused at apply, naming the file, line and field.
	bad2 := filepath.Join(s.scratch("pipelines"), "bad.yml")
	writeFile(t, bad2, strings.Replace(conditionsPipeline("true", "asker"), "provider: VariableCheck", "provider: VariableChecker", 1))
	r = s.fails("pipeline", "apply", "-f", bad2)
	wantContains(t, "bad apply", r.stderr, bad2+":21: stages[1].beforeEntry.conditions[0].rules[0].ruleTypeId.provider: unknown rule type \"VariableChecker\"")
	if _, err := os.Stat(bad2); err != nil {
		t.Fatal(err)
	}
}

// TestCommandsRuleIsSandboxed: a Commands rule is code from the pipeline's
// author like a Commands action, and runs in the same sandbox: the probe of
// the sandbox's attack suite finds nothing of the server's.
func TestCommandsRuleIsSandboxed(t *testing.T) {
	needSandbox(t)
	t.Parallel()
	s := startServerEnv(t, []string{"SLUICE_SMTP_PASSWORD=" + canary, "AWS_SECRET_ACCESS_KEY=" + canary}, "--isolation", "auto")
	s.applyYAML("probed", `name: probed
stages:
  - name: Deploy
    actions:
      - {name: ship, provider: Noop}
    onSuccess:
      conditions:
        - result: FAIL
          rules:
            - name: Probe
              ruleTypeId: {category: Rule, owner: AWS, provider: Commands, version: "1"}
              commands:
                - |
`+indent(probe(s), "                  ")+`
`)
	id := s.start("probed")
	s.waitEnd("probed", id, "Succeeded")
	log := s.ok("logs", "probed", id, "Probe")
	wantContains(t, "probe log", log, "probe done uid=")
	if strings.Contains(log, "LEAK:") {
		t.Errorf("a Commands rule reached the server's things:\n%s", log)
	}
	if os.Geteuid() == 0 && !strings.Contains(log, "probe done uid=65533") {
		t.Errorf("the rule ran as root's namespace, not the build user:\n%s", log)
	}
}
