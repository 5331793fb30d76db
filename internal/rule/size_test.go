package rule

import (
	"strings"
	"testing"
)

// TestPatternSizeWhileWritten: a pattern whose aliases stand for more than
// eventpattern.MaxSize bytes of JSON is refused as it is written, not once
// the whole expansion has been built.
func TestPatternSizeWhileWritten(t *testing.T) {
	long := strings.Repeat("x", 1000)
	src := "name: big\neventPattern:\n  source: [sluice]\n  detail:\n" +
		"    l0: &l0 [" + strings.Repeat(long+", ", 9) + long + "]\n" +
		"    l1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]\n" +
		"    l2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]\n" +
		"    l3: [*l2, *l2, *l2, *l2]\n" +
		"targets:\n  - pipeline: {name: app}\n"
	_, err := Parse("big.yml", []byte(src))
	if err == nil {
		t.Fatal("a pattern of 400 KB of JSON was taken")
	}
	if msg := err.Error(); !strings.Contains(msg, "the pattern is larger than 262144 bytes as JSON") || strings.Count(msg, "larger than") != 1 {
		t.Errorf("error:\n%s\nwant one saying the pattern is larger than 262144 bytes as JSON", msg)
	}
}
