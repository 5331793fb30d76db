package eventpattern

import (
	"strings"
	"testing"
)

// Events and patterns below are quoted from EventBridge's user guide
// (awsdocs/amazon-eventbridge-user-guide: eb-event-patterns.md,
// eb-event-patterns-null-values.md, eb-event-patterns-arrays.md,
// eb-event-patterns-content-based-filtering.md, and the comparison operators
// page, eb-create-pattern-operators), each with what the guide says of it.

const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": [
    "arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"
  ],
  "detail": {
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated"
  }
}`

const autoscalingEvent = `{
  "version": "0",
  "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
  "detail-type": "EC2 Instance Launch Successful",
  "source": "aws.autoscaling",
  "account": "123456789012",
  "time": "2015-11-11T21:31:47Z",
  "region": "us-east-1",
  "resources": [
   ],
  "detail": {
    "eventVersion": "",
    "responseElements": null
   }
}`

// The guide's Macie event is truncated ("..."); this is its beginning, closed.
const macieEvent = `{
  "version": "0",
  "id": "3e355723-fca9-4de3-9fd7-154c289d6b59",
  "detail-type": "Macie Alert",
  "source": "aws.macie",
  "account": "123456789012",
  "time": "2017-04-24T22:28:49Z",
  "region": "us-east-1",
  "resources": [
    "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id",
    "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id"
  ],
  "detail": {
    "notification-type": "ALERT_CREATED",
    "name": "Scanning bucket policies",
    "tags": [
      "Custom_Alert",
      "Insider"
    ],
    "url": "https://lb00.us-east-1.macie.aws.amazon.com/111122223333/posts/alert_id",
    "alert-arn": "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_",
    "risk-score": 80,
    "trigger": {
      "rule-arn": "arn:aws:macie:us-east-1:123456789012:trigger/trigger_id",
      "alert-type": "basic",
      "created-at": "2017-01-02 19:54:00.644000",
      "risk": 8
    },
    "created-at": "2017-04-18T00:21:12.059000"
  }
}`

type matchCase struct {
	name    string
	pattern string
	event   string
	want    bool
}

var docCases = []matchCase{
	// eb-event-patterns.md: "The following event pattern processes all Amazon
	// EC2 instance-termination events."
	{"ec2 termination", `{
  "source": ["aws.ec2"],
  "detail-type": ["EC2 Instance State-change Notification"],
  "detail": {
    "state": ["terminated"]
  }
}`, ec2Event, true},
	{"ec2 termination, another state", `{"source": ["aws.ec2"], "detail": {"state": ["running"]}}`, ec2Event, false},
	// "matches events where the value for the "source" field is either
	// "aws.ec2" or "aws.fargate"."
	{"source ec2 or fargate", `{
    "source": ["aws.ec2", "aws.fargate"]
}`, ec2Event, true},
	{"source fargate only", `{"source": ["aws.fargate"]}`, ec2Event, false},
	// Field matching: "you can use the "responseElements" field to match."
	{"responseElements null", `{
  "source": ["aws.autoscaling"],
  "detail-type": ["EC2 Instance Launch Successful"],
  "detail": {
   "responseElements": [null]
  }
}`, autoscalingEvent, true},
	// Value matching: "matches any event that has a risk score of 80 and a
	// trigger risk of 8."
	{"macie risk", `{
  "source": ["aws.macie"],
  "detail-type": ["Macie Alert"],
  "detail": {
    "risk-score": [80],
    "trigger": {
      "risk": [8]
    }
  }
}`, macieEvent, true},
	{"macie other risk", `{"source": ["aws.macie"], "detail": {"risk-score": [81]}}`, macieEvent, false},
	// "For numbers, EventBridge uses string representation. For example, 300,
	// 300.0, and 3.0e2 are not considered equal."
	{"80.0 is not 80", `{"detail": {"risk-score": [80.0]}}`, macieEvent, false},
	{"8e0 is not 8", `{"detail": {"trigger": {"risk": [8e0]}}}`, macieEvent, false},
	// A pattern value matches an element of an event list.
	{"tags list", `{"detail": {"tags": ["Insider"]}}`, macieEvent, true},

	// eb-event-patterns-null-values.md: "To match events where the value of
	// eventVersion is an empty string, use the following event pattern".
	{"empty string", `{
  "detail": {
     "eventVersion": [""]
  }
}`, autoscalingEvent, true},
	{"null", `{
  "detail": {
     "responseElements": [null]
  }
}`, autoscalingEvent, true},
	// "Null values and empty strings are not interchangeable in pattern
	// matching. An event pattern that matches empty strings doesn't match
	// values of null."
	{"empty string does not match null", `{"detail": {"responseElements": [""]}}`, autoscalingEvent, false},
	{"null does not match empty string", `{"detail": {"eventVersion": [null]}}`, autoscalingEvent, false},

	// eb-event-patterns-arrays.md: "matches an event that includes the
	// following field because the first item in the event pattern array
	// matches the second item in the event array".
	{"arrays intersect", `{"resources": [
   "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
   "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
   "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"
]}`, `{"resources": [
   "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
   "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"
]}`, true},
	{"arrays disjoint", `{"resources": ["arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]}`,
		`{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`, false},

	// Content filtering. Prefix: "would match any event where the "time"
	// field started with "2017-10-02" such as "time": "2017-10-02T18:43:48Z"".
	{"prefix", `{"time": [ { "prefix": "2017-10-02" } ]}`, `{"time": "2017-10-02T18:43:48Z"}`, true},
	{"prefix, another day", `{"time": [ { "prefix": "2017-10-02" } ]}`, `{"time": "2017-10-03T18:43:48Z"}`, false},
	// "match any event where the service field starts with the string EventB,
	// as well as EVENTB, eventb, or any other capitalization of those
	// characters."
	{"prefix ignoring case", `{"detail": {"service" : [{ "prefix": { "equals-ignore-case": "EventB" }}]}}`, `{"detail": {"service": "eventbridge"}}`, true},
	{"prefix ignoring case, no", `{"detail": {"service" : [{ "prefix": { "equals-ignore-case": "EventB" }}]}}`, `{"detail": {"service": "lambda"}}`, false},
	// Suffix: "match any event where the "FileName" field ends with the .png
	// file extension."
	{"suffix", `{"FileName": [ { "suffix": ".png" } ]}`, `{"FileName": "photo.png"}`, true},
	{"suffix, other extension", `{"FileName": [ { "suffix": ".png" } ]}`, `{"FileName": "photo.PNG"}`, false},
	{"suffix ignoring case", `{"detail": {"FileName" : [{ "suffix": { "equals-ignore-case": ".png" }}]}}`, `{"detail": {"FileName": "photo.PNG"}}`, true},
	// Anything-but with strings and numbers.
	{"anything-but string", `{
  "detail": {
    "state": [ { "anything-but": "initializing" } ]
  }
}`, `{"detail": {"state": "running"}}`, true},
	{"anything-but string, the excluded one", `{"detail": {"state": [ { "anything-but": "initializing" } ]}}`, `{"detail": {"state": "initializing"}}`, false},
	{"anything-but string, absent field", `{"detail": {"state": [ { "anything-but": "initializing" } ]}}`, `{"detail": {}}`, false},
	{"anything-but number", `{
  "detail": {
    "x-limit": [ { "anything-but": 123 } ]
  }
}`, `{"detail": {"x-limit": 124}}`, true},
	{"anything-but number, the excluded one", `{"detail": {"x-limit": [ { "anything-but": 123 } ]}}`, `{"detail": {"x-limit": 123}}`, false},
	{"anything-but list of strings", `{
  "detail": {
    "state": [ { "anything-but": [ "stopped", "overloaded" ] } ]
  }
}`, `{"detail": {"state": "running"}}`, true},
	{"anything-but list of strings, excluded", `{"detail": {"state": [ { "anything-but": [ "stopped", "overloaded" ] } ]}}`, `{"detail": {"state": "overloaded"}}`, false},
	{"anything-but list of numbers", `{
  "detail": {
    "x-limit": [ { "anything-but": [ 100, 200, 300 ] } ]
  }
}`, `{"detail": {"x-limit": 250}}`, true},
	{"anything-but list of numbers, excluded", `{"detail": {"x-limit": [ { "anything-but": [ 100, 200, 300 ] } ]}}`, `{"detail": {"x-limit": 200}}`, false},
	// "matches any event that doesn't have the prefix "init" in the "state" field".
	{"anything-but prefix", `{
  "detail": {
    "state": [ { "anything-but": { "prefix": "init" } } ]
  }
}`, `{"detail": {"state": "running"}}`, true},
	{"anything-but prefix, prefixed", `{"detail": {"state": [ { "anything-but": { "prefix": "init" } } ]}}`, `{"detail": {"state": "initializing"}}`, false},
	// Operators page: "Region is not in the US."
	{"anything-but prefix us-", `{"Region": [ { "anything-but": {"prefix": "us-" } } ]}`, `{"Region": "eu-west-1"}`, true},
	{"anything-but prefix us-, US", `{"Region": [ { "anything-but": {"prefix": "us-" } } ]}`, `{"Region": "us-east-1"}`, false},
	// "FileName does not end with a .png extension."
	{"anything-but suffix", `{"FileName": [ { "anything-but": { "suffix": ".png" } } ]}`, `{"FileName": "a.png"}`, false},
	{"anything-but suffix, other", `{"FileName": [ { "anything-but": { "suffix": ".png" } } ]}`, `{"FileName": "a.jpg"}`, true},
	// "State is any value besides "initializing" or any other casing
	// variation, such as "INITIALIZING"."
	{"anything-but ignoring case", `{"state": [{ "anything-but": { "equals-ignore-case": "initializing" }}]}`, `{"state": "INITIALIZING"}`, false},
	{"anything-but ignoring case, other", `{"state": [{ "anything-but": { "equals-ignore-case": "initializing" }}]}`, `{"state": "running"}`, true},
	// "FileName is not a file path that includes /lib/."
	{"anything-but wildcard", `{"FilePath" : [{ "anything-but": { "wildcard": "*/lib/*" }}]}`, `{"FilePath": "/usr/lib/x.so"}`, false},
	{"anything-but wildcard, other", `{"FilePath" : [{ "anything-but": { "wildcard": "*/lib/*" }}]}`, `{"FilePath": "/usr/bin/x"}`, true},
	// A list of prefixes or suffixes, as EventBridge's matcher
	// (aws/event-ruler) takes them: none of them may match.
	{"anything-but prefix list", `{"Region": [ { "anything-but": {"prefix": ["us-", "ca-"] } } ]}`, `{"Region": "eu-west-1"}`, true},
	{"anything-but prefix list, first", `{"Region": [ { "anything-but": {"prefix": ["us-", "ca-"] } } ]}`, `{"Region": "us-east-1"}`, false},
	{"anything-but prefix list, second", `{"Region": [ { "anything-but": {"prefix": ["us-", "ca-"] } } ]}`, `{"Region": "ca-central-1"}`, false},
	{"anything-but suffix list", `{"FileName": [ { "anything-but": { "suffix": [".png", ".jpg"] } } ]}`, `{"FileName": "a.gif"}`, true},
	{"anything-but suffix list, excluded", `{"FileName": [ { "anything-but": { "suffix": [".png", ".jpg"] } } ]}`, `{"FileName": "a.jpg"}`, false},
	// "$or" is an ordinary field name unless it holds a list of objects of
	// fields (event-ruler's README, "The backward compatibility of using
	// "$or" as field name"): its example, with an object.
	{"$or as a field holding an object", `{
    "source": [ "aws.cloudwatch" ],
    "$or": {
        "metricType": [ "MetricType" ] ,
        "namespace": [ "AWS/EC2", "AWS/ES" ]
    }
}`, `{"source": "aws.cloudwatch", "$or": {"metricType": "MetricType", "namespace": "AWS/ES"}}`, true},
	{"$or as a field holding an object, not in the event", `{"source": [ "aws.cloudwatch" ], "$or": {"metricType": [ "MetricType" ]}}`,
		`{"source": "aws.cloudwatch", "metricType": "MetricType"}`, false},
	{"$or as a field with values", `{"$or": ["a", "b"]}`, `{"$or": "b"}`, true},
	{"$or as a field with values, other", `{"$or": ["a", "b"]}`, `{"$or": "c"}`, false},
	// Objects naming operators make it a field whose values are filters
	// (the README's {"$or": [{"numeric": …}, {"prefix": "abc"}]}).
	{"$or as a field with filters", `{"$or": [ {"numeric": [">", 100]}, {"prefix": "abc"} ]}`, `{"$or": "abcd"}`, true},
	{"$or as a field with filters, numeric", `{"$or": [ {"numeric": [">", 100]}, {"prefix": "abc"} ]}`, `{"$or": 101}`, true},
	{"$or as a field with filters, none", `{"$or": [ {"numeric": [">", 100]}, {"prefix": "abc"} ]}`, `{"$or": 5}`, false},
	// "Region is in the US."
	{"begins with", `{"Region": [ {"prefix": "us-" } ]}`, `{"Region": "us-west-2"}`, true},
	// "Service name starts with the letters "eventb", regardless of case."
	{"begins with ignoring case", `{"service" : [{ "prefix": { "equals-ignore-case": "eventb" }}]}`, `{"service": "EventBridge"}`, true},
	// "LastName is empty."
	{"empty", `{"LastName": [""]}`, `{"LastName": ""}`, true},
	// "Name is "Alice""
	{"equals", `{"Name": [ "Alice" ]}`, `{"Name": "Alice"}`, true},
	{"equals is case-sensitive", `{"Name": [ "Alice" ]}`, `{"Name": "alice"}`, false},
	{"equals ignoring case", `{"Name": [ { "equals-ignore-case": "alice" } ]}`, `{"Name": "ALICE"}`, true},
	// "Service name ends with the letters "tbridge", or any other
	// capitalization of those characters, such as "TBRIDGE"."
	{"ends with ignoring case", `{"service" : [{ "suffix": { "equals-ignore-case": "tBridge" }}]}`, `{"service": "EVENTBRIDGE"}`, true},
	// Numeric: "an event pattern that only matches events that are true for
	// all fields."
	{"numeric", `{
  "detail": {
    "c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ],
    "d-count": [ { "numeric": [ "<", 10 ] } ],
    "x-limit": [ { "numeric": [ "=", 3.018e2 ] } ]
  }
}`, `{"detail": {"c-count": 5, "d-count": 9.5, "x-limit": 301.8}}`, true},
	{"numeric, c-count 0", `{"detail": {"c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ]}}`, `{"detail": {"c-count": 0}}`, false},
	{"numeric, d-count 10", `{"detail": {"d-count": [ { "numeric": [ "<", 10 ] } ]}}`, `{"detail": {"d-count": 10}}`, false},
	{"numeric on a string", `{"detail": {"d-count": [ { "numeric": [ "<", 10 ] } ]}}`, `{"detail": {"d-count": "5"}}`, false},
	// IP address: "IP addresses that start with 10.0.0 and end with a number
	// between 0 and 24" (a /24 network: 10.0.0.0 to 10.0.0.255).
	{"cidr", `{
  "detail": {
    "sourceIPAddress": [ { "cidr": "10.0.0.0/24" } ]
  }
}`, `{"detail": {"sourceIPAddress": "10.0.0.200"}}`, true},
	{"cidr, outside", `{"detail": {"sourceIPAddress": [ { "cidr": "10.0.0.0/24" } ]}}`, `{"detail": {"sourceIPAddress": "10.0.1.1"}}`, false},
	{"cidr ipv6", `{"ip": [ { "cidr": "2001:db8::/32" } ]}`, `{"ip": "2001:db8:1::5"}`, true},
	// Exists: "matches any event that does not have a detail.c-count field."
	{"exists false", `{
  "detail": {
    "c-count": [ { "exists": false  } ]
  }
}`, `{
  "detail-type": [ "EC2 Instance State-change Notification" ],
  "resources": [ "arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341" ],
  "detail": {
    "state": [ "initializing", "running" ]
  }
}`, true},
	// "also matches the following event because c-count isn't a leaf node."
	{"exists false, not a leaf", `{"detail": {"c-count": [ { "exists": false  } ]}}`, `{
  "detail-type": [ "EC2 Instance State-change Notification" ],
  "resources": [ "arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341" ],
  "detail": {
    "state": [ "initializing", "running" ],
    "c-count" : {
       "c1" : 100
    }
  }
}`, true},
	{"exists false, present", `{"detail": {"c-count": [ { "exists": false } ]}}`, `{"detail": {"c-count": 3}}`, false},
	{"exists false, no detail at all", `{"detail": {"c-count": [ { "exists": false } ]}}`, `{"source": "x"}`, true},
	{"exists true", `{"detail": {"state": [ { "exists": true } ]}}`, `{"detail": {"state": "x"}}`, true},
	{"exists true, absent", `{"detail": {"state": [ { "exists": true } ]}}`, `{"detail": {}}`, false},
	// "Complex example with multiple matching"
	{"complex", `{
  "time": [ { "prefix": "2017-10-02" } ],
  "detail": {
    "state": [ { "anything-but": "initializing" } ],
    "c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ],
    "d-count": [ { "numeric": [ "<", 10 ] } ],
    "x-limit": [ { "anything-but": [ 100, 200, 300 ] } ]
  }
}`, `{"time": "2017-10-02T18:43:48Z", "detail": {"state": "running", "c-count": 1, "d-count": 2, "x-limit": 150}}`, true},
	// $or: "matches any event where c-count is greater than 0 and less than or
	// equal to 5, or d-count is less than 10, or x-limit equals 301.8".
	{"$or in detail", `{
  "detail": {
    "$or": [
      { "c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ] },
      { "d-count": [ { "numeric": [ "<", 10 ] } ] },
      { "x-limit": [ { "numeric": [ "=", 3.018e2 ] } ] }
    ]
  }
}`, `{"detail": {"c-count": 50, "x-limit": 301.8}}`, true},
	{"$or in detail, none", `{"detail": {"$or": [{ "c-count": [ { "numeric": [ ">", 0, "<=", 5 ] } ] }, { "d-count": [ { "numeric": [ "<", 10 ] } ] }]}}`,
		`{"detail": {"c-count": 50, "d-count": 50}}`, false},
	// "source is aws.ec2 and either metricName or namespace matches".
	{"$or beside a field", `{
  "source": [ "aws.ec2" ],
  "$or": [
    { "metricName": [ "CPUUtilization", "ReadLatency" ] },
    { "namespace": [ "AWS/EC2", "AWS/ES" ] }
  ]
}`, `{"source": "aws.ec2", "namespace": "AWS/ES"}`, true},
	{"$or beside a field, wrong source", `{"source": [ "aws.ec2" ], "$or": [{ "metricName": [ "CPUUtilization" ] }, { "namespace": [ "AWS/EC2" ] }]}`,
		`{"source": "aws.s3", "namespace": "AWS/EC2"}`, false},
	// Wildcard: "EventBusArn": [ { "wildcard": "arn:aws:events:us-east-1:*:event-bus/*" } ]
	{"wildcard", `{"EventBusArn": [ { "wildcard": "arn:aws:events:us-east-1:*:event-bus/*" } ]}`, `{"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"}`, true},
	{"wildcard, other region", `{"EventBusArn": [ { "wildcard": "arn:aws:events:us-east-1:*:event-bus/*" } ]}`, `{"EventBusArn": "arn:aws:events:eu-west-1:123456789012:event-bus/default"}`, false},
	{"wildcard escaped star", `{"f": [ { "wildcard": "a\\*b*" } ]}`, `{"f": "a*bcd"}`, true},
	{"wildcard escaped star, literal", `{"f": [ { "wildcard": "a\\*b*" } ]}`, `{"f": "axbcd"}`, false},
	// Arrays of objects: any element matching the nested pattern.
	{"list of objects", `{"detail": {"items": {"name": ["b"], "n": [2]}}}`, `{"detail": {"items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]}}`, true},
	{"list of objects, fields from different elements", `{"detail": {"items": {"name": ["b"], "n": [1]}}}`, `{"detail": {"items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]}}`, false},
	{"booleans", `{"detail": {"ok": [true]}}`, `{"detail": {"ok": true}}`, true},
	{"booleans, false", `{"detail": {"ok": [true]}}`, `{"detail": {"ok": false}}`, false},
	{"nested field missing", `{"detail": {"state": ["x"]}}`, `{"source": "x"}`, false},
}

func TestDocumentedExamples(t *testing.T) {
	for _, c := range docCases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Compile([]byte(c.pattern))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			ev, err := DecodeEvent([]byte(c.event))
			if err != nil {
				t.Fatal(err)
			}
			got, why := p.Explain(ev)
			if got != c.want {
				t.Fatalf("Explain = %v (%v), want %v", got, why, c.want)
			}
			if m := p.Match(ev); m != c.want {
				t.Fatalf("Match = %v, Explain = %v", m, got)
			}
			if !got && len(why) == 0 {
				t.Fatal("no explanation for a mismatch")
			}
			// The same through a set.
			s := NewSet()
			s.Add("r", p)
			if names := s.Matching(ev); (len(names) == 1) != c.want {
				t.Fatalf("Set.Matching = %v, want match %v", names, c.want)
			}
		})
	}
}

func TestMatchGoValues(t *testing.T) {
	// Events built in Go rather than decoded: float64 and ints.
	p := MustCompile(`{"detail": {"n": [3], "r": [{"numeric": [">=", 1.5]}], "s": ["x"]}}`)
	if !p.Match(map[string]any{"detail": map[string]any{"n": 3, "r": 2.0, "s": "x"}}) {
		t.Fatal("ints and floats")
	}
	if !p.Match(map[string]any{"detail": map[string]any{"n": float64(3), "r": int64(7), "s": []any{"y", "x"}}}) {
		t.Fatal("float64 3 and int64")
	}
}

func TestExplain(t *testing.T) {
	cases := []struct {
		pattern, event string
		want           []string
	}{
		{`{"detail-type": ["CodePipeline Pipeline Execution State Change"], "detail": {"state": ["SUCCEEDED"]}}`,
			`{"detail-type": "CodePipeline Pipeline Execution State Change", "detail": {"state": "FAILED"}}`,
			[]string{`detail.state: "FAILED" is not one of "SUCCEEDED"`}},
		{`{"source": ["a", "b"], "detail": {"pipeline": ["app"]}}`, `{"source": "c"}`,
			[]string{`source: "c" is not one of "a", "b"`, `detail.pipeline: missing`}},
		{`{"detail": {"state": [{"prefix": "SUCC"}, "FAILED"]}}`, `{"detail": {"state": "STOPPED"}}`,
			[]string{`detail.state: "STOPPED" matches none of: "FAILED", prefix "SUCC"`}},
		{`{"detail": {"n": [{"numeric": [">", 0, "<=", 5]}]}}`, `{"detail": {"n": 9}}`,
			[]string{`detail.n: 9 matches none of: numeric > 0 and <= 5`}},
		{`{"detail": {"c": [{"exists": false}]}}`, `{"detail": {"c": 1}}`,
			[]string{`detail.c: 1 is there, but the pattern wants it absent`}},
		{`{"$or": [{"a": ["1"]}, {"b": ["2"]}]}`, `{"a": "0"}`,
			[]string{`$or: no alternative matches: (1) a: "0" is not one of "1" (2) b: missing`}},
		{`{"detail": {"state": ["x"]}}`, `{"detail": "flat"}`,
			[]string{`detail: "flat", not an object`}},
	}
	for _, c := range cases {
		p := MustCompile(c.pattern)
		ev, err := DecodeEvent([]byte(c.event))
		if err != nil {
			t.Fatal(err)
		}
		ok, why := p.Explain(ev)
		if ok || strings.Join(why, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("pattern %s, event %s:\ngot  %v %q\nwant %q", c.pattern, c.event, ok, why, c.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ pattern, want string }{
		{`{"detail": {"state": [{"prefix": 5}]}}`, `detail.state: "prefix" must be a string`},
		{`{"detail": {"state": "FAILED"}}`, `detail.state: must be a list of values to match (as in ["FAILED"]) or an object of fields, not the string "FAILED"`},
		{`{"detail": {"state": []}}`, `detail.state: an empty list matches nothing: give at least one value`},
		{`{"detail": {"state": [{"prefx": "S"}]}}`, `detail.state: unknown operator "prefx" (did you mean "prefix"?)`},
		{`{"detail": {"state": [{"prefix": "a", "suffix": "b"}]}}`, `detail.state: a filter object holds one operator, not 2 ("prefix", "suffix")`},
		{`{"n": [{"numeric": [">", 5, "<", 1]}]}`, `n: "numeric": the lower bound 5 is not below the upper bound 1`},
		{`{"n": [{"numeric": ["=", 1, "<", 3]}]}`, `n: "numeric": "=" stands alone, without other operators`},
		{`{"n": [{"numeric": [">", "1"]}]}`, `n: "numeric": ">" must be followed by a number, not the string "1"`},
		{`{"n": [{"numeric": [">"]}]}`, `n: "numeric" must be a list of operators and numbers, as in [">", 0, "<=", 5] or ["=", 3]`},
		{`{"n": [{"anything-but": ["a", 1]}]}`, `n: "anything-but" list must hold only strings or only numbers`},
		{`{"n": [{"exists": "yes"}]}`, `n: "exists" must be true or false`},
		{`{"ip": [{"cidr": "10.0.0/8"}]}`, `ip: "cidr": "10.0.0/8" is not an IP network such as 10.0.0.0/24`},
		{`{"f": [{"wildcard": "a**b"}]}`, `f: "wildcard": consecutive wildcard characters (**) are not allowed`},
		{`{"$or": [{"a": ["1"]}]}`, `$or: must be a list of at least two objects, each an alternative set of fields`},
		{`{"r": [{"anything-but": {"prefix": ["a", ""]}}]}`, `r: "anything-but": "prefix" must not be empty`},
		{`{"r": [{"anything-but": {"suffix": [1]}}]}`, `r: "anything-but": "suffix" must be a string or a list of strings`},
		{`{"d": {"$or": [{"a": ["1"]}, {"b": "2"}]}}`, `d.$or[1].b: must be a list of values to match (as in ["2"]) or an object of fields, not the string "2"`},
		{`{"a": ["1"], "a": ["2"]}`, `key "a" given twice`},
		{`["a"]`, `an event pattern must be a JSON object, not a list`},
		{`{}`, `an event pattern must name at least one field`},
		{`{"d": {}}`, `d: an object in a pattern must name at least one field`},
		{`{"a": [[1]]}`, `a: a list inside the list of values matches nothing; flatten it`},
		{`{"a": [`, `invalid JSON: unexpected end`},
	}
	for _, c := range cases {
		_, err := Compile([]byte(c.pattern))
		if err == nil || err.Error() != c.want {
			t.Errorf("Compile(%s) = %v\nwant %s", c.pattern, err, c.want)
		}
	}
}

func TestSetIndex(t *testing.T) {
	s := NewSet()
	s.Add("failed-app", MustCompile(`{"detail-type": ["CodePipeline Pipeline Execution State Change"], "detail": {"pipeline": ["app"], "state": ["FAILED"]}}`))
	s.Add("any-app", MustCompile(`{"detail": {"pipeline": ["app", "web"]}}`))
	s.Add("pushes", MustCompile(`{"source": ["aws.codecommit"]}`))
	s.Add("no-index", MustCompile(`{"detail": {"state": [{"prefix": "FAIL"}]}}`))
	ev := map[string]any{"detail-type": "CodePipeline Pipeline Execution State Change", "source": "aws.codepipeline",
		"detail": map[string]any{"pipeline": "app", "state": "FAILED"}}
	if got := strings.Join(s.Matching(ev), ","); got != "any-app,failed-app,no-index" {
		t.Fatalf("Matching = %s", got)
	}
	s.Remove("any-app")
	s.Add("pushes", MustCompile(`{"source": ["aws.codepipeline"]}`))
	if got := strings.Join(s.Matching(ev), ","); got != "failed-app,no-index,pushes" {
		t.Fatalf("after Remove and Add: Matching = %s", got)
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d", s.Len())
	}
}

// TestRequires: a top-level field is required to hold exact strings only
// when every event the pattern matches holds one of them there.
func TestRequires(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    string // joined by "|"; "*" when anything may match
	}{
		{`{"detail-type": ["B", "A", "B"], "detail": {"state": ["FAILED"]}}`, "A|B"},
		{`{"detail-type": ["A"], "$or": [{"source": ["x"]}, {"source": ["y"]}]}`, "A"},
		{`{"source": ["aws.codecommit"]}`, "*"},
		{`{"detail-type": [{"prefix": "Code"}]}`, "*"},
		{`{"detail-type": ["A", {"prefix": "B"}]}`, "*"},
		{`{"detail-type": [{"exists": true}]}`, "*"},
		{`{"detail-type": ["A", null]}`, "*"},
		{`{"$or": [{"detail-type": ["A"]}, {"detail-type": ["B"]}]}`, "*"},
		{`{"detail": {"detail-type": ["A"]}}`, "*"},
	} {
		vs, ok := MustCompile(c.pattern).Requires("detail-type")
		got := "*"
		if ok {
			got = strings.Join(vs, "|")
		}
		if got != c.want {
			t.Errorf("%s: Requires = %q, want %q", c.pattern, got, c.want)
		}
		// What Requires promises: an event whose field holds none of the
		// values is never matched.
		if ok {
			ev := map[string]any{"detail-type": "C", "source": "x", "detail": map[string]any{"state": "FAILED"}}
			if MustCompile(c.pattern).Match(ev) {
				t.Errorf("%s matches detail-type C", c.pattern)
			}
		}
	}
}
