package webhook

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzParseDefinition checks that no input makes ParseDefinition panic, and
// that what it accepts is valid.
func FuzzParseDefinition(f *testing.F) {
	f.Add("hook.yml", "name: a\ntargetPipeline: p\ntargetAction: S\nauthentication: IP\nauthenticationConfiguration: {AllowedIPRange: 10.0.0.0/8}\n")
	f.Add("hook.json", `{"webhook": {"name": "a", "filters": [{"jsonPath": "$.ref", "matchEquals": "x"}]}}`)
	f.Add("hook", "a: &x [*x]\n")
	f.Fuzz(func(t *testing.T, name, src string) {
		d, err := ParseDefinition(name, []byte(src))
		if err == nil {
			if verr := d.Validate(); verr != nil {
				t.Errorf("accepted an invalid definition: %v", verr)
			}
		}
	})
}

// FuzzBody checks that no body makes Match or ParsePush panic.
func FuzzBody(f *testing.F) {
	f.Add(`{"ref": "refs/heads/main", "commits": [{"added": ["a"]}]}`)
	f.Add(`payload=%7B%7D`)
	f.Add(`[[[[[[]]]]]]`)
	d := &Definition{Name: "f", Filters: []Filter{{JSONPath: "$..id", MatchEquals: "x"}, {JSONPath: "$.a[?(@.b == 1)]"}}}
	r := httptest.NewRequest(http.MethodPost, "/webhooks/f", nil)
	r.Header.Set("X-Gitlab-Event", "Push Hook")
	f.Fuzz(func(t *testing.T, body string) {
		_, _ = d.Match([]byte(body), func(string) string { return "x" })
		_, _ = ParsePush(r, []byte(body))
	})
}
