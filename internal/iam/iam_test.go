package iam

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "pipeline/app", true},
		{"pipeline/*", "pipeline/app", true},
		{"pipeline/*", "pipeline/", true},
		{"pipeline/*", "repository/app", false},
		{"pipeline/app-*", "pipeline/app-web", true},
		{"pipeline/app-*", "pipeline/app", false},
		{"pipeline/app-?", "pipeline/app-1", true},
		{"pipeline/app-?", "pipeline/app-12", false},
		{"pipeline/?", "pipeline/é", true},
		{"*/prod-*", "pipeline/prod-eu", true},
		{"*/prod-*", "secret/prod-db", true},
		{"*/prod-*", "secret/dev-prod", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"pipeline/app", "pipeline/app", true},
		{"pipeline/app", "pipeline/apps", false},
		{"pipeline/app", "pipeline/ap", false},
		{"**", "x", true},
		{"", "", true},
		{"", "x", false},
		// * in the resource is only a character, matched only by a wildcard.
		{"pipeline/app-*", "pipeline/*", false},
		{"pipeline/*", "*", false},
		{"*", "*", true},
	} {
		if got := Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	policy := &Policy{Statement: []Statement{
		{Sid: "Look", Effect: Allow, Action: []string{"sluice:Get*", "sluice:List*"}, Resource: []string{"*"}},
		{Sid: "DeployApps", Effect: Allow, Action: []string{"sluice:StartPipelineExecution", "sluice:StopPipelineExecution"}, Resource: []string{"pipeline/app-*"}},
		{Sid: "NotProd", Effect: Deny, Action: []string{"sluice:*"}, Resource: []string{"pipeline/app-prod"}},
		{Effect: Deny, Action: []string{"sluice:GetJob*"}, Resource: []string{"*"}},
		{Effect: Allow, Action: []string{"SLUICE:putsecret"}, Resource: []string{"secret/ci/*"}},
	}}
	for _, tc := range []struct {
		action, resource string
		want             bool
		why              string
	}{
		{"sluice:GetPipeline", "pipeline/x", true, `allowed by statement "Look"`},
		{"sluice:ListPipelines", "*", true, `allowed by statement "Look"`},
		{"sluice:StartPipelineExecution", "pipeline/app-web", true, `allowed by statement "DeployApps"`},
		{"sluice:StartPipelineExecution", "pipeline/other", false, "no statement allows it"},
		{"sluice:DeletePipeline", "pipeline/app-web", false, "no statement allows it"},
		// Deny wins over any allow, wherever it stands.
		{"sluice:StartPipelineExecution", "pipeline/app-prod", false, `explicitly denied by statement "NotProd"`},
		{"sluice:GetPipeline", "pipeline/app-prod", false, `explicitly denied by statement "NotProd"`},
		{"sluice:GetJobInput", "job/j1", false, "explicitly denied by statement 4"},
		// Actions match without regard to case; resources exactly.
		{"sluice:PutSecret", "secret/ci/npm", true, "allowed by statement 5"},
		{"sluice:PutSecret", "secret/CI/npm", false, "no statement allows it"},
		{"sluice:getpipeline", "pipeline/x", true, `allowed by statement "Look"`},
	} {
		got, why := Evaluate(policy, tc.action, tc.resource)
		if got != tc.want || why != tc.why {
			t.Errorf("Evaluate(%s, %s) = %v %q, want %v %q", tc.action, tc.resource, got, why, tc.want, tc.why)
		}
	}
	if ok, _ := Evaluate(nil, "sluice:GetPipeline", "pipeline/x"); ok {
		t.Error("a nil policy allowed something")
	}
	if ok, _ := Evaluate(&Policy{}, "sluice:GetPipeline", "pipeline/x"); ok {
		t.Error("an empty policy allowed something")
	}
}

func TestReadyMade(t *testing.T) {
	const (
		A = "admin"
		O = "operator"
		P = "approver"
		V = "viewer"
		W = "worker"
	)
	all := []string{A, O, P, V, W}
	for _, tc := range []struct {
		action, resource string
		allowed          []string
	}{
		{"GetPipeline", "pipeline/app", []string{A, O, P, V}},
		{"ListPipelines", "*", []string{A, O, P, V}},
		{"GetArtifact", "pipeline/app", []string{A, O, P, V}},
		{"ListTokens", "*", []string{A, O, P, V}},
		{"PutPipeline", "pipeline/app", []string{A}},
		{"DeletePipeline", "pipeline/app", []string{A}},
		{"StartPipelineExecution", "pipeline/app", []string{A, O}},
		{"StopPipelineExecution", "pipeline/app", []string{A, O}},
		{"RetryStageExecution", "pipeline/app", []string{A, O}},
		{"DisableStageTransition", "pipeline/app", []string{A, O}},
		{"EnableStageTransition", "pipeline/app", []string{A, O}},
		{"PutApprovalResult", "pipeline/app", []string{A, O, P}},
		{"GitPull", "repository/app", []string{A, O, P, V, W}},
		{"GitPush", "repository/app", []string{A, O}},
		{"CreateRepository", "repository/app", []string{A}},
		{"PutSecret", "secret/s", []string{A}},
		{"CreateToken", "token/t", []string{A}},
		{"PutProject", "project/p", []string{A}},
		{"PutFunction", "function/f", []string{A}},
		{"PutWebhook", "webhook/w", []string{A}},
		{"PutRule", "rule/r", []string{A}},
		{"DeleteRule", "rule/r", []string{A}},
		{"GetRule", "rule/r", []string{A, O, P, V}},
		{"ListAuditRecords", "*", []string{A, O, P, V}},
		{"PollForJobs", "*", []string{A, W}},
		{"AcknowledgeJob", "job/j", []string{A, W}},
		{"GetJobInput", "job/j", []string{A, W}},
		{"GetJobSecret", "job/j", []string{A, W}},
		{"GetJobCache", "job/j", []string{A, W}},
		{"PutJobResult", "job/j", []string{A, W}},
	} {
		for _, name := range all {
			p, ok := ReadyMade(name)
			if !ok {
				t.Fatalf("no ready-made %s", name)
			}
			want := false
			for _, a := range tc.allowed {
				want = want || a == name
			}
			if got, why := Evaluate(p, Prefix+tc.action, tc.resource); got != want {
				t.Errorf("%s: %s on %s = %v (%s), want %v", name, tc.action, tc.resource, got, why, want)
			}
		}
	}
	read, _ := ReadyMade("read")
	viewer, _ := ReadyMade("viewer")
	if a, _ := json.Marshal(read); string(a) != string(must(json.Marshal(viewer))) {
		t.Error("read is not viewer")
	}
	if _, ok := ReadyMade("root"); ok {
		t.Error("a ready-made root")
	}
	// Every ready-made policy survives its own parser.
	for _, name := range all {
		p, _ := ReadyMade(name)
		if _, err := Parse(name+".json", must(json.Marshal(p))); err != nil {
			t.Errorf("%s does not parse: %v", name, err)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestJobPolicy(t *testing.T) {
	p := JobPolicy("j1")
	for _, tc := range []struct {
		action, resource string
		want             bool
	}{
		{"PutJobSuccessResult", "job/j1", true},
		{"PutJobFailureResult", "job/j1", true},
		{"GetJobInput", "job/j1", true},
		{"PutJobOutput", "job/j1", true},
		{"PutJobSuccessResult", "job/j2", false},
		{"PutJobResult", "job/j1", false},
		{"PollForJobs", "*", false},
		{"GetPipeline", "pipeline/p", false},
	} {
		if got, _ := Evaluate(p, Prefix+tc.action, tc.resource); got != tc.want {
			t.Errorf("job policy: %s on %s = %v, want %v", tc.action, tc.resource, got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	yml := `Version: "2012-10-17"
Statement:
  - Sid: Look
    Effect: Allow
    Action: ["sluice:Get*", "sluice:List*"]
    Resource: "*"
  - Effect: Deny
    Action: sluice:DeletePipeline
    Resource:
      - pipeline/prod-*
      - pipeline/release
`
	p, err := Parse("ops.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	got := string(must(json.Marshal(p)))
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"Look","Effect":"Allow","Action":["sluice:Get*","sluice:List*"],"Resource":["*"]},{"Effect":"Deny","Action":["sluice:DeletePipeline"],"Resource":["pipeline/prod-*","pipeline/release"]}]}`
	if got != want {
		t.Errorf("parsed:\n%s\nwant\n%s", got, want)
	}
	// IAM's JSON, with a single statement rather than a list.
	js := `{
  "Version": "2012-10-17",
  "Statement": {"Effect": "Allow", "Action": "sluice:StartPipelineExecution", "Resource": "pipeline/app"}
}`
	p, err = Parse("deploy.json", []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := Evaluate(p, "sluice:StartPipelineExecution", "pipeline/app"); !ok || len(p.Statement) != 1 {
		t.Errorf("single statement: %+v", p)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, doc string
		want            []string
	}{
		{"empty", "p.yml", "", []string{"p.yml:1: empty file: no policy in it"}},
		{"not a mapping", "p.yml", "- a\n", []string{"p.yml:1: a policy must be a mapping, not a list"}},
		{"no statements", "p.yml", "Version: \"2012-10-17\"\n", []string{"p.yml:1: Statement: required"}},
		{"empty statements", "p.yml", "Statement: []\n", []string{"p.yml:1: Statement: empty"}},
		{"null statements", "p.yml", "Statement:\n", []string{"p.yml:1: Statement: empty"}},
		{"a scalar for statements", "p.yml", "Statement: x\n", []string{`p.yml:1: Statement: must be a list of statements, not "x"`}},
		{"unknown field", "p.yml", "Statement: []\nStatment: x\n", []string{`p.yml:2: Statment: unknown field (did you mean "Statement"?)`}},
		{"missing fields", "p.yml", "Statement:\n  - Sid: x\n", []string{
			"p.yml:2: Statement[0].Effect: required", "p.yml:2: Statement[0].Action: required", "p.yml:2: Statement[0].Resource: required"}},
		{"bad effect", "p.yml", "Statement:\n  - Effect: allow\n    Action: '*'\n    Resource: '*'\n", []string{
			`p.yml:2: Statement[0].Effect: "allow" is not Allow or Deny (spelled with a capital, as IAM does)`}},
		{"typo in an action", "p.yml", "Statement:\n  - Effect: Allow\n    Action:\n      - sluice:GetPipeline\n      - sluice:GetPipline\n    Resource: '*'\n", []string{
			`p.yml:5: Statement[0].Action[1]: "sluice:GetPipline" is not a sluice action (did you mean "sluice:GetPipeline"?)`}},
		{"another service", "p.yml", "Statement:\n  - Effect: Allow\n    Action: codepipeline:GetPipeline\n    Resource: '*'\n", []string{
			`p.yml:3: Statement[0].Action: "codepipeline:GetPipeline" is not a sluice action: write sluice:NAME`}},
		{"a wildcard matching nothing", "p.yml", "Statement:\n  - Effect: Allow\n    Action: sluice:Frob*\n    Resource: '*'\n", []string{
			`p.yml:3: Statement[0].Action: "sluice:Frob*" matches no sluice action`}},
		{"bad resource", "p.yml", "Statement:\n  - Effect: Allow\n    Action: '*'\n    Resource: [pipeline/a, pipelines/b, pipeline/]\n", []string{
			`p.yml:4: Statement[0].Resource[1]: "pipelines/b" is not a resource`, `p.yml:4: Statement[0].Resource[2]: "pipeline/" is not a resource`}},
		{"unsupported", "p.yml", "Statement:\n  - Effect: Allow\n    Action: '*'\n    Resource: '*'\n    Condition: {}\n", []string{
			"p.yml:5: Statement[0].Condition: sluice's policies do not take Condition"}},
		{"duplicate sid", "p.yml", "Statement:\n  - {Sid: a, Effect: Allow, Action: '*', Resource: '*'}\n  - {Sid: a, Effect: Deny, Action: '*', Resource: '*'}\n", []string{
			`p.yml:3: Statement[1].Sid: "a" is also the Sid of Statement[0]`}},
		{"wrong type", "p.yml", "Statement:\n  - Effect: Allow\n    Action: {a: b}\n    Resource: 3\n", []string{
			"p.yml:3: Statement[0].Action: must be a string or a list of strings, not a mapping"}},
		{"json with lines", "p.json", "{\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"sluice:Nope\",\n      \"Resource\": \"*\"\n    }\n  ]\n}\n", []string{
			`p.json:5: Statement[0].Action: "sluice:Nope" is not a sluice action`}},
		{"invalid json", "p.json", "{\n  \"Statement\": [\n}\n", []string{"p.json:3:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.file, []byte(tc.doc))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// An agent token's policy names its own agent only.
func TestAgentPolicyIsOneAgents(t *testing.T) {
	p := AgentPolicy("web-1")
	for _, c := range []struct {
		action, resource string
		want             bool
	}{
		{"PollForDeployments", "agent/web-1", true},
		{"PutDeploymentHostResult", "agent/web-1", true},
		{"GetDeploymentRevision", "agent/web-1", true},
		{"PollForDeployments", "agent/web-2", false},
		{"PutDeploymentHostResult", "agent/web-10", false},
		{"GetDeploymentRevision", "agent/*", false},
		{"CreateDeployment", "deploymentgroup/shop/prod", false},
		{"PollForJobs", "*", false},
	} {
		if ok, why := Evaluate(p, Prefix+c.action, c.resource); ok != c.want {
			t.Errorf("%s on %s: %v (%s), want %v", c.action, c.resource, ok, why, c.want)
		}
	}
}
