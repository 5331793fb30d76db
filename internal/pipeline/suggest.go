package pipeline

import "github.com/sluice-ci/sluice/internal/yamlnode"

// maxSuggestions bounds how many suggestions one Parse or Validate makes.
const maxSuggestions = yamlnode.MaxSuggestions

// hinter hands out yamlnode's suggestions for validation's messages.
type hinter struct {
	yamlnode.Hints
}

// didYouMean formats a suggestion for the end of an error message.
func (h *hinter) didYouMean(word string, candidates []string) string {
	return h.DidYouMean(word, candidates)
}
