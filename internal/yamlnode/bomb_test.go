package yamlnode

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// aliasBomb is a document of about a kilobyte whose "top" stands for 10^levels
// values: each level a list of ten aliases of the one before.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("defs:\n  - &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "  - &a%d [", i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	fmt.Fprintf(&b, "top: *a%d\n", levels-1)
	return b.String()
}

// walk visits every value under n through d, as a decoder turning a value
// into JSON does.
func walk(d *Decoder, n *yaml.Node, path string) {
	n = Resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		for _, f := range d.Fields(n, path) {
			walk(d, f.Value, Join(path, f.Key))
		}
	case yaml.SequenceNode:
		for i, item := range d.List(n, path) {
			walk(d, item, Index(path, i))
		}
	}
}

// TestAliasBombChargedWhenResolved: an alias is charged the whole tree it
// stands for when it is handed out, so a bomb is refused at once, having
// walked almost nothing, rather than after MaxNodes values (which took 12 s
// and gigabytes for a rule's eventPattern).
func TestAliasBombChargedWhenResolved(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(aliasBomb(9)), &doc); err != nil {
		t.Fatal(err)
	}
	var problems []string
	d := New(Options{Report: func(line int, path, msg string) { problems = append(problems, fmt.Sprintf("%d: %s", line, msg)) }})
	root := Resolve(doc.Content[0])
	for _, f := range d.Fields(root, "") {
		if f.Key == "top" {
			walk(d, f.Value, "top")
		}
	}
	want := fmt.Sprintf("too large: more than %d values once aliases are expanded", MaxNodes)
	if len(problems) != 1 || !strings.Contains(problems[0], want) {
		t.Fatalf("problems = %q, want one saying %q", problems, want)
	}
	if len(d.lines) > 100 {
		t.Errorf("the decoder walked %d values of the bomb before refusing it", len(d.lines))
	}
}

// TestAliasesWithinBudget: aliases that expand to little are read as before.
func TestAliasesWithinBudget(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(aliasBomb(3)), &doc); err != nil {
		t.Fatal(err)
	}
	var problems []string
	d := New(Options{Report: func(line int, path, msg string) { problems = append(problems, msg) }})
	walk(d, doc.Content[0], "")
	if len(problems) != 0 {
		t.Fatalf("problems: %q", problems)
	}
	if _, ok := d.lines["top[9][9][9]"]; !ok {
		t.Error("the last value of top was not reached")
	}
}
