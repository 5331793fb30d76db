package rule

import (
	"strings"
	"testing"
	"time"
)

const fullRule = `name: app-failed
description: tell the team when app fails
eventPattern:
  source: [aws.codepipeline]
  detail-type: [CodePipeline Pipeline Execution State Change]
  detail:
    pipeline: [app]
    state: [FAILED]
    attempt: [{numeric: [">", 0]}]
targets:
  - webhook:
      url: https://hooks.example/sluice
      secret: hook-secret
      headers: {X-Team: platform}
      retryFor: 2h
      inputTransformer:
        inputPathsMap: {pipeline: $.detail.pipeline, id: $.detail.execution-id}
        inputTemplate: '{"text": "pipeline <pipeline> failed: <id>"}'
  - pipeline:
      name: rollback
      variables: {FAILED_EXECUTION: $.detail.execution-id, REASON: app failed}
  - function: {name: page-oncall}
  - email: {to: ops@example.com}
`

func TestParseFull(t *testing.T) {
	r, err := Parse("rule.yml", []byte(fullRule))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"],"detail":{"pipeline":["app"],"state":["FAILED"],"attempt":[{"numeric":[">",0]}]}}`
	if string(r.EventPattern) != want {
		t.Fatalf("pattern\n%s\nwant\n%s", r.EventPattern, want)
	}
	if r.State != Enabled || len(r.Targets) != 4 {
		t.Fatalf("rule %+v", r)
	}
	kinds := []string{}
	for _, tg := range r.Targets {
		kinds = append(kinds, tg.Kind())
	}
	if strings.Join(kinds, ",") != "webhook,pipeline,function,email" {
		t.Fatalf("kinds %v", kinds)
	}
	if r.Targets[0].RetryFor() != 2*time.Hour || r.Targets[1].RetryFor() != DefaultRetryFor {
		t.Fatalf("retryFor %v %v", r.Targets[0].RetryFor(), r.Targets[1].RetryFor())
	}
	if r.Targets[1].Pipeline.Variables["FAILED_EXECUTION"] != "$.detail.execution-id" || r.Targets[3].Email.To[0] != "ops@example.com" {
		t.Fatalf("targets %+v %+v", r.Targets[1].Pipeline, r.Targets[3].Email)
	}
	p, err := r.Pattern()
	if err != nil || p == nil {
		t.Fatalf("pattern: %v", err)
	}
}

func TestParseJSONStringPatternAndSchedule(t *testing.T) {
	// EventBridge's PutRule takes the pattern as a string of JSON.
	r, err := Parse("rule.json", []byte(`{"name": "r", "eventPattern": "{\"source\": [\"aws.codecommit\"]}", "state": "disabled",
		"targets": [{"webhook": {"url": "http://127.0.0.1:9/x"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.EventPattern) != `{"source":["aws.codecommit"]}` || r.IsEnabled() {
		t.Fatalf("rule %+v", r)
	}
	r, err = Parse("nightly.yml", []byte("name: nightly\nscheduleExpression: cron(0 3 * * ? *)\ntargets:\n  - pipeline: {name: nightly-build}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.ScheduleExpression != "cron(0 3 * * ? *)" || len(r.EventPattern) != 0 {
		t.Fatalf("rule %+v", r)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"pattern operator", `name: r
eventPattern:
  detail:
    state:
      - prefix: 5
targets:
  - webhook: {url: "http://x"}
`, `r.yml:4: eventPattern.detail.state: "prefix" must be a string`},
		{"pattern in $or", `name: r
eventPattern:
  detail:
    $or:
      - {a: [x]}
      - b: x
targets: [{webhook: {url: "http://x"}}]
`, `r.yml:6: eventPattern.detail.$or[1].b: must be a list of values to match (as in ["x"]) or an object of fields, not the string "x"`},
		{"pattern as bad JSON", "name: r\neventPattern: '{\"a\": '\ntargets: [{webhook: {url: \"http://x\"}}]\n",
			`r.yml:2: eventPattern: a string pattern must be JSON: unexpected end of JSON input`},
		{"pattern and schedule", "name: r\neventPattern: {a: [x]}\nscheduleExpression: rate(5 minutes)\ntargets: [{webhook: {url: \"http://x\"}}]\n",
			`r.yml:3: scheduleExpression: give eventPattern or scheduleExpression, not both`},
		{"neither", "name: r\ntargets: [{webhook: {url: \"http://x\"}}]\n",
			`r.yml:1: eventPattern: required: the events to match (or give scheduleExpression: cron(...) or rate(...))`},
		{"bad schedule", "name: r\nscheduleExpression: rate(5 minute)\ntargets: [{webhook: {url: \"http://x\"}}]\n", `r.yml:2: scheduleExpression: `},
		{"state", "name: r\nstate: ON\neventPattern: {a: [x]}\ntargets: [{webhook: {url: \"http://x\"}}]\n",
			`r.yml:2: state: "ON" is not a state (ENABLED or DISABLED)`},
		{"no targets", "name: r\neventPattern: {a: [x]}\ntargets: []\n", `r.yml:3: targets: at least one target is required`},
		{"two kinds in a target", "name: r\neventPattern: {a: [x]}\ntargets:\n  - webhook: {url: \"http://x\"}\n    email: {to: a@b.c}\n",
			`r.yml:4: targets[0]: a target is a mapping of one key: webhook, pipeline, function or email`},
		{"input and inputPath", "name: r\neventPattern: {a: [x]}\ntargets:\n  - id: t1\n    input: '{}'\n    inputPath: $.detail\n    function: {name: f}\n",
			`r.yml:4: targets[0]: give at most one of input, inputPath and inputTransformer`},
		{"input not JSON", "name: r\neventPattern: {a: [x]}\ntargets:\n  - input: 'nope'\n    function: {name: f}\n",
			`r.yml:4: targets[0].input: not valid JSON text`},
		{"duplicate ids", "name: r\neventPattern: {a: [x]}\ntargets:\n  - {id: a, function: {name: f}}\n  - {id: a, function: {name: g}}\n",
			`r.yml:5: targets[1].id: "a" is the id of targets[0] too`},
		{"input on a pipeline", "name: r\neventPattern: {a: [x]}\ntargets:\n  - {input: '{}', pipeline: {name: p}}\n",
			`r.yml:4: targets[0]: a pipeline target takes no input or inputPath`},
		{"unknown kind", "name: r\neventPattern: {a: [x]}\ntargets:\n  - webhok: {url: \"http://x\"}\n",
			`r.yml:4: targets[0].webhok: unknown target kind (did you mean "webhook"?) (webhook, pipeline, function or email)`},
		{"url", "name: r\neventPattern: {a: [x]}\ntargets:\n  - webhook: {url: \"ftp://x\"}\n",
			`r.yml:4: targets[0].webhook.url: not an http or https URL`},
		{"reserved header", "name: r\neventPattern: {a: [x]}\ntargets:\n  - webhook:\n      url: http://x\n      headers: {X-Sluice-Delivery: x}\n",
			`r.yml:6: targets[0].webhook.headers.X-Sluice-Delivery: sluice sets this header itself`},
		{"retryFor", "name: r\neventPattern: {a: [x]}\ntargets:\n  - webhook:\n      url: http://x\n      retryFor: 1 day\n",
			`r.yml:6: targets[0].webhook.retryFor: "1 day" is not a duration such as 30m, 2h or 48h`},
		{"transformer path", "name: r\neventPattern: {a: [x]}\ntargets:\n  - webhook:\n      url: http://x\n      inputTransformer:\n        inputPathsMap: {p: detail.pipeline}\n        inputTemplate: '\"<p>\"'\n",
			`r.yml:7: targets[0].webhook.inputTransformer.inputPathsMap.p: "detail.pipeline" is not a JSONPath: it must start with $ (as in $.detail.state)`},
		{"transformer template", "name: r\neventPattern: {a: [x]}\ntargets:\n  - email:\n      to: a@example.com\n      inputTransformer:\n        inputTemplate: '{\"a\": '\n",
			`r.yml:7: targets[0].email.inputTransformer.inputTemplate: starts like JSON but is not valid JSON`},
		{"pipeline transformer", "name: r\neventPattern: {a: [x]}\ntargets:\n  - pipeline:\n      name: p\n      inputTransformer: {inputTemplate: x}\n",
			`r.yml:6: targets[0].pipeline.inputTransformer: a pipeline target takes no inputTransformer`},
		{"pipeline variable path", "name: r\neventPattern: {a: [x]}\ntargets:\n  - pipeline:\n      name: p\n      variables: {V: \"$.detail[x]\"}\n",
			`r.yml:6: targets[0].pipeline.variables.V: "$.detail[x]": [x] is not an array index`},
		{"email", "name: r\neventPattern: {a: [x]}\ntargets:\n  - email: {to: [ops@example.com, not an address]}\n",
			`r.yml:4: targets[0].email.to[1]: "not an address" is not a mail address`},
		{"unknown field", "name: r\neventPatern: {a: [x]}\ntargets: [{webhook: {url: \"http://x\"}}]\n",
			`r.yml:2: eventPatern: unknown field (did you mean "eventPattern"?)`},
		{"name", "name: a rule\neventPattern: {a: [x]}\ntargets: [{webhook: {url: \"http://x\"}}]\n",
			`r.yml:1: name: "a rule" is not a rule name (1-64 letters, digits, ., - and _)`},
		{"pattern number", "name: r\neventPattern: {a: [0x1F]}\ntargets: [{webhook: {url: \"http://x\"}}]\n",
			`r.yml:2: eventPattern.a[0]: 0x1F is not a number as JSON writes them (quote it to match a string)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("r.yml", []byte(c.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got\n%v\nwant (in it)\n%s", err, c.want)
			}
		})
	}
}

func TestParseEveryError(t *testing.T) {
	// Every problem at once, in file order.
	_, err := Parse("r.yml", []byte("name: r!\nstate: maybe\neventPattern: {a: x}\ntargets:\n  - email: {to: x}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "r.yml:1: name") || !strings.HasPrefix(lines[3], "r.yml:5: targets[0].email.to[0]") {
		t.Fatalf("errors:\n%v", err)
	}
}
