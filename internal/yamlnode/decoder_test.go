package yamlnode

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// run decodes src with a Decoder made from opts, hands its top mapping to
// read, and returns what read returned, printed with %#v so that nil and empty
// differ, and the problems reported as "line: path: message".
func run(t *testing.T, opts Options, src string, read func(d *Decoder, root *yaml.Node) any) (string, []string) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	var problems []string
	opts.Report = func(line int, path, msg string) {
		problems = append(problems, fmt.Sprintf("%d: %s: %s", line, path, msg))
	}
	d := New(opts)
	return fmt.Sprintf("%#v", read(d, doc.Content[0])), problems
}

// field reads the value of key x in the top mapping with one of Decoder's readers.
func field(reader func(d *Decoder, n *yaml.Node, path string) any) func(d *Decoder, root *yaml.Node) any {
	return func(d *Decoder, root *yaml.Node) any {
		for _, f := range d.Fields(root, "") {
			if f.Key == "x" {
				return reader(d, f.Value, "x")
			}
		}
		return "no x"
	}
}

func keys(d *Decoder, root *yaml.Node) any {
	var out []string
	for _, f := range d.Fields(root, "") {
		out = append(out, fmt.Sprintf("%s@%d", f.Key, f.Line))
	}
	return strings.Join(out, " ")
}

func TestFields(t *testing.T) {
	merge := Options{MergeKeys: true}
	tests := []struct {
		name     string
		opts     Options
		src      string
		want     string
		problems []string
	}{
		{"in file order", Options{}, "b: 1\na: 2\n", `"b@1 a@2"`, nil},
		{"duplicate key", Options{}, "a: 1\nb: 2\na: 3\n", `"a@1 b@2"`, []string{"3: a: given twice (first on line 1)"}},
		{"key that is not a string", Options{}, "? [a]\n: b\nc: 1\n", `"c@3"`, []string{"1: : keys must be strings, not a list"}},
		{"merge key", merge, "a: &a {k: 1}\n<<: *a\n", `"a@1 k@1"`, nil},
		{"merge key is a key without MergeKeys", Options{}, "a: &a {k: 1}\n<<: *a\n", `"a@1 <<@2"`, nil},
		{"written wins over merged", merge, "a: &a {k: 1, j: 2}\n<<: *a\nk: 3\n", `"a@1 k@3 j@1"`, nil},
		{"earlier merged wins over later", merge, "a: &a {k: 1}\nb: &b {k: 2, j: 3}\n<<: [*a, *b]\n", `"a@1 b@2 k@1 j@2"`, nil},
		{"merge of a scalar", merge, "<<: 3\n", `""`,
			[]string{"1: : merge (<<) takes a mapping or a list of mappings, not the number 3"}},
		{"merge of a list of scalars", merge, "<<: [x]\na: 1\n", `"a@2"`,
			[]string{`1: : merge (<<) takes a mapping or a list of mappings, not a list holding "x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := run(t, tt.opts, tt.src, keys)
			if got != tt.want || !reflect.DeepEqual(problems, tt.problems) {
				t.Errorf("got %s %q, want %s %q", got, problems, tt.want, tt.problems)
			}
		})
	}
}

func TestMergeIncludesItself(t *testing.T) {
	_, problems := run(t, Options{MergeKeys: true}, "a: &a {<<: *a, k: 1}\n", func(d *Decoder, root *yaml.Node) any {
		return d.Mapping(root.Content[1], "a")
	})
	want := []string{"1: a: merge (<<) includes itself"}
	if !reflect.DeepEqual(problems, want) {
		t.Errorf("problems %q, want %q", problems, want)
	}
}

func TestReaders(t *testing.T) {
	str := field(func(d *Decoder, n *yaml.Node, p string) any { return d.Str(n, p) })
	integer := field(func(d *Decoder, n *yaml.Node, p string) any { return d.Int(n, p) })
	boolean := field(func(d *Decoder, n *yaml.Node, p string) any { return d.Bool(n, p) })
	strs := field(func(d *Decoder, n *yaml.Node, p string) any { return d.Strings(n, p) })
	oneOrMore := field(func(d *Decoder, n *yaml.Node, p string) any { return d.StringOrList(n, p) })
	mapping := field(func(d *Decoder, n *yaml.Node, p string) any { return len(d.Mapping(n, p)) })
	list := field(func(d *Decoder, n *yaml.Node, p string) any { return len(d.ListOf(n, p, "a list of builds")) })
	tags := Options{CheckTags: true}
	quoted := Options{QuoteScalars: true}
	text := Options{StrconvScalars: true, QuoteScalars: true}
	tests := []struct {
		name     string
		opts     Options
		read     func(d *Decoder, root *yaml.Node) any
		src      string
		want     string
		problems []string
	}{
		{"string", Options{}, str, "x: hello", `"hello"`, nil},
		{"string as written", Options{}, str, "x: 0x1F", `"0x1F"`, nil},
		{"null string", Options{}, str, "x: ~", `""`, nil},
		{"string, not a list", Options{}, str, "x: [1]", `""`, []string{"1: x: must be a string, not a list"}},
		{"application tag", tags, str, "x: !Ref y", `""`, []string{"1: x: YAML tag !Ref is not supported"}},
		{"application tag unchecked", Options{}, str, "x: !Ref y", `"y"`, nil},

		{"number", Options{}, integer, "x: 42", "42", nil},
		{"hexadecimal", Options{}, integer, "x: 0x1F", "31", nil},
		{"null number", Options{}, integer, "x: ~", "0", nil},
		{"clamped", Options{}, integer, "x: 3000000000", "2147483648", nil},
		{"beyond int64", Options{}, integer, "x: 99999999999999999999", "0", []string{"1: x: 99999999999999999999 is out of range"}},
		{"fraction", Options{}, integer, "x: 1.5", "0", []string{"1: x: must be a whole number, not the number 1.5"}},
		{"quoted number", Options{}, integer, `x: "7"`, "0", []string{`1: x: must be a whole number, not "7"`}},
		{"quoted number as text", text, integer, `x: "7"`, "7", nil},
		{"null number as text", text, integer, "x: ~", "0", []string{"1: x: must be a whole number, not null"}},
		{"fraction quoted", text, integer, "x: 1.5", "0", []string{`1: x: must be a whole number, not "1.5"`}},

		{"yes", Options{}, boolean, "x: YES", "true", nil},
		{"false", Options{}, boolean, "x: false", "false", nil},
		{"null bool", Options{}, boolean, "x: ~", "false", nil},
		{"not a bool", Options{}, boolean, "x: maybe", "false", []string{`1: x: must be yes or no (or true or false), not "maybe"`}},
		{"t as text", text, boolean, `x: "t"`, "true", nil},
		{"yes as text", text, boolean, "x: yes", "false", []string{`1: x: must be true or false, not "yes"`}},
		{"number as text", Options{StrconvScalars: true}, boolean, "x: 1", "false", []string{"1: x: must be true or false, not the number 1"}},
		{"null bool as text", text, boolean, "x: ~", "false", []string{"1: x: must be true or false, not null"}},

		{"strings", Options{}, strs, "x: [a, 1, true]", `[]string{"a", "1", "true"}`, nil},
		{"empty strings", Options{}, strs, "x: []", `[]string(nil)`, nil},
		{"one string is not a list", quoted, strs, "x: 8080", `[]string(nil)`, []string{`1: x: must be a list, not "8080"`}},
		{"a list item not a string", Options{}, strs, "x: [a, {b: c}]", `[]string{"a", ""}`, []string{"1: x[1]: must be a string, not a mapping"}},
		{"one string or a list", Options{}, oneOrMore, "x: npm test", `[]string{"npm test"}`, nil},
		{"empty list of strings", Options{}, oneOrMore, "x: []", `[]string{}`, nil},
		{"null list of strings", Options{}, oneOrMore, "x: ~", `[]string(nil)`, nil},
		{"not a list of strings", Options{}, oneOrMore, "x: {a: b}", `[]string(nil)`, []string{"1: x: must be a list of strings, not a mapping"}},

		{"null mapping", Options{}, mapping, "x: ~", "0", nil},
		{"not a mapping", Options{}, mapping, "x: 3", "0", []string{"1: x: must be a mapping, not the number 3"}},
		{"list named", Options{}, list, "x: {a: b}", "0", []string{"1: x: must be a list of builds, not a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := run(t, tt.opts, tt.src, tt.read)
			if got != tt.want || !reflect.DeepEqual(problems, tt.problems) {
				t.Errorf("got %s %q, want %s %q", got, problems, tt.want, tt.problems)
			}
		})
	}
}

func TestScalarHook(t *testing.T) {
	opts := Options{Scalar: func(n *yaml.Node, path string) (string, bool) {
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle != 0 {
			return "{placeholder}", true
		}
		return "", false
	}}
	got, problems := run(t, opts, "x: [{-NAME-}, a, [b]]", field(func(d *Decoder, n *yaml.Node, p string) any {
		return d.Strings(n, p)
	}))
	if want := `[]string{"{placeholder}", "a", ""}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if want := []string{"1: x[2]: must be a string, not a list"}; !reflect.DeepEqual(problems, want) {
		t.Errorf("problems %q, want %q", problems, want)
	}
}

func TestUnknown(t *testing.T) {
	known := []string{"name", "timeoutInMinutes"}
	unknown := func(d *Decoder, root *yaml.Node) any {
		for _, f := range d.Fields(root, "") {
			d.Unknown(f, f.Key, known)
		}
		return nil
	}
	_, problems := run(t, Options{}, "naem: a\nTimeoutInMinutes: 3\nhandler: x\n", unknown)
	want := []string{
		`1: naem: unknown field (did you mean "name"?)`,
		`2: TimeoutInMinutes: unknown field (did you mean "timeoutInMinutes"?)`,
		`3: handler: unknown field`,
	}
	if !reflect.DeepEqual(problems, want) {
		t.Errorf("problems %q, want %q", problems, want)
	}

	var warned []string
	opts := Options{Unknown: func(f Field, path, hint string) {
		warned = append(warned, fmt.Sprintf("%d: %s: unknown key, ignored%s", f.Line, path, hint))
	}}
	_, problems = run(t, opts, "naem: a\n", unknown)
	if want := []string{`1: naem: unknown key, ignored (did you mean "name"?)`}; len(problems) > 0 || !reflect.DeepEqual(warned, want) {
		t.Errorf("problems %q, warnings %q, want no problems and %q", problems, warned, want)
	}
}

func TestLinesAndFailures(t *testing.T) {
	src := `a:
  b:
    - x
    - {c: 1}
  d: [1]
? [k]
: v
`
	for _, failOnBadKey := range []bool{false, true} {
		var d *Decoder
		run(t, Options{FailOnBadKey: failOnBadKey}, src, func(dec *Decoder, root *yaml.Node) any {
			d = dec
			for _, f := range d.Fields(root, "") {
				for _, g := range d.Mapping(f.Value, "a") {
					p := Join("a", g.Key)
					if g.Key == "b" {
						items := d.List(g.Value, p)
						d.Mapping(items[1], Index(p, 1))
						continue
					}
					d.Mapping(g.Value, p)
				}
			}
			return nil
		})
		lines := map[string]int{"a": 1, "a.b": 2, "a.b[0]": 3, "a.b[1]": 4, "a.b[1].c": 4, "a.b[1].c.e": 4, "a.d": 5, "z": 0}
		for p, want := range lines {
			if got := d.LineOf(p); got != want {
				t.Errorf("LineOf(%q) = %d, want %d", p, got, want)
			}
		}
		failed := map[string]bool{"a": failOnBadKey, "a.d": true, "a.d.x": true, "a.b": failOnBadKey, "": failOnBadKey}
		for p, want := range failed {
			if got := d.Failed(p); got != want {
				t.Errorf("FailOnBadKey %v: Failed(%q) = %v, want %v", failOnBadKey, p, got, want)
			}
		}
	}
}

func TestEntriesRecordNoLines(t *testing.T) {
	run(t, Options{}, "a: 1\n", func(d *Decoder, root *yaml.Node) any {
		d.Entries(root, "")
		if l := d.LineOf("a"); l != 0 {
			t.Errorf("LineOf(a) = %d after Entries, want 0", l)
		}
		return nil
	})
}

func TestHasKey(t *testing.T) {
	src := "a: &a {k: 1}\n<<: *a\n!!merge m: 1\n"
	for _, tt := range []struct {
		opts Options
		key  string
		want bool
	}{
		{Options{}, "a", true},
		{Options{}, "k", false},
		{Options{}, "m", true},
		{Options{MergeKeys: true}, "m", false},
	} {
		run(t, tt.opts, src, func(d *Decoder, root *yaml.Node) any {
			if got := d.HasKey(root, tt.key); got != tt.want {
				t.Errorf("MergeKeys %v: HasKey(%q) = %v, want %v", tt.opts.MergeKeys, tt.key, got, tt.want)
			}
			return nil
		})
	}
}

func TestTooLarge(t *testing.T) {
	// Nine lists of ten, each naming the one before ten times: 10⁹ values.
	var b strings.Builder
	b.WriteString("l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i,
			i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	var walk func(d *Decoder, n *yaml.Node, path string)
	walk = func(d *Decoder, n *yaml.Node, path string) {
		if Resolve(n).Kind == yaml.SequenceNode {
			for i, item := range d.List(n, path) {
				walk(d, item, Index(path, i))
			}
		}
	}
	_, problems := run(t, Options{}, b.String(), func(d *Decoder, root *yaml.Node) any {
		for _, f := range d.Fields(root, "") {
			walk(d, f.Value, f.Key)
		}
		return nil
	})
	// Refused at l5 (line 6), whose aliases stand for more than is left.
	want := []string{fmt.Sprintf("6: : too large: more than %d values once aliases are expanded", MaxNodes)}
	if !reflect.DeepEqual(problems, want) {
		t.Errorf("problems %q, want %q", problems, want)
	}
}

func TestDescribeQuoted(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("[8080, true, ~, text, [], {}]"), &doc); err != nil {
		t.Fatal(err)
	}
	want := []string{`"8080"`, `"true"`, "null", `"text"`, "a list", "a mapping"}
	d := New(Options{QuoteScalars: true})
	for i, n := range doc.Content[0].Content {
		if got := d.Describe(n); got != want[i] {
			t.Errorf("Describe(%s) = %s, want %s", n.Value, got, want[i])
		}
	}
}

func TestPaths(t *testing.T) {
	tests := []struct{ path, parent string }{
		{"stages[1].actions[0].name", "stages[1].actions[0]"},
		{"stages[1].actions[0]", "stages[1].actions"},
		{"stages", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Parent(tt.path); got != tt.parent {
			t.Errorf("Parent(%q) = %q, want %q", tt.path, got, tt.parent)
		}
	}
	if got := Join(Index(Join("", "stages"), 1), "name"); got != "stages[1].name" {
		t.Errorf("Join and Index made %q", got)
	}
}
