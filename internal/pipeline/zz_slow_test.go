package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestZZSlow(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: a\nstages: []\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "k%d%s: 1\n", i, strings.Repeat("x", 250))
	}
	cases := map[string]string{"long unknown keys": b.String()}
	b.Reset()
	b.WriteString("name: a\nvariables:\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "  - name: v%d\n", i)
	}
	b.WriteString("stages:\n  - name: S\n    actions:\n      - name: A\n        provider: Commands\n        commands:\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "          - \"echo #{variables.w%d}\"\n", i)
	}
	cases["many vars and refs"] = b.String()
	b.Reset()
	b.WriteString("name: a\nstages:\n  - name: S\n    actions:\n      - name: A\n        provider: Commands\n        commands: &c0 [")
	for i := 0; i < 100; i++ { b.WriteString("a,") }
	b.WriteString("a]\n")
	b.WriteString("      - &a1 {name: B, provider: Commands, commands: *c0}\n")
	for i := 0; i < 2000; i++ { b.WriteString("      - *a1\n") }
	cases["alias actions"] = b.String()
	for name, src := range cases {
		start := time.Now()
		_, err := Parse("x.yml", []byte(src))
		n := 0
		if err != nil { n = len(err.(ErrorList)) }
		t.Logf("%s: %d bytes, %v, %d errors", name, len(src), time.Since(start), n)
	}
}
