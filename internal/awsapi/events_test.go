package awsapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// These tests drive EventBridge's API on a real server with the AWS SDK for
// Go v2's own eventbridge client.

func (f *fixture) events(id, secret string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(f.url),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// function makes a URL function that POSTs to a listener on 127.0.0.1 and
// returns what it receives, one body per invocation.
func (f *fixture) urlFunction(t *testing.T, name string) <-chan []byte {
	t.Helper()
	got := make(chan []byte, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	t.Cleanup(srv.Close)
	doc := fmt.Sprintf("name: %s\nurl: %s/\n", name, srv.URL)
	if _, err := f.admin.ApplyFunction(context.Background(), name+".yml", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	return got
}

func receive(t *testing.T, got <-chan []byte, what string) map[string]any {
	t.Helper()
	select {
	case b := <-got:
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %q is not a JSON object: %v", what, b, err)
		}
		return m
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: nothing arrived within 30s", what)
	}
	return nil
}

const startedPattern = `{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"],"detail":{"pipeline":["watched"],"state":["STARTED"]}}`

func TestEventBridgeRules(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	admin := f.keys(t, "ops", "admin")
	eb := f.events(admin.AccessKeyID, admin.SecretAccessKey)
	cp := f.client(admin.AccessKeyID, admin.SecretAccessKey)
	if _, err := cp.CreatePipeline(ctx, createInput("watched")); err != nil {
		t.Fatal(err)
	}
	f.urlFunction(t, "checker")

	put, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("on-start"), EventPattern: aws.String(startedPattern), Description: aws.String("when watched starts")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(put.RuleArn), "arn:aws:events:us-east-1:000000000000:rule/on-start"; got != want {
		t.Errorf("RuleArn %s, want %s", got, want)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("every-5"), ScheduleExpression: aws.String("rate(5 minutes)"), State: types.RuleStateDisabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("other"), ScheduleExpression: aws.String("cron(0 12 * * ? *)")}); err != nil {
		t.Fatal(err)
	}

	d, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("on-start")})
	if err != nil {
		t.Fatal(err)
	}
	if d.State != types.RuleStateEnabled || aws.ToString(d.EventPattern) != startedPattern || aws.ToString(d.Description) != "when watched starts" ||
		aws.ToString(d.EventBusName) != "default" || aws.ToString(d.Arn) != aws.ToString(put.RuleArn) {
		t.Errorf("DescribeRule: %+v", d)
	}

	// Enable and disable.
	if _, err := eb.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("every-5")}); err != nil {
		t.Fatal(err)
	}
	if d, _ := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("every-5")}); d.State != types.RuleStateEnabled || aws.ToString(d.ScheduleExpression) != "rate(5 minutes)" {
		t.Errorf("after EnableRule: %+v", d)
	}
	if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("on-start")}); err != nil {
		t.Fatal(err)
	}
	if d, _ := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("on-start")}); d.State != types.RuleStateDisabled {
		t.Errorf("after DisableRule: %s", d.State)
	}

	// ListRules: a prefix, and pages of one.
	l, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("o")})
	if err != nil {
		t.Fatal(err)
	}
	if names := ruleNames(l.Rules); names != "on-start,other" || l.NextToken != nil {
		t.Errorf("ListRules prefix o: %s, next %v", names, l.NextToken)
	}
	var all []string
	var token *string
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("ListRules never ends")
		}
		page, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{Limit: aws.Int32(1), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Rules) != 1 {
			t.Fatalf("a page of %d rules", len(page.Rules))
		}
		all = append(all, aws.ToString(page.Rules[0].Name))
		if token = page.NextToken; token == nil {
			break
		}
	}
	if strings.Join(all, ",") != "every-5,on-start,other" {
		t.Errorf("ListRules by pages: %v", all)
	}
	if _, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{NextToken: aws.String("garbage")}); errType(err) != "InvalidNextTokenException" {
		t.Errorf("a made-up NextToken: %v", err)
	}

	// Targets: a function by name and by ARN, a pipeline by ARN.
	out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("on-start"), Targets: []types.Target{
		{Id: aws.String("by-name"), Arn: aws.String("checker"), Input: aws.String(`{"check":true}`)},
		{Id: aws.String("by-arn"), Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:checker"), InputPath: aws.String("$.detail"),
			RetryPolicy: &types.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(3600)}},
		{Id: aws.String("start"), Arn: aws.String("arn:aws:codepipeline:us-east-1:000000000000:watched")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 0 || len(out.FailedEntries) != 0 {
		t.Errorf("PutTargets failed entries: %+v", out.FailedEntries)
	}
	lt, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("on-start"), Limit: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lt.Targets) != 2 || lt.NextToken == nil {
		t.Fatalf("first page of targets: %+v", lt)
	}
	lt2, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("on-start"), Limit: aws.Int32(2), NextToken: lt.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	targets := append(lt.Targets, lt2.Targets...)
	if len(targets) != 3 || lt2.NextToken != nil {
		t.Fatalf("targets: %+v", targets)
	}
	fn := "arn:aws:lambda:us-east-1:000000000000:function:checker"
	want := []struct{ id, arn, input, path string }{
		{"by-name", fn, `{"check":true}`, ""},
		{"by-arn", fn, "", "$.detail"},
		{"start", "arn:aws:codepipeline:us-east-1:000000000000:watched", "", ""},
	}
	for i, w := range want {
		g := targets[i]
		if aws.ToString(g.Id) != w.id || aws.ToString(g.Arn) != w.arn || aws.ToString(g.Input) != w.input || aws.ToString(g.InputPath) != w.path {
			t.Errorf("target %d: %s %s %q %q, want %+v", i, aws.ToString(g.Id), aws.ToString(g.Arn), aws.ToString(g.Input), aws.ToString(g.InputPath), w)
		}
	}
	if p := targets[1].RetryPolicy; p == nil || aws.ToInt32(p.MaximumEventAgeInSeconds) != 3600 {
		t.Errorf("RetryPolicy of by-arn: %+v", p)
	}
	// Putting an Id again replaces that target.
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("on-start"), Targets: []types.Target{
		{Id: aws.String("by-name"), Arn: aws.String("checker"), InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"p": "$.detail.pipeline"}, InputTemplate: aws.String(`{"pipeline": <p>}`)}},
	}}); err != nil {
		t.Fatal(err)
	}
	lt, _ = eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("on-start")})
	if len(lt.Targets) != 3 || lt.Targets[0].InputTransformer == nil || aws.ToString(lt.Targets[0].InputTransformer.InputTemplate) != `{"pipeline": <p>}` || lt.Targets[0].Input != nil {
		t.Errorf("after replacing by-name: %+v", lt.Targets)
	}

	// A rule with targets is not deleted; without, it is; then it is gone.
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("on-start")}); errType(err) != "ValidationException" || !strings.HasSuffix(err.Error(), "Rule can't be deleted since it has targets.") {
		t.Errorf("DeleteRule with targets: %v", err)
	}
	if _, err := eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("on-start"), Ids: []string{"by-name", "by-arn", "start"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("on-start")}); err != nil {
		t.Fatal(err)
	}
	for _, call := range []func() error{
		func() error {
			_, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("on-start")})
			return err
		},
		func() error {
			_, err := eb.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("on-start")})
			return err
		},
		func() error {
			_, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("on-start")})
			return err
		},
		func() error {
			_, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("on-start"), Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String("checker")}}})
			return err
		},
	} {
		if err := call(); errType(err) != "ResourceNotFoundException" || !strings.Contains(err.Error(), "Rule on-start does not exist") {
			t.Errorf("a deleted rule: %v", err)
		}
	}
	// Another event bus is not there.
	if _, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("custom")}); errType(err) != "ResourceNotFoundException" {
		t.Errorf("ListRules on bus custom: %v", err)
	}
	// A signature is scoped to the API the target names: events for
	// EventBridge's, codepipeline for CodePipeline's.
	for _, c := range []struct {
		target, service string
		ok              bool
	}{
		{"AWSEvents.ListRules", "events", true},
		{"AWSEvents.ListRules", "codepipeline", false},
		{"CodePipeline_20150709.ListPipelines", "events", false},
		{"CodePipeline_20150709.ListPipelines", "codepipeline", true},
	} {
		r := signedFor(t, f.url, c.target, c.service, admin.AccessKeyID, admin.SecretAccessKey)
		st, typ, msg := send(t, r)
		if ok := st == 200; ok != c.ok || (!ok && (typ != "InvalidSignatureException" || !strings.Contains(msg, "'"+map[bool]string{true: "events", false: "codepipeline"}[strings.HasPrefix(c.target, "AWSEvents.")]+"'"))) {
			t.Errorf("%s signed for %s: %d %s %s", c.target, c.service, st, typ, msg)
		}
	}
}

func signedFor(t *testing.T, base, target, service, id, secret string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256([]byte("{}"))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return r
}

func ruleNames(rs []types.Rule) string {
	var out []string
	for _, r := range rs {
		out = append(out, aws.ToString(r.Name))
	}
	return strings.Join(out, ",")
}

// Refusals change nothing and are audited: a key without the permission, a
// target naming nothing, a pattern that does not parse, a target its author
// may not start.
func TestEventBridgeRefusals(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	admin := f.keys(t, "ops", "admin")
	viewer := f.keys(t, "looker", "viewer")
	eb := f.events(admin.AccessKeyID, admin.SecretAccessKey)
	look := f.events(viewer.AccessKeyID, viewer.SecretAccessKey)
	if _, err := f.client(admin.AccessKeyID, admin.SecretAccessKey).CreatePipeline(ctx, createInput("watched")); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("kept"), EventPattern: aws.String(startedPattern)}); err != nil {
		t.Fatal(err)
	}

	// The viewer may look, not change.
	if _, err := look.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("kept")}); err != nil {
		t.Errorf("viewer DescribeRule: %v", err)
	}
	for what, call := range map[string]func() error{
		"PutRule": func() error {
			_, err := look.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sneaky"), EventPattern: aws.String(startedPattern)})
			return err
		},
		"DisableRule": func() error {
			_, err := look.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("kept")})
			return err
		},
		"PutTargets": func() error {
			_, err := look.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("kept"), Targets: []types.Target{{Id: aws.String("x"), Arn: aws.String("arn:aws:codepipeline:us-east-1:000000000000:watched")}}})
			return err
		},
		"PutEvents": func() error {
			_, err := look.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("my.app"), DetailType: aws.String("x"), Detail: aws.String("{}")}}})
			return err
		},
	} {
		if err := call(); errType(err) != "AccessDeniedException" {
			t.Errorf("viewer %s: %v", what, err)
		}
	}
	// A target naming nothing, a pattern that does not parse.
	_, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("kept"), Targets: []types.Target{
		{Id: aws.String("ok"), Arn: aws.String("arn:aws:codepipeline:us-east-1:000000000000:watched")},
		{Id: aws.String("ghost"), Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:ghost")},
	}})
	if errType(err) != "ValidationException" || !strings.Contains(err.Error(), "function:ghost") {
		t.Errorf("a target naming no function: %v", err)
	}
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("kept"), Targets: []types.Target{
		{Id: aws.String("sqs"), Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:queue")},
	}})
	if errType(err) != "ValidationException" || !strings.Contains(err.Error(), "arn:aws:sqs:us-east-1:000000000000:queue") {
		t.Errorf("a target sluice cannot send to: %v", err)
	}
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("kept"), EventPattern: aws.String(`{"source": "not-a-list"}`)})
	if errType(err) != "InvalidEventPatternException" {
		t.Errorf("a pattern that does not parse: %v", err)
	}
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("kept"), EventPattern: aws.String(`{"source": [`)})
	if errType(err) != "InvalidEventPatternException" {
		t.Errorf("a pattern that is not JSON: %v", err)
	}
	if _, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("sched"), ScheduleExpression: aws.String("rate(soon)")}); errType(err) != "ValidationException" {
		t.Errorf("a schedule that does not parse: %v", err)
	}
	if _, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("neither")}); errType(err) != "ValidationException" {
		t.Errorf("neither pattern nor schedule: %v", err)
	}
	// A token that may write rules but not start the pipeline cannot make a
	// rule start it.
	created, err := f.admin.CreateTokenWith(ctx, wire.CreateTokenRequest{Name: "writer", Policy: "rules-only.json", AWSKeys: true,
		PolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sluice:PutRule","sluice:GetRule"],"Resource":"rule/*"},
			{"Effect":"Allow","Action":["sluice:GetFunction"],"Resource":"function/*"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	writer := created
	_, err = f.events(writer.AccessKeyID, writer.SecretAccessKey).PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("kept"), Targets: []types.Target{
		{Id: aws.String("start"), Arn: aws.String("arn:aws:codepipeline:us-east-1:000000000000:watched")}}})
	if errType(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "StartPipelineExecution") {
		t.Errorf("a rule writer targeting a pipeline it may not start: %v", err)
	}

	// Nor make a rule invoke a function that runs with a role it does not
	// hold (the function would act with the role on the rule's input).
	if _, err := f.admin.ApplyFunction(ctx, "privileged.yml", []byte("name: privileged\ncommand: [true]\nrole: operator\n")); err != nil {
		t.Fatal(err)
	}
	_, err = f.events(writer.AccessKeyID, writer.SecretAccessKey).PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("kept"), Targets: []types.Target{
		{Id: aws.String("run"), Arn: aws.String("privileged")}}})
	if errType(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "role operator") {
		t.Errorf("a rule writer targeting a function whose role it does not hold: %v", err)
	}

	// Nothing changed.
	d, err := eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("kept")})
	if err != nil || d.State != types.RuleStateEnabled || aws.ToString(d.EventPattern) != startedPattern {
		t.Errorf("kept after refusals: %+v %v", d, err)
	}
	if lt, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("kept")}); err != nil || len(lt.Targets) != 0 {
		t.Errorf("kept's targets after refusals: %+v %v", lt, err)
	}
	if l, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{}); err != nil || ruleNames(l.Rules) != "kept" {
		t.Errorf("rules after refusals: %v %v", ruleNames(l.Rules), err)
	}

	// Audited: the viewer's refusals as denied, with the operation.
	list, err := f.admin.Audit(ctx, client.AuditQuery{Denied: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	denied := map[string]bool{}
	for _, r := range list.Records {
		if r.Parameters["endpoint"] == "aws" {
			denied[r.Principal+" "+r.Operation+" "+r.Resource] = true
		}
	}
	for _, w := range []string{"looker AWSEvents.PutRule rule/sneaky", "looker AWSEvents.DisableRule rule/kept", "looker AWSEvents.PutEvents *", "writer AWSEvents.PutTargets rule/kept"} {
		if !denied[w] {
			t.Errorf("not in the audit trail as denied: %s (have %v)", w, denied)
		}
	}
	failed, err := f.admin.Audit(ctx, client.AuditQuery{Operation: "AWSEvents.PutTargets", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var validation int
	for _, r := range failed.Records {
		if r.Outcome == "failed" && strings.HasPrefix(r.Error, "ValidationException") {
			validation++
		}
	}
	if validation != 2 {
		t.Errorf("%d PutTargets recorded as failed with ValidationException, want 2", validation)
	}
}

// A rule made through PutRule fires on a real pipeline's event and invokes
// its function target; PutEvents' events fire rules too, and cannot pose as
// AWS's.
func TestEventBridgeRuleFires(t *testing.T) {
	f := start(t, func(c *server.Config) { c.Isolation = "none" })
	ctx := context.Background()
	admin := f.keys(t, "ops", "admin")
	eb := f.events(admin.AccessKeyID, admin.SecretAccessKey)
	cp := f.client(admin.AccessKeyID, admin.SecretAccessKey)
	if _, err := cp.CreatePipeline(ctx, createInput("watched")); err != nil {
		t.Fatal(err)
	}
	got := f.urlFunction(t, "checker")
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("on-start"), EventPattern: aws.String(startedPattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("on-start"), Targets: []types.Target{
		{Id: aws.String("fn"), Arn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:checker"), InputPath: aws.String("$.detail")},
	}}); err != nil {
		t.Fatal(err)
	}
	start, err := cp.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{Name: aws.String("watched")})
	if err != nil {
		t.Fatal(err)
	}
	detail := receive(t, got, "the function target of on-start")
	if detail["pipeline"] != "watched" || detail["state"] != "STARTED" || detail["execution-id"] != aws.ToString(start.PipelineExecutionId) {
		t.Errorf("the function received %v", detail)
	}

	// PutEvents: a custom event fires a rule on its source; an entry that
	// poses as AWS is refused, the others are put.
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("mine"), EventPattern: aws.String(`{"source":["my.app"],"detail":{"n":[{"numeric":[">",1]}]}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("mine"), Targets: []types.Target{
		{Id: aws.String("fn"), Arn: aws.String("checker")}}}); err != nil {
		t.Fatal(err)
	}
	pe, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("my.app"), DetailType: aws.String("Thing Happened"), Detail: aws.String(`{"n": 1}`)},
		{Source: aws.String("aws.codepipeline"), DetailType: aws.String("CodePipeline Pipeline Execution State Change"), Detail: aws.String(`{"pipeline":"watched","state":"SUCCEEDED"}`)},
		{Source: aws.String("my.app"), DetailType: aws.String("Thing Happened"), Detail: aws.String(`not json`)},
		{Source: aws.String("my.app"), DetailType: aws.String("Thing Happened"), Detail: aws.String(`{"n": 2}`), Resources: []string{"arn:aws:s3:::b"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if pe.FailedEntryCount != 2 || len(pe.Entries) != 4 {
		t.Fatalf("PutEvents: %d failed of %+v", pe.FailedEntryCount, pe.Entries)
	}
	if aws.ToString(pe.Entries[1].ErrorCode) != "NotAuthorizedForSourceException" || aws.ToString(pe.Entries[2].ErrorCode) != "MalformedDetail" ||
		aws.ToString(pe.Entries[0].EventId) == "" || aws.ToString(pe.Entries[3].EventId) == "" {
		t.Errorf("PutEvents entries: %+v", pe.Entries)
	}
	ev := receive(t, got, "the function target of mine")
	if ev["source"] != "my.app" || ev["detail-type"] != "Thing Happened" || ev["id"] != aws.ToString(pe.Entries[3].EventId) ||
		fmt.Sprint(ev["resources"]) != "[arn:aws:s3:::b]" || fmt.Sprint(ev["detail"]) != "map[n:2]" {
		t.Errorf("the function received %v", ev)
	}
	select {
	case b := <-got:
		t.Errorf("another invocation: %s", b)
	default:
	}
}
