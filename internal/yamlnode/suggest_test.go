package yamlnode

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	fields := []string{"name", "runOrder", "timeoutInMinutes", "pre_build", "build", "jsonPath"}
	tests := []struct {
		word, want string
	}{
		{"naem", "name"},
		{"bulid", "build"},
		{"RunOrder", "runOrder"},
		{"JsonPath", "jsonPath"},
		{"pre-build", "pre_build"},
		{"timeoutInMinute", "timeoutInMinutes"},
		{"handler", ""},
		{"x", ""},
		{"name", ""}, // a candidate is no typo of itself
		{strings.Repeat("n", 41), ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.word, fields); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
	many := make([]string, maxSuggestCandidates+1)
	for i := range many {
		many[i] = "name"
	}
	if got := Suggest("naem", many); got != "" {
		t.Errorf("Suggest among %d candidates = %q, want none", len(many), got)
	}
}

func TestHintsAllowance(t *testing.T) {
	var h Hints
	long := strings.Repeat("n", maxSuggestWord+1)
	for i := 0; i < 10; i++ {
		// Words too long to suggest for cost nothing.
		h.DidYouMean(long, []string{"name"})
	}
	for i := 0; i < MaxSuggestions; i++ {
		if got := h.DidYouMean("naem", []string{"name"}); got != ` (did you mean "name"?)` {
			t.Fatalf("suggestion %d = %q", i, got)
		}
	}
	if got := h.DidYouMean("naem", []string{"name"}); got != "" {
		t.Errorf("suggestion beyond the allowance = %q, want none", got)
	}
}
