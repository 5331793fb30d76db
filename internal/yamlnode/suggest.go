package yamlnode

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
	// MaxSuggestions bounds how many suggestions one Hints makes.
	MaxSuggestions = 100
)

// Suggest returns the candidate closest to word, or "" when none is close
// enough to be a plausible typo: a third of the candidate's length in edits,
// from one to three. Case is ignored, because CloudFormation's PascalCase
// (RunOrder, ActionTypeId) is the commonest way people get field names wrong,
// and so is - against _ (pre-build for pre_build).
func Suggest(word string, candidates []string) string {
	wl := utf8.RuneCountInString(word)
	if wl > maxSuggestWord || len(candidates) > maxSuggestCandidates {
		return ""
	}
	w := fold(word)
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
		if d := editDistance(w, fold(c)); d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

func fold(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "-", "_")
}

// Hints hands out suggestions, formatted for the end of a message, until
// its allowance of MaxSuggestions runs out. The zero value is ready.
type Hints struct {
	used int
}

// DidYouMean returns ` (did you mean "x"?)` for Suggest's answer, or "".
// Only a call that could suggest something counts against the allowance.
func (h *Hints) DidYouMean(word string, candidates []string) string {
	if h.used >= MaxSuggestions || utf8.RuneCountInString(word) > maxSuggestWord || len(candidates) > maxSuggestCandidates {
		return ""
	}
	h.used++
	if s := Suggest(word, candidates); s != "" {
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
