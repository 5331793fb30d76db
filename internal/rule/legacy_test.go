package rule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/eventpattern"
)

func TestLegacySourcesAlias(t *testing.T) {
	ev := func(source, detailType string) map[string]any {
		m, err := eventpattern.DecodeEvent([]byte(`{"source":"` + source + `","detail-type":"` + detailType + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		pattern    string
		deprecated bool
		match      map[string]bool // "source|detail-type" → matches
	}{
		{`{"source":["sluice.codepipeline"]}`, true, map[string]bool{
			"aws.codepipeline|CodePipeline Pipeline Execution State Change": true,
			"sluice.codepipeline|sluice Approval State Change":              true,
			"aws.codecommit|CodeCommit Repository State Change":             false}},
		{`{"$or":[{"source":["sluice.codecommit"]},{"source":["sluice.events"]}]}`, true, map[string]bool{
			"aws.codecommit|CodeCommit Repository State Change": true,
			"aws.events|Scheduled Event":                        true,
			"aws.codepipeline|x":                                false}},
		// sluice's own kinds keep the source: no alias, no warning.
		{`{"source":["sluice.codepipeline"],"detail-type":["sluice Approval State Change","sluice Gate State Change"]}`, false, map[string]bool{
			"sluice.codepipeline|sluice Approval State Change": true,
			"aws.codepipeline|sluice Approval State Change":    false}},
		{`{"source":["aws.codepipeline"]}`, false, map[string]bool{
			"aws.codepipeline|CodePipeline Stage Execution State Change": true,
			"sluice.codepipeline|sluice Lock State Change":               false}},
	} {
		r := &Rule{Name: "r", EventPattern: json.RawMessage(c.pattern)}
		if got := len(r.Deprecations()) > 0; got != c.deprecated {
			t.Errorf("%s: deprecated %v, want %v (%v)", c.pattern, got, c.deprecated, r.Deprecations())
		}
		p, err := r.Pattern()
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range c.match {
			src, dt, _ := strings.Cut(k, "|")
			if got := p.Match(ev(src, dt)); got != want {
				t.Errorf("%s on %s: %v, want %v", c.pattern, k, got, want)
			}
		}
	}
}
