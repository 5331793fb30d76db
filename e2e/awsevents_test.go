package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// The events a server configured as an AWS account and region writes are
// CodePipeline's: a rule written for CodePipeline's events matches them, as
// `sluice rule test` shows on what `sluice events -o json` prints.
func TestEventsSpeakCodePipeline(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--isolation", "none", "--aws-region", "eu-west-3", "--aws-account-id", "123456789012")
	dir := s.scratch("awsevents")
	app := filepath.Join(dir, "app.yml")
	writeFile(t, app, `name: app
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        commands: ["echo no; exit 3"]
`)
	s.apply(app)
	id := s.start("app")
	s.waitEnd("app", id, "Failed")

	raw := s.ok("events", "--pipeline", "app", "-o", "json")
	var evs []map[string]any
	if err := json.Unmarshal([]byte(raw), &evs); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	var failed map[string]any
	for _, ev := range evs {
		if ev["source"] != "aws.codepipeline" || ev["account"] != "123456789012" || ev["region"] != "eu-west-3" {
			t.Errorf("envelope %v", ev)
		}
		if r := ev["resources"].([]any); len(r) != 1 || r[0] != "arn:aws:codepipeline:eu-west-3:123456789012:app" {
			t.Errorf("resources %v", r)
		}
		d := ev["detail"].(map[string]any)
		if ev["detail-type"] == "CodePipeline Action Execution State Change" && d["state"] == "FAILED" {
			failed = d
		}
	}
	if failed == nil {
		t.Fatalf("no action FAILED event in\n%s", raw)
	}
	res, _ := failed["execution-result"].(map[string]any)
	if res["error-code"] != "JobFailed" || !strings.Contains(res["external-execution-summary"].(string), "3") || failed["region"] != "eu-west-3" {
		t.Errorf("failed action detail %v", failed)
	}

	// A rule as the CodePipeline user guide writes it.
	events := filepath.Join(dir, "events.json")
	writeFile(t, events, raw)
	rule := filepath.Join(dir, "rule.json")
	writeFile(t, rule, `{"name": "failed-builds", "eventPattern": {"source": ["aws.codepipeline"],
  "detail-type": ["CodePipeline Action Execution State Change"],
  "detail": {"state": ["FAILED"], "execution-result": {"error-code": ["JobFailed"]}}},
  "targets": [{"webhook": {"url": "http://127.0.0.1:9/"}}]}`)
	wantContains(t, "rule test", s.ok("rule", "test", "-f", rule, "--event", events), "rule failed-builds matches")

	// A rule written for sluice's old source still matches, with a warning.
	legacy := filepath.Join(dir, "legacy.yml")
	writeFile(t, legacy, "name: legacy\neventPattern: {source: [sluice.codepipeline], detail: {state: [FAILED]}}\ntargets: [{webhook: {url: \"http://127.0.0.1:9/\"}}]\n")
	r := s.cli("rule", "test", "-f", legacy, "--event", events)
	wantEqual(t, "legacy rule test exit", r.code, 0)
	wantContains(t, "legacy rule test", r.stderr, `eventPattern.source "sluice.codepipeline" is deprecated: write "aws.codepipeline"`)

	// A malformed account or region stops the server before it starts.
	bad := runCLI(t, nil, "server", "--data", filepath.Join(dir, "bad"), "--addr", "127.0.0.1:0", "--aws-account-id", "12")
	if bad.code == 0 || !strings.Contains(bad.stderr, `--aws-account-id "12": an AWS account id is 12 digits`) {
		t.Errorf("bad account: %s", bad)
	}
}
