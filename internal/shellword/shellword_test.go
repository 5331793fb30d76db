package shellword

import (
	"os/exec"
	"testing"
)

// Whatever the string, sh reads the quoted word back as exactly that string.
func TestQuoteReadsBack(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", "'", "''", `a\b`, "$HOME `id` $(id)", "two\nlines", "* ? [a]", "-n"} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+Quote(s)).Output()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if string(out) != s {
			t.Errorf("Quote(%q) read back as %q", s, out)
		}
	}
}
