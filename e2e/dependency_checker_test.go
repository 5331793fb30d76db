package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needBoto3 skips a test when python3 has no boto3.
func needBoto3(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import boto3, sys; print(sys.executable)").Output()
	if err != nil {
		t.Skip("python3 with boto3 is not installed: pip install boto3")
	}
	return strings.TrimSpace(string(out))
}

const heldPipeline = `name: %s
stages:
  - name: Hold
    actions:
      - name: review
        provider: Manual
`

// TestDependencyCheckerFunction runs the seeds' dependency checker, a boto3
// Lambda handler (examples/aws/dependency-checker), unchanged as a sluice
// function: with the credentials sluice gives its process it reads the
// upstream's state, reschedules itself with EventBridge's PutRule and
// PutTargets while the upstream runs, and once it is idle starts the
// downstream and removes its schedule. Its key does only what its role
// allows, is audited under its own name, and dies with the invocation.
func TestDependencyCheckerFunction(t *testing.T) {
	python := needBoto3(t)
	// The machine's python lives under /root, which the sandbox hides.
	s := startServer(t, "--isolation", "none")
	for _, p := range []string{"infra", "app"} {
		s.applyYAML(p, strings.ReplaceAll(heldPipeline, "%s", p))
	}
	handler, err := filepath.Abs("../examples/aws/dependency-checker/handler.py")
	if err != nil {
		t.Fatal(err)
	}
	role, err := filepath.Abs("../examples/aws/dependency-checker/role.json")
	if err != nil {
		t.Fatal(err)
	}
	s.ok("policy", "apply", "dependency-checker", "-f", role)
	dir := s.scratch("checker")
	fn := filepath.Join(dir, "function.yml")
	writeFile(t, fn, `name: dependency-checker
command: [`+python+`, `+handler+`]
role: dependency-checker
timeoutInMinutes: 1
environment:
  UPSTREAM_PIPELINE: infra
  DOWNSTREAM_PIPELINE: app
`)
	// Giving a function a role hands the role on: a token that may write
	// functions but does not hold the role is refused, and nothing is made.
	authorPolicy := filepath.Join(dir, "author.json")
	writeFile(t, authorPolicy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sluice:PutFunction","sluice:GetFunction"],"Resource":"function/*"}]}`)
	author := strings.SplitN(s.ok("token", "create", "author", "--policy", authorPolicy), "\n", 2)[0]
	r := runCLI(t, cliEnv(s.url, strings.TrimSpace(author)), "function", "apply", "-f", fn)
	if r.code == 0 || !strings.Contains(r.stderr, "role dependency-checker") {
		t.Errorf("a function author without the role applied it: %s", r)
	}
	if r := s.cli("function", "get", "dependency-checker"); r.code == 0 {
		t.Errorf("the refused function exists: %s", r.stdout)
	}
	s.ok("function", "apply", "-f", fn)
	// A probe with the same role, to see what the key may not do and that
	// it dies with its invocation.
	probe := filepath.Join(dir, "probe.py")
	writeFile(t, probe, `import boto3, json, os, sys
out = {"key": os.environ["AWS_ACCESS_KEY_ID"], "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
       "endpoint": os.environ["AWS_ENDPOINT_URL"], "region": os.environ["AWS_REGION"]}
try:
    boto3.client("codepipeline").delete_pipeline(name="infra")
    out["delete"] = "allowed"
except Exception as e:
    out["delete"] = e.response["Error"]["Code"]
open(os.environ["RESULT"] + ".tmp", "w").write(json.dumps(out))
os.rename(os.environ["RESULT"] + ".tmp", os.environ["RESULT"])
`)
	result := filepath.Join(dir, "probe.json")
	writeFile(t, filepath.Join(dir, "probe.yml"), `name: probe
command: [`+python+`, `+probe+`]
role: dependency-checker
environment: {RESULT: `+result+`}
`)
	s.ok("function", "apply", "-f", filepath.Join(dir, "probe.yml"))
	// Checks are asked for with an event of the team's own.
	writeFile(t, filepath.Join(dir, "rule.yml"), `name: check-dependencies
eventPattern: {source: [my.ci], detail-type: [Check Dependencies]}
targets:
  - function: {name: dependency-checker}
`)
	s.ok("rule", "apply", "-f", filepath.Join(dir, "rule.yml"))
	writeFile(t, filepath.Join(dir, "probe-rule.yml"), `name: probe
eventPattern: {source: [my.ci], detail-type: [Probe]}
targets:
  - function: {name: probe}
`)
	s.ok("rule", "apply", "-f", filepath.Join(dir, "probe-rule.yml"))
	id, secret := awsKeysBoto(t, s)
	putEvent := func(detailType string) {
		t.Helper()
		cmd := exec.Command(python, "-c", `import boto3, sys
r = boto3.client("events").put_events(Entries=[{"Source": "my.ci", "DetailType": sys.argv[1], "Detail": "{}"}])
assert r["FailedEntryCount"] == 0, r`, detailType)
		cmd.Env = append(cliEnv("", ""), "AWS_ENDPOINT_URL="+s.url, "AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+secret,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("put_events %s: %v\n%s", detailType, err, out)
		}
	}
	type ruleView struct {
		Name               string `json:"name"`
		ScheduleExpression string `json:"scheduleExpression"`
		State              string `json:"state"`
		Targets            []struct {
			ID       string `json:"id"`
			Input    string `json:"input"`
			Function *struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"targets"`
	}
	retryRule := func() (ruleView, bool) {
		r := s.cli("rule", "get", "app-waits-for-infra", "-o", "json")
		if r.code != 0 {
			return ruleView{}, false
		}
		var v ruleView
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
			t.Fatalf("rule get: %v\n%s", err, r.stdout)
		}
		return v, true
	}

	// The upstream runs: the checker reschedules itself.
	up := s.start("infra")
	s.waitToken("infra", up, "review")
	putEvent("Check Dependencies")
	var scheduled ruleView
	eventually(t, 30*time.Second, "the checker's retry rule", func() bool {
		v, ok := retryRule()
		scheduled = v
		return ok && len(v.Targets) == 1
	})
	if scheduled.ScheduleExpression != "rate(5 minutes)" || scheduled.State != "ENABLED" || scheduled.Targets[0].ID != "dependency-checker" ||
		scheduled.Targets[0].Function == nil || scheduled.Targets[0].Function.Name != "dependency-checker" || scheduled.Targets[0].Input != `{"retry": true}` {
		t.Errorf("the retry rule: %+v", scheduled)
	}
	if out := s.ok("executions", "app", "-o", "json"); strings.Contains(out, "pipelineExecutionId") {
		t.Errorf("app started while infra runs: %s", out)
	}

	// The upstream ends: the checker starts the downstream and unschedules.
	s.ok("approve", "infra", up, "Hold", "review")
	s.waitEnd("infra", up, "Succeeded")
	putEvent("Check Dependencies")
	eventually(t, 30*time.Second, "app started and the retry rule deleted", func() bool {
		_, ok := retryRule()
		return !ok && strings.Contains(s.ok("executions", "app", "-o", "json"), "InProgress")
	})

	// The checker's calls are audited under its invocation's own token.
	audit := s.ok("audit", "-o", "json", "--limit", "500")
	for _, want := range []string{`"principal":"fn.dependency-checker.`, "AWSEvents.PutRule", "AWSEvents.PutTargets", "AWSEvents.DeleteRule", "StartPipelineExecution", "GetPipelineState"} {
		if !strings.Contains(strings.ReplaceAll(audit, " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}

	// Invoked by a pipeline's Lambda action, the same handler answers for
	// its job with boto3's put_job_success_result.
	s.applyYAML("release", `name: release
stages:
  - name: Check
    actions:
      - name: dependencies
        provider: Lambda
        configuration: {FunctionName: dependency-checker}
`)
	rel := s.start("release")
	e := s.waitEnd("release", rel, "Succeeded")
	wantContains(t, "the checker's answer", e.action(t, "dependencies").Summary, `"started": true`)
	var apps []struct {
		ID string `json:"pipelineExecutionId"`
	}
	s.json(&apps, "executions", "app")
	if len(apps) != 2 {
		t.Errorf("app has %d executions, want 2 (one per check that found infra idle)", len(apps))
	}

	// The key may do only what the role allows, and dies with its invocation.
	putEvent("Probe")
	waitFile(t, result)
	var got struct{ Key, Secret, Endpoint, Region, Delete string }
	if err := json.Unmarshal([]byte(readFile(t, result)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Delete != "AccessDeniedException" || got.Endpoint != s.url || got.Region != "us-east-1" || !strings.HasPrefix(got.Key, "AKIA") {
		t.Errorf("the probe saw %+v", got)
	}
	eventually(t, 30*time.Second, "the probe's key revoked", func() bool {
		cmd := exec.Command(python, "-c", `import boto3
try:
    boto3.client("codepipeline").get_pipeline_state(name="infra")
    print("allowed")
except Exception as e:
    print(e.response["Error"]["Code"])`)
		cmd.Env = append(cliEnv("", ""), "AWS_ENDPOINT_URL="+s.url, "AWS_ACCESS_KEY_ID="+got.Key, "AWS_SECRET_ACCESS_KEY="+got.Secret,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, _ := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)) == "UnrecognizedClientException"
	})
	if out := s.ok("token", "list"); strings.Contains(out, "fn.") {
		t.Errorf("an invocation's token outlived it:\n%s", out)
	}
}

// awsKeysBoto makes an admin token with an access key for the test's own
// boto3 calls.
func awsKeysBoto(t *testing.T, s *server) (string, string) {
	t.Helper()
	return awsKeys(t, s, "ci", "admin")
}
