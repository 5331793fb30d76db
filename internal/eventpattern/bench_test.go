package eventpattern

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

const (
	pipelineEvent = "CodePipeline Pipeline Execution State Change"
	stageEvent    = "CodePipeline Stage Execution State Change"
	actionEvent   = "CodePipeline Action Execution State Change"
)

// benchRules makes n rules of the kinds people write: a pipeline's failures,
// a stage's state by prefix, actions of a provider that did not succeed,
// $or between pipelines, and a few no field of which can be indexed.
func benchRules(n int) []*Pattern {
	var out []*Pattern
	for i := range n {
		p := fmt.Sprintf("p%d", i%100)
		var src string
		switch i % 10 {
		case 0, 1, 2, 3:
			src = fmt.Sprintf(`{"source": ["aws.codepipeline"], "detail-type": [%q], "detail": {"pipeline": [%q], "state": ["FAILED", "STOPPED"]}}`, pipelineEvent, p)
		case 4, 5:
			src = fmt.Sprintf(`{"detail-type": [%q], "detail": {"pipeline": [%q], "stage": [{"prefix": "Dep"}], "state": [{"anything-but": "STARTED"}]}}`, stageEvent, p)
		case 6, 7:
			src = fmt.Sprintf(`{"detail-type": [%q], "detail": {"type": {"provider": ["Commands", "CodeBuild"]}, "pipeline": [{"prefix": %q}], "state": [{"anything-but": ["SUCCEEDED"]}]}}`, actionEvent, p)
		case 8:
			src = fmt.Sprintf(`{"source": ["aws.codepipeline"], "$or": [{"detail": {"pipeline": [%q]}}, {"resources": [{"suffix": ":%s"}]}], "detail": {"state": ["SUCCEEDED"]}}`, p, p)
		case 9:
			src = fmt.Sprintf(`{"detail": {"state": [{"prefix": "FAIL"}], "pipeline": [{"wildcard": "p*%d"}], "attempt": [{"numeric": [">", 1]}]}}`, i%10)
		}
		out = append(out, MustCompile(src))
	}
	return out
}

// benchEvents makes n events as the rule runner sees them.
func benchEvents(n int) []map[string]any {
	rnd := rand.New(rand.NewPCG(1, 2))
	types := []string{pipelineEvent, stageEvent, actionEvent}
	states := []string{"STARTED", "SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED"}
	stages := []string{"Source", "Build", "Deploy"}
	var out []map[string]any
	for i := range n {
		p := fmt.Sprintf("p%d", rnd.IntN(100))
		detail := map[string]any{
			"pipeline": p, "version": 1.0, "execution-id": fmt.Sprintf("e-%d", i),
			"state": states[rnd.IntN(len(states))], "region": "local", "attempt": float64(rnd.IntN(3)),
		}
		t := types[rnd.IntN(len(types))]
		if t != pipelineEvent {
			detail["stage"] = stages[rnd.IntN(len(stages))]
		}
		if t == actionEvent {
			detail["action"] = "run"
			detail["type"] = map[string]any{"owner": "AWS", "provider": []string{"Commands", "Noop", "CodeBuild"}[rnd.IntN(3)], "category": "Build", "version": "1"}
		}
		out = append(out, map[string]any{
			"version": "0", "id": fmt.Sprintf("%020d", i), "detail-type": t, "source": "aws.codepipeline",
			"time": "2026-11-23T10:00:00Z", "region": "local",
			"resources": []any{"arn:aws:codepipeline:us-east-1:000000000000:" + p}, "detail": detail,
		})
	}
	return out
}

// BenchmarkMatch10kEvents1kRules is one iteration: 10,000 events matched
// against 1,000 rules in a Set (the target: under a second).
func BenchmarkMatch10kEvents1kRules(b *testing.B) {
	rules, events := benchRules(1000), benchEvents(10000)
	s := NewSet()
	for i, p := range rules {
		s.Add(fmt.Sprintf("rule-%04d", i), p)
	}
	s.Matching(events[0]) // build the index
	b.ReportAllocs()
	b.ResetTimer()
	matches := 0
	for b.Loop() {
		matches = 0
		for _, ev := range events {
			matches += len(s.Matching(ev))
		}
	}
	b.ReportMetric(float64(matches), "matches")
}

// BenchmarkMatch10kEvents1kRulesNoIndex is the same, every event against
// every pattern: what the index saves.
func BenchmarkMatch10kEvents1kRulesNoIndex(b *testing.B) {
	rules, events := benchRules(1000), benchEvents(10000)
	b.ResetTimer()
	matches := 0
	for b.Loop() {
		matches = 0
		for _, ev := range events {
			for _, p := range rules {
				if p.Match(ev) {
					matches++
				}
			}
		}
	}
	b.ReportMetric(float64(matches), "matches")
}

// TestSetAgreesWithPatterns checks the index against matching every pattern.
func TestSetAgreesWithPatterns(t *testing.T) {
	rules, events := benchRules(300), benchEvents(2000)
	s := NewSet()
	for i, p := range rules {
		s.Add(fmt.Sprintf("rule-%04d", i), p)
	}
	total := 0
	for _, ev := range events {
		var want []string
		for i, p := range rules {
			if p.Match(ev) {
				want = append(want, fmt.Sprintf("rule-%04d", i))
			}
		}
		got := s.Matching(ev)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("event %v: Set says %v, patterns say %v", ev, got, want)
		}
		total += len(got)
	}
	if total == 0 {
		t.Fatal("no event matched any rule: the test proves nothing")
	}
}
