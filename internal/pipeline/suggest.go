package pipeline

import (
	"strconv"
	"strings"
)

// suggest returns the candidate closest to word, or "" when none is close
// enough to be a plausible typo. Case is ignored when measuring, because
// CloudFormation's PascalCase (RunOrder, ActionTypeId) is the most common way
// people get CodePipeline's field names wrong.
func suggest(word string, candidates []string) string {
	lw := strings.ToLower(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		if c == word {
			continue
		}
		d := levenshtein(lw, strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	limit := len([]rune(best)) / 3
	if limit < 1 {
		limit = 1
	}
	if limit > 3 {
		limit = 3
	}
	if bestDist > limit {
		return ""
	}
	return best
}

// didYouMean formats suggest's answer for the end of an error message.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return " (did you mean " + strconv.Quote(s) + "?)"
	}
	return ""
}

// levenshtein is the edit distance between a and b, counted in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Inputs are field and provider names; an attacker-sized word would only
	// make a slow suggestion, so cap the work rather than the input.
	if len(ra) > 256 || len(rb) > 256 {
		return len(ra) + len(rb)
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
