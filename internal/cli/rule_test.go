package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRuleTestOffline(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ruleFile := write("rule.yml", `name: app-failed
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {pipeline: [app], state: [FAILED]}
targets:
  - webhook:
      url: http://127.0.0.1:9/hook
      inputTransformer:
        inputPathsMap: {p: $.detail.pipeline, id: $.detail.execution-id}
        inputTemplate: '{"text": "<p> failed (<id>)", "rule": <aws.events.rule-name>}'
`)
	failed := write("failed.json", `{"detail-type": "CodePipeline Pipeline Execution State Change", "source": "aws.codepipeline",
		"detail": {"pipeline": "app", "state": "FAILED", "execution-id": "e-1"}}`)
	succeeded := write("succeeded.json", `{"detail-type": "CodePipeline Pipeline Execution State Change", "detail": {"pipeline": "app", "state": "SUCCEEDED"}}`)
	list := write("list.json", `[{"id": "1", "detail": {"pipeline": "web"}}, {"id": "2", "detail-type": "CodePipeline Pipeline Execution State Change", "detail": {"pipeline": "app", "state": "FAILED"}}]`)
	bad := write("bad.yml", "name: r\neventPattern: {detail: {state: [{prefix: 5}]}}\ntargets: [{webhook: {url: \"http://x\"}}]\n")
	t.Setenv("SLUICE_SERVER", "http://127.0.0.1:9") // nothing listens: the test needs no server
	run := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := Main(context.Background(), args, &out, &errOut); code != want {
			t.Fatalf("sluice %v: exit %d, want %d\n%s%s", args, code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	out := run(0, "rule", "test", "-f", ruleFile, "--event", failed)
	if want := "rule app-failed matches\n  targets[0] (webhook http://127.0.0.1:9/hook) would receive: {\"text\":\"app failed (e-1)\",\"rule\":\"app-failed\"}\n"; out != want {
		t.Errorf("match: got\n%s\nwant\n%s", out, want)
	}
	out = run(1, "rule", "test", "-f", ruleFile, "--event", succeeded)
	if want := "rule app-failed does not match:\n  detail.state: \"SUCCEEDED\" is not one of \"FAILED\"\n"; out != want {
		t.Errorf("no match: got\n%s\nwant\n%s", out, want)
	}
	out = run(0, "rule", "test", "-f", ruleFile, "--event", list)
	if !strings.Contains(out, "event 1 (1): rule app-failed does not match:\n  detail-type: missing\n  detail.pipeline: \"web\" is not one of \"app\"\n  detail.state: missing\n") ||
		!strings.Contains(out, "event 2 (2): rule app-failed matches") {
		t.Errorf("list: got\n%s", out)
	}
	out = run(2, "rule", "test", "-f", bad, "--event", failed)
	if !strings.Contains(out, `bad.yml:2: eventPattern.detail.state: "prefix" must be a string`) {
		t.Errorf("bad rule: got\n%s", out)
	}
	run(2, "rule", "test", "-f", ruleFile, "--event", filepath.Join(dir, "missing.json"))
	run(2, "rule", "test", "-f", ruleFile, "--event", ruleFile) // YAML is not an event
}
