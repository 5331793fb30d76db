package eventpattern

import (
	"encoding/json"
	"testing"
	"time"
)

// The example event, input paths and templates of EventBridge's user guide,
// "Transforming Amazon EventBridge target input" (eb-transform-target-input.md),
// with the outputs its table gives.
const transformEvent = `{
  "version": "0",
  "id": "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2015-11-11T21:29:54Z",
  "region": "us-east-1",
  "resources": [
    "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"
  ],
  "detail": {
    "instance-id": "i-0123456789",
    "state": "RUNNING"
  }
}`

var transformPaths = map[string]string{
	"timestamp": "$.time",
	"instance":  "$.detail.instance-id",
	"state":     "$.detail.state",
}

func TestTransformDocumentedExamples(t *testing.T) {
	ev, err := DecodeEvent([]byte(transformEvent))
	if err != nil {
		t.Fatal(err)
	}
	pre := Predefined{RuleName: "example", RuleARN: "arn:aws:events:us-east-2:123456789012:rule/example"}
	cases := []struct {
		name, template, want string
	}{
		{"Simple string", `"instance <instance> is in <state>"`, `"instance i-0123456789 is in RUNNING"`},
		// The guide's console output; "The AWS CLI escapes the slash characters".
		{"String with escaped quotes", `"instance \"<instance>\" is in <state>"`, `"instance \"i-0123456789\" is in RUNNING"`},
		{"Simple JSON", `{
  "instance" : <instance>,
  "state": <state>
}`, `{"instance":"i-0123456789","state":"RUNNING"}`},
		{"JSON with strings and variables", `{
 "instance" : <instance>,
 "state": "<state>",
 "instanceStatus": "instance \"<instance>\" is in <state>"
}`, `{"instance":"i-0123456789","state":"RUNNING","instanceStatus":"instance \"i-0123456789\" is in RUNNING"}`},
		{"JSON with a mix of variables and static information", `{
  "instance" : <instance>,
  "state": [ 9, <state>, true ],
  "Transformed" : "Yes"
}`, `{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}`},
		// "aws.events.event — The original event payload as JSON (without
		// the detail field)".
		{"Including reserved variables in JSON", `{
  "instance" : <instance>,
  "state": <state>,
  "ruleArn" : <aws.events.rule-arn>,
  "ruleName" : <aws.events.rule-name>,
  "originalEvent" : <aws.events.event>
}`, `{"instance":"i-0123456789","state":"RUNNING","ruleArn":"arn:aws:events:us-east-2:123456789012:rule/example","ruleName":"example",` +
			`"originalEvent":{"account":"123456789012","detail-type":"EC2 Instance State-change Notification","id":"7bf73129-1428-4cd3-a780-95db273d1602",` +
			`"region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"source":"aws.ec2","time":"2015-11-11T21:29:54Z","version":"0"}}`},
		{"Including reserved variables in a string", `"<aws.events.rule-name> triggered"`, `"example triggered"`},
		// sluice's own: text templates, the whole event, missing paths, indexes.
		{"text", `instance <instance> is in <state>`, `instance i-0123456789 is in RUNNING`},
		{"the whole event", `{"e": <aws.events.event.json>}`, ``},
		{"a path the event lacks", `{"a": <missing>, "b": "[<missing>]"}`, `{"a":null,"b":"[]"}`},
		{"text with a path the event lacks", `x<missing>y`, `xy`},
		{"an unknown placeholder stays", `"a <b> c"`, `"a <b> c"`},
		{"an object inside a string", `"detail: <detail>"`, `"detail: {\"instance-id\":\"i-0123456789\",\"state\":\"RUNNING\"}"`},
		{"an array index", `{"r": <first>}`, `{"r":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}`},
		{"a wildcard", `{"all": <all>}`, `{"all":["i-0123456789","RUNNING"]}`},
	}
	paths := map[string]string{"missing": "$.detail.nope", "detail": "$.detail", "first": "$.resources[0]", "all": "$.detail.*"}
	for k, v := range transformPaths {
		paths[k] = v
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := CompileTransformer(paths, c.template)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tr.Apply(ev, pre)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			if c.name == "the whole event" {
				var b []byte
				b, _ = json.Marshal(map[string]any{"e": ev})
				want = string(b)
			}
			if string(got) != want {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// The tutorial: "The input transformer maps the type variable to the
// $.detail-type JSON path from the event. Then EventBridge puts the variable
// into the input template "This event was <type>."".
func TestTransformTutorial(t *testing.T) {
	got, err := Transform(map[string]string{"detail-type": "$.detail-type"}, `"This event was of <detail-type> type."`,
		map[string]any{"detail-type": "customerCreated"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `"This event was of customerCreated type."` {
		t.Fatalf("got %s", got)
	}
}

func TestTransformIngestionTime(t *testing.T) {
	tr, err := CompileTransformer(nil, `"<aws.events.event.ingestion-time>"`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Apply(map[string]any{}, Predefined{IngestionTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil || string(got) != `"2026-01-02T03:04:05Z"` {
		t.Fatalf("got %s, %v", got, err)
	}
}

func TestTransformErrors(t *testing.T) {
	cases := []struct {
		paths    map[string]string
		template string
		want     string
	}{
		{map[string]string{"aws.x": "$.a"}, `"<aws.x>"`, `inputPathsMap.aws.x: names starting with aws. are reserved for the predefined variables`},
		{map[string]string{"a": "detail.x"}, `"<a>"`, `inputPathsMap.a: "detail.x" is not a JSONPath: it must start with $ (as in $.detail.state)`},
		{map[string]string{"a": "$.x['y']"}, `"<a>"`, `inputPathsMap.a: "$.x['y']": ['y'] is not an array index (use dots for names: $.detail.state)`},
		{map[string]string{"a": "$..x"}, `"<a>"`, `inputPathsMap.a: "$..x": empty name after a dot`},
		{map[string]string{"a": "$.x"}, `{"a": <a>`, `inputTemplate: starts like JSON but is not valid JSON (placeholders stand for values: <name> outside a string, "…<name>…" inside one)`},
		{map[string]string{"a": "$.x"}, `{<a>: 1}`, `inputTemplate: placeholder <a> cannot be an object key`},
	}
	for _, c := range cases {
		_, err := CompileTransformer(c.paths, c.template)
		if err == nil || err.Error() != c.want {
			t.Errorf("CompileTransformer(%v, %s) = %v\nwant %s", c.paths, c.template, err, c.want)
		}
	}
}

func TestResolvePath(t *testing.T) {
	ev, _ := DecodeEvent([]byte(transformEvent))
	for path, want := range map[string]string{
		"$":                    "",
		"$.detail.state":       `"RUNNING"`,
		"$.resources[0]":       `"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"`,
		"$.resources[*]":       `["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]`,
		"$.detail.nope":        "missing",
		"$.resources[3]":       "missing",
		"$.detail.state.inner": "missing",
	} {
		v, ok, err := ResolvePath(path, ev)
		if err != nil {
			t.Fatal(err)
		}
		got := "missing"
		if ok {
			b, _ := json.Marshal(v)
			got = string(b)
		}
		if path == "$" {
			if !ok {
				t.Errorf("$: missing")
			}
			continue
		}
		if got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}
}
