package buildspec

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Suggestions are for typos in keys a person wrote; long words and a file
// full of unknown keys get none, which bounds the work a hostile file causes.
const (
	maxSuggestWord = 40
	maxSuggestions = 100
)

// didYouMean returns ` (did you mean "x"?)` for the candidate closest to
// word, or "" when none is a plausible typo. Case, and - against _, are
// ignored: pre-build for pre_build is the commonest slip.
func (d *decoder) didYouMean(word string, candidates []string) string {
	if d.hints >= maxSuggestions || utf8.RuneCountInString(word) > maxSuggestWord {
		return ""
	}
	d.hints++
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }
	w := norm(word)
	wl := utf8.RuneCountInString(w)
	best, bestDist := "", -1
	for _, c := range candidates {
		cl := utf8.RuneCountInString(c)
		limit := min(max(cl/3, 1), 3)
		if cl-wl > limit || wl-cl > limit {
			continue
		}
		if dist := editDistance(w, norm(c)); dist <= limit && (bestDist < 0 || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

// editDistance counts the edits between a and b in runes, a swap of two
// neighbours counting as one.
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
