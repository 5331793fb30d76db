package pipeline

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Suggestions are for typos in names a person wrote, so long words and long
// candidate lists get none: that bounds the work a hostile file can cause.
const (
	maxSuggestWord       = 40
	maxSuggestCandidates = 1000
	// maxSuggestions bounds how many suggestions one Parse or Validate makes.
	maxSuggestions = 100
)

// suggest returns the candidate closest to word, or "" when none is close
// enough to be a plausible typo. Case is ignored when measuring, because
// CloudFormation's PascalCase (RunOrder, ActionTypeId) is the most common way
// people get CodePipeline's field names wrong.
func suggest(word string, candidates []string) string {
	wl := utf8.RuneCountInString(word)
	if wl > maxSuggestWord || len(candidates) > maxSuggestCandidates {
		return ""
	}
	lw := strings.ToLower(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		if c == word {
			continue
		}
		cl := utf8.RuneCountInString(c)
		limit := min(max(cl/3, 1), 3)
		if cl-wl > limit || wl-cl > limit {
			continue
		}
		d := editDistance(lw, strings.ToLower(c))
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// hinter hands out suggestions until its allowance runs out.
type hinter struct {
	used int
}

// didYouMean formats suggest's answer for the end of an error message.
func (h *hinter) didYouMean(word string, candidates []string) string {
	if h.used >= maxSuggestions {
		return ""
	}
	h.used++
	if s := suggest(word, candidates); s != "" {
		return " (did you mean " + strconv.Quote(s) + "?)"
	}
	return ""
}

// editDistance is the edit distance between a and b, counted in runes, with
// a swap of two neighbours counting as one edit (optimal string alignment):
// "bulid" is one typo away from "build", not two.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
