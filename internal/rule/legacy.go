package rule

import (
	"encoding/json"
	"fmt"
	"strings"
)

// legacySources are the sources sluice's events said before they said AWS's
// (aws.codepipeline, aws.codecommit). A pattern that still names one matches
// the new source too, so rules written before keep matching; sluice's own
// kinds (approvals, gates, locks) still say sluice.codepipeline.
var legacySources = map[string]string{
	"sluice.codepipeline": "aws.codepipeline",
	"sluice.codecommit":   "aws.codecommit",
	"sluice.events":       "aws.events",
}

// Deprecations says what in the rule still works but should change: each
// legacy source its pattern names, with the one to write instead.
func (r *Rule) Deprecations() []string {
	_, legacy := withAliases(r.EventPattern)
	var out []string
	for _, l := range legacy {
		out = append(out, fmt.Sprintf("rule %s: eventPattern.source %q is deprecated: write %q, the source sluice's events carry now (as AWS's do); until the old name is removed it matches both",
			r.Name, l, legacySources[l]))
	}
	return out
}

// withAliases returns the pattern with AWS's source added beside each legacy
// source a "source" list names (at the top, or in a top-level "$or"), and
// the legacy sources it found. A pattern it cannot read is returned as it is,
// for Compile to report.
func withAliases(pattern json.RawMessage) (json.RawMessage, []string) {
	if len(pattern) == 0 {
		return pattern, nil
	}
	var top map[string]any
	if json.Unmarshal(pattern, &top) != nil {
		return pattern, nil
	}
	var found []string
	alias := func(obj map[string]any) {
		list, ok := obj["source"].([]any)
		if !ok {
			return
		}
		for _, v := range list {
			s, ok := v.(string)
			if !ok {
				continue
			}
			if s == "sluice.codepipeline" && onlySluiceKinds(obj["detail-type"]) {
				continue // approvals, gates and locks: the source is still theirs
			}
			if to, ok := legacySources[s]; ok {
				found = append(found, s)
				list = append(list, to)
			}
		}
		obj["source"] = list
	}
	alias(top)
	if ors, ok := top["$or"].([]any); ok {
		for _, o := range ors {
			if m, ok := o.(map[string]any); ok {
				alias(m)
			}
		}
	}
	if len(found) == 0 {
		return pattern, nil
	}
	out, err := json.Marshal(top)
	if err != nil {
		return pattern, nil
	}
	return out, found
}

// onlySluiceKinds reports whether a detail-type list names only sluice's own
// kinds ("sluice Approval State Change", …), which keep sluice.codepipeline.
func onlySluiceKinds(v any) bool {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return false
	}
	for _, e := range list {
		s, ok := e.(string)
		if !ok || !strings.HasPrefix(s, "sluice ") {
			return false
		}
	}
	return true
}
