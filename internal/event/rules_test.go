package event_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/notify"
	"github.com/sluice-ci/sluice/internal/notify/smtpsink"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
)

// Rule tests run the service on the real clock, with the rule runner and
// the deliverer in the background as the server runs them, and real
// receivers on 127.0.0.1.

const appPipeline = `
name: app
executionMode: PARALLEL
stages:
  - name: Build
    actions:
      - name: make
        provider: Commands
        commands: [make]
`

func (f *fixture) applyRule(src string) {
	f.t.Helper()
	if _, err := f.rules.Apply(f.ctx, "rule.yml", []byte(src)); err != nil {
		f.t.Fatalf("apply rule: %v", err)
	}
}

// runApp starts an execution of app and ends its one job as told.
func (f *fixture) runApp(succeed bool) string {
	f.t.Helper()
	id := f.start("app")
	j := f.claim("w1")
	res := service.JobResult{Succeeded: succeed, Message: "make: *** [all] Error 2"}
	if err := f.svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, res); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// drainRules runs the rule runner until it reads nothing more.
func (f *fixture) drainRules() {
	f.t.Helper()
	for {
		n, err := f.runner.RulesOnce(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// settled waits until the rule's deliveries number want and none is
// pending, and returns them.
func (f *fixture) settled(ruleName string, want int) []store.Delivery {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, err := f.runner.Deliveries(f.ctx, "rule/"+ruleName, 100)
		if err != nil {
			f.t.Fatal(err)
		}
		pending := 0
		for _, d := range ds {
			if d.Status == store.DeliveryPending {
				pending++
			}
		}
		if len(ds) == want && pending == 0 {
			return ds
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("rule %s: %d deliveries, %d pending; want %d settled: %+v", ruleName, len(ds), pending, want, ds)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRuleWebhookOnFailedExecutions(t *testing.T) {
	type hit struct {
		body          string
		signed        bool
		team, ruleHdr string
	}
	hits := make(chan hit, 10)
	secret := []byte("hook-secret")
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hits <- hit{string(body), notify.Verify(secret, body, r.Header.Get(notify.HeaderSignature)), r.Header.Get("X-Team"), r.Header.Get("X-Sluice-Rule")}
	}))
	defer hook.Close()
	f := newLiveFixture(t, event.Config{})
	if err := f.svc.PutSecret(f.ctx, "hook", secret); err != nil {
		t.Fatal(err)
	}
	f.apply(appPipeline)
	// An execution before the rule exists: the rule never sees it.
	f.runApp(false)
	f.applyRule(`name: app-failed
eventPattern:
  source: [aws.codepipeline]
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail:
    pipeline: [app]
    state: [FAILED]
targets:
  - webhook:
      url: ` + hook.URL + `/hooks/sluice
      secret: hook
      headers: {X-Team: platform}
      inputTransformer:
        inputPathsMap: {pipeline: $.detail.pipeline, id: $.detail.execution-id, state: $.detail.state}
        inputTemplate: '{"text": "pipeline <pipeline> execution <id> <state>", "rule": <aws.events.rule-name>}'
`)
	f.runApp(true)
	failed := f.runApp(false)

	var h hit
	select {
	case h = <-hits:
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook got nothing")
	}
	want := `{"text":"pipeline app execution ` + failed + ` FAILED","rule":"app-failed"}`
	if h.body != want || !h.signed || h.team != "platform" || h.ruleHdr != "app-failed" {
		t.Fatalf("hit %+v\nwant body %s, signed, X-Team platform, X-Sluice-Rule app-failed", h, want)
	}
	ds := f.settled("app-failed", 1)
	if d := ds[0]; d.Status != store.DeliveryDelivered || d.Attempts != 1 || d.Kind != "webhook" ||
		!strings.HasPrefix(d.ID, "rule/app-failed/") || !strings.HasSuffix(d.ID, "/0") {
		t.Fatalf("delivery %+v", d)
	}
	select {
	case h := <-hits:
		t.Fatalf("a second hit: %+v", h)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestRulePipelineTargetStartsWithEventVariables(t *testing.T) {
	f := newLiveFixture(t, event.Config{})
	f.apply(appPipeline)
	f.apply(`
name: rollback
executionMode: PARALLEL
variables:
  - {name: FAILED_EXECUTION, defaultValue: none}
  - {name: REASON, defaultValue: none}
stages:
  - name: Roll
    actions:
      - name: back
        provider: Noop
`)
	f.applyRule(`name: roll-back-app
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {pipeline: [app], state: [FAILED]}
targets:
  - pipeline:
      name: rollback
      variables: {FAILED_EXECUTION: $.detail.execution-id, REASON: app failed}
`)
	failed := f.runApp(false)
	f.settled("roll-back-app", 1)
	rows, err := f.store.Executions(f.ctx, "rollback", 0, 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("rollback executions: %d (%v)", len(rows), err)
	}
	e := f.execution("rollback", rows[0].ID)
	if e.Variables["FAILED_EXECUTION"] != failed || e.Variables["REASON"] != "app failed" || e.Trigger.Type != "CloudWatchEvent" ||
		!strings.Contains(e.Trigger.Detail, "arn:aws:events:us-east-1:000000000000:rule/roll-back-app") {
		t.Fatalf("rollback execution: variables %v, trigger %+v", e.Variables, e.Trigger)
	}

	// Read again from the start, as after a crash before the cursor moved:
	// nothing is queued or started twice.
	if err := f.store.SetCursor(f.ctx, "rules", 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	f.drainRules()
	f.settled("roll-back-app", 1)
	if rows, _ := f.store.Executions(f.ctx, "rollback", 0, 10); len(rows) != 1 {
		t.Fatalf("%d rollback executions after a replay, want 1", len(rows))
	}
}

func TestRuleEmailTarget(t *testing.T) {
	sink, err := smtpsink.New(smtpsink.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	f := newLiveFixture(t, event.Config{Deliveries: event.DeliveryConfig{SMTP: notify.SMTP{Addr: sink.Addr(), From: "sluice@example.com", TLS: notify.TLSNone}}})
	f.apply(appPipeline)
	f.applyRule(`name: mail-ops
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {state: [FAILED]}
targets:
  - email: {to: ops@example.com}
`)
	failed := f.runApp(false)
	wait, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	msg, err := sink.Next(wait)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := msg.Subject()
	text, _ := msg.Text()
	if subject != "sluice: pipeline app execution "+failed[:8]+" FAILED" || msg.To[0] != "ops@example.com" {
		t.Fatalf("mail to %v, subject %q", msg.To, subject)
	}
	for _, want := range []string{"Execution:  " + failed, "State:      FAILED", "Rule:       mail-ops",
		"Link:       http://sluice.test:8080/ui/pipelines/app/executions/" + failed, `"detail-type": "CodePipeline Pipeline Execution State Change"`} {
		if !strings.Contains(text, want) {
			t.Errorf("mail lacks %q:\n%s", want, text)
		}
	}
	f.settled("mail-ops", 1)
}

func TestRuleDeadLetter(t *testing.T) {
	var calls sync.Map
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Store(time.Now(), true)
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
	}))
	defer hook.Close()
	f := newLiveFixture(t, event.Config{})
	f.apply(appPipeline)
	f.applyRule(`name: always-fails
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {pipeline: [app], state: [FAILED]}
targets:
  - webhook: {url: "` + hook.URL + `", retryFor: 1s}
  - pipeline: {name: no-such-pipeline}
`)
	f.runApp(false)
	f.settled("always-fails", 2)
	fails, err := f.rules.Failures(f.ctx, "always-fails")
	if err != nil {
		t.Fatal(err)
	}
	if len(fails) != 2 {
		t.Fatalf("%d failures, want 2: %+v", len(fails), fails)
	}
	byKind := map[string]event.RuleDelivery{}
	for _, fl := range fails {
		byKind[fl.Delivery.Kind] = fl
	}
	w, p := byKind["webhook"], byKind["pipeline"]
	// The receiver was tried until retryFor ran out; the pipeline that does
	// not exist was given up at once.
	if w.Delivery.Attempts < 2 || !strings.Contains(w.Delivery.LastError, "503") || w.To != "webhook "+hook.URL ||
		w.Delivery.Updated.Sub(w.Delivery.Created) < time.Second {
		t.Fatalf("webhook dead letter %+v", w)
	}
	if p.Delivery.Attempts != 1 || !strings.Contains(p.Delivery.LastError, "no-such-pipeline") || p.To != "pipeline no-such-pipeline" || p.EventID == "" {
		t.Fatalf("pipeline dead letter %+v", p)
	}
	// Dead letters outlive their rule.
	if err := f.rules.Delete(f.ctx, "always-fails"); err != nil {
		t.Fatal(err)
	}
	if fails, err := f.rules.Failures(f.ctx, "always-fails"); err != nil || len(fails) != 2 {
		t.Fatalf("after delete: %d failures (%v)", len(fails), err)
	}
	if _, err := f.rules.Failures(f.ctx, "never-was"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("failures of a rule that never was: %v", err)
	}
}

type recordingInvoker struct {
	mu    sync.Mutex
	calls []string
	input [][]byte
}

func (r *recordingInvoker) InvokeFunction(_ context.Context, fn function.Function, input []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fn.Name)
	r.input = append(r.input, input)
	return nil
}

func TestRuleFunctionTargetAndDisabledRules(t *testing.T) {
	inv := &recordingInvoker{}
	f := newLiveFixture(t, event.Config{Functions: inv})
	if _, err := f.svc.ApplyFunction(f.ctx, "fn.yml", []byte("name: notify\ncommand: [\"true\"]\n")); err != nil {
		t.Fatal(err)
	}
	f.apply(appPipeline)
	f.applyRule(`name: to-function
eventPattern:
  detail-type: [CodePipeline Stage Execution State Change]
  detail: {pipeline: [app], stage: [Build], state: [SUCCEEDED]}
targets:
  - function: {name: notify}
`)
	f.applyRule(`name: disabled
state: DISABLED
eventPattern: {source: [aws.codepipeline]}
targets:
  - function: {name: notify}
`)
	id := f.runApp(true)
	f.settled("to-function", 1)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.calls) != 1 || inv.calls[0] != "notify" {
		t.Fatalf("invocations %v", inv.calls)
	}
	var ev service.Event
	if err := json.Unmarshal(inv.input[0], &ev); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(ev.Detail)
	var d service.EventDetail
	json.Unmarshal(raw, &d)
	if ev.DetailType != engine.StageEvent || d.ExecutionID != id || d.Stage != "Build" || d.State != "SUCCEEDED" || ev.Source != "aws.codepipeline" {
		t.Fatalf("the function got %s", inv.input[0])
	}
	if ds, _ := f.runner.Deliveries(f.ctx, "rule/disabled", 10); len(ds) != 0 {
		t.Fatalf("a disabled rule delivered %d", len(ds))
	}
}

// TestRulesDecideByEventSequence: a rule sees the events written after it
// was created, decided by the events' sequence, so replicas whose clocks
// disagree agree, and no test needs to wait for a clock to tick. Here the
// rule is created on a clock an hour ahead (another replica's) and the
// events are stamped on one an hour behind.
func TestRulesDecideByEventSequence(t *testing.T) {
	f := newFixture(t)
	f.apply(appPipeline)
	f.clock.Add(time.Hour)
	f.runApp(false) // before the rule, stamped later than the rule below
	f.clock.Add(-2 * time.Hour)
	f.applyRule(`name: failed
eventPattern:
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail: {pipeline: [app], state: [FAILED]}
targets:
  - webhook: {url: "http://127.0.0.1:9/hook"}
`)
	f.clock.Add(-time.Hour)
	after := f.runApp(false) // after the rule, stamped two hours before it
	f.drainRules()
	ds, err := f.runner.Deliveries(f.ctx, "rule/failed", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || !strings.Contains(string(ds[0].Payload), after) {
		var got []string
		for _, d := range ds {
			got = append(got, string(d.Payload))
		}
		t.Fatalf("%d deliveries, want 1, for execution %s:\n%s", len(ds), after, strings.Join(got, "\n"))
	}
}

// TestRuleCreatedLaterSeesFromItsCreation: without rules, the runner reads
// only executions' state changes (for commit statuses) and moves its cursor
// past the rest; a rule created afterwards on another kind of event (stage
// changes) is delivered exactly the events written after it was created,
// whether the runner had read up to then or lagged behind.
func TestRuleCreatedLaterSeesFromItsCreation(t *testing.T) {
	f := newFixture(t)
	f.apply(appPipeline)
	read := f.runApp(true) // read by the runner before the rule exists
	f.drainRules()
	lagged := f.runApp(true) // written before the rule, read after
	f.applyRule(`name: stages
eventPattern:
  detail-type: [CodePipeline Stage Execution State Change]
  detail: {pipeline: [app]}
targets:
  - webhook: {url: "http://127.0.0.1:9/hook"}
`)
	after := f.runApp(true)
	f.drainRules()
	ds, err := f.runner.Deliveries(f.ctx, "rule/stages", 10)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, d := range ds {
		var ev struct {
			Detail struct {
				ExecutionID string `json:"execution-id"`
				State       string `json:"state"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(d.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		switch ev.Detail.ExecutionID {
		case after:
			states = append(states, ev.Detail.State)
		case read, lagged:
			t.Errorf("delivered a stage event of execution %s, which ran before the rule was created", ev.Detail.ExecutionID)
		default:
			t.Errorf("delivered an event of an unknown execution %s", ev.Detail.ExecutionID)
		}
	}
	slices.Sort(states)
	if strings.Join(states, ",") != "STARTED,SUCCEEDED" {
		t.Fatalf("stage events delivered of the execution after the rule: %v; want STARTED,SUCCEEDED", states)
	}
}

func TestRuleSchedule(t *testing.T) {
	f := newFixture(t)
	f.applyRule(`name: every-minute
scheduleExpression: rate(1 minute)
targets:
  - webhook: {url: "http://127.0.0.1:9/tick"}
`)
	if err := f.runner.RuleSchedulesOnce(f.ctx); err != nil { // first sight: the anchor
		t.Fatal(err)
	}
	if ds, _ := f.runner.Deliveries(f.ctx, "rule/every-minute", 10); len(ds) != 0 {
		t.Fatalf("fired at once: %+v", ds)
	}
	f.clock.Add(61 * time.Second)
	for range 2 { // twice: a tick fires once
		if err := f.runner.RuleSchedulesOnce(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	ds, _ := f.runner.Deliveries(f.ctx, "rule/every-minute", 10)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries after a minute, want 1", len(ds))
	}
	var ev map[string]any
	if err := json.Unmarshal(ds[0].Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" || ev["account"] != "000000000000" ||
		ev["resources"].([]any)[0] != "arn:aws:events:us-east-1:000000000000:rule/every-minute" ||
		!regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(ev["id"].(string)) || !strings.Contains(ds[0].ID, "/tick-") {
		t.Fatalf("scheduled delivery %s: %s", ds[0].ID, ds[0].Payload)
	}
	// Hours missed fire once, not sixty times.
	f.clock.Add(time.Hour)
	if err := f.runner.RuleSchedulesOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if ds, _ := f.runner.Deliveries(f.ctx, "rule/every-minute", 10); len(ds) != 2 {
		t.Fatalf("%d deliveries after an hour missed, want 2", len(ds))
	}
}

func TestRuleApplyListDelete(t *testing.T) {
	f := newFixture(t)
	src := "name: r\neventPattern: {source: [aws.codecommit]}\ntargets: [{webhook: {url: \"http://127.0.0.1:9/\", secret: nope}}]\n"
	if _, err := f.rules.Apply(f.ctx, "r.yml", []byte(src)); service.ErrorCode(err) != service.CodeInvalid || !strings.Contains(err.Error(), "there is no secret nope") {
		t.Fatalf("a rule naming a missing secret: %v", err)
	}
	src = strings.Replace(src, ", secret: nope", "", 1)
	res, err := f.rules.Apply(f.ctx, "r.yml", []byte(src))
	if err != nil || !res.Created {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if res, _ = f.rules.Apply(f.ctx, "r.yml", []byte(src)); res.Created || res.Changed {
		t.Fatalf("the same rule again: %+v", res)
	}
	if res, _ = f.rules.Apply(f.ctx, "r.yml", []byte(src+"description: pushes\n")); res.Created || !res.Changed {
		t.Fatalf("a changed rule: %+v", res)
	}
	rules, err := f.rules.List(f.ctx)
	if err != nil || len(rules) != 1 || rules[0].Rule.Description != "pushes" {
		t.Fatalf("rules %+v %v", rules, err)
	}
	if err := f.rules.Delete(f.ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rules.Get(f.ctx, "r"); service.ErrorCode(err) != service.CodeNotFound {
		t.Fatalf("deleted rule: %v", err)
	}
}
