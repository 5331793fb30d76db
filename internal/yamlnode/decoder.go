package yamlnode

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"gopkg.in/yaml.v3"
)

// MaxNodes bounds the work one file can cause. Aliases let a small file name
// the same subtree many times over; without a bound, a few kilobytes could
// expand into billions of values.
const MaxNodes = 1_000_000

// Options are what tells one decoder's files from another's. The zero value
// of each flag is the plainer reading.
type Options struct {
	// Report receives every problem, with the line it is on and the path
	// of the field it is about. It is required.
	Report func(line int, path, msg string)

	// Unknown, when set, is told of every field given to Decoder.Unknown,
	// with its did-you-mean hint (` (did you mean "x"?)`, or ""), in place
	// of the error "unknown field". Buildspecs warn and go on.
	Unknown func(f Field, path, hint string)

	// Scalar, when set, is offered every value Decoder.Scalar reads, once
	// its tag has passed; if it returns ok, its text is the value.
	// Buildspecs read an unfilled template placeholder ({-NAME-}, a flow
	// mapping to YAML) as the text it was meant to be.
	Scalar func(n *yaml.Node, path string) (text string, ok bool)

	// MergeKeys expands YAML merge keys (<<: *base). Without it, << is a
	// key like any other.
	MergeKeys bool

	// CheckTags refuses application tags such as CloudFormation's !Ref,
	// which would otherwise pass as plain values and silently lose their
	// meaning. Without it, a tagged value reads as if it had no tag.
	CheckTags bool

	// FailOnBadKey marks a mapping holding a key that is not a string as
	// not decoded (see Failed), so that its fields' zero values draw no
	// further complaints.
	FailOnBadKey bool

	// QuoteScalars names every scalar in messages by its quoted text
	// ("8080", "true"), where Describe says the number 8080 and true.
	QuoteScalars bool

	// StrconvScalars makes Int and Bool parse a scalar's text with
	// strconv.Atoi and strconv.ParseBool (the latter for booleans and
	// strings only), so that "30" in quotes is 30, and refuse null. Without
	// it Int takes YAML's integers only, Bool takes yes, no, true and false
	// in any case, and null is 0 and false.
	StrconvScalars bool
}

// Decoder reads values out of a node tree for a decoder of a particular
// kind of file, which embeds it. It never stops at the first problem: each is
// reported through Options.Report and the walk goes on, so one run finds
// them all. It remembers the line of every field and list item it hands out,
// so that problems found later, which know only paths, can be placed, and
// the paths whose values could not be decoded, so that those draw no second
// complaint. A Decoder reads one file, from one goroutine.
type Decoder struct {
	opts    Options
	lines   map[string]int
	bad     map[string]bool
	budget  int
	merging map[*yaml.Node]bool
	hints   Hints
	sizes   map[*yaml.Node]int // treeSize's memo
}

// New returns a Decoder for one file.
func New(opts Options) *Decoder {
	return &Decoder{
		opts:    opts,
		lines:   map[string]int{},
		bad:     map[string]bool{},
		budget:  MaxNodes,
		merging: map[*yaml.Node]bool{},
		sizes:   map[*yaml.Node]int{},
	}
}

// Field is one entry of a mapping: its key, the key's line, and its value
// (not resolved: it may be an alias).
type Field struct {
	Key   string
	Line  int
	Value *yaml.Node
}

// Errorf reports a problem at line about path.
func (d *Decoder) Errorf(line int, path, format string, args ...any) {
	d.opts.Report(line, path, fmt.Sprintf(format, args...))
}

// Describe names what n is, as Describe does or, with QuoteScalars, with
// every scalar quoted.
func (d *Decoder) Describe(n *yaml.Node) string {
	if d.opts.QuoteScalars {
		return describeQuoted(n)
	}
	return Describe(n)
}

// TypeError reports a value of the wrong shape ("must be a list, not a
// mapping") and marks its path as not decoded.
func (d *Decoder) TypeError(n *yaml.Node, path, want string) {
	d.bad[path] = true
	d.Errorf(n.Line, path, "must be %s, not %s", want, d.Describe(n))
}

// yamlTags are the tags of YAML's core schema, which is all sluice reads.
var yamlTags = map[string]bool{
	"": true, "!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!merge": true, "!!timestamp": true, "!!binary": true,
}

// TagOK reports whether n's tag may be read. With CheckTags, an application
// tag is reported and its path marked as not decoded.
func (d *Decoder) TagOK(n *yaml.Node, path string) bool {
	if !d.opts.CheckTags || yamlTags[n.Tag] {
		return true
	}
	d.bad[path] = true
	d.Errorf(n.Line, path, "YAML tag %s is not supported", n.Tag)
	return false
}

// spend charges n values against the file's budget and reports whether any
// is left; the first time none is, it says so.
func (d *Decoder) spend(n, line int) bool {
	if d.budget < 0 {
		return false
	}
	d.budget -= n
	if d.budget < 0 {
		d.Errorf(line, "", "too large: more than %d values once aliases are expanded", MaxNodes)
		return false
	}
	return true
}

// spendAliases charges, for every alias among nodes, the whole tree it
// stands for, as it is handed out: an alias bomb (a list of ten aliases of a
// list of ten aliases of …) then runs out of budget at its first level, in
// time proportional to its text, instead of after a million values have been
// walked. A subtree reached through an alias is charged again as it is
// walked; the budget is generous enough for that.
func (d *Decoder) spendAliases(nodes []*yaml.Node) bool {
	for _, n := range nodes {
		if n != nil && n.Kind == yaml.AliasNode {
			if !d.spend(d.treeSize(n, 0), n.Line) {
				return false
			}
		}
	}
	return true
}

// treeSize counts the values n stands for once its aliases are expanded,
// capped just above MaxNodes. Sizes are remembered per node, so the count
// costs one visit of each node written.
func (d *Decoder) treeSize(n *yaml.Node, depth int) int {
	if n == nil || depth > 10_000 {
		return 1
	}
	if s, ok := d.sizes[n]; ok {
		return s
	}
	// A cycle (&a [*a], or a merge of itself) counts its node once here; it
	// is reported, or runs out of budget, as it is walked.
	d.sizes[n] = 1
	size := 1
	if n.Kind == yaml.AliasNode {
		size = d.treeSize(n.Alias, depth+1)
	} else {
		for _, c := range n.Content {
			size += d.treeSize(c, depth+1)
			if size > MaxNodes {
				size = MaxNodes + 1
				break
			}
		}
	}
	d.sizes[n] = size
	return size
}

// Mapping returns the fields of n, or reports that n is not a mapping. Null
// is an empty mapping.
func (d *Decoder) Mapping(n *yaml.Node, path string) []Field {
	n = Resolve(n)
	if IsNull(n) || !d.TagOK(n, path) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.TypeError(n, path, "a mapping")
		return nil
	}
	return d.Fields(n, path)
}

// Fields returns the entries of mapping m, the one at path, in the order
// written, with duplicate keys reported and, with MergeKeys, merge keys (<<)
// expanded: entries written in m win over merged ones, as the merge-key
// spec says. It records the line of each field it returns.
func (d *Decoder) Fields(m *yaml.Node, path string) []Field {
	out := d.Entries(m, path)
	for _, f := range out {
		d.lines[Join(path, f.Key)] = f.Line
	}
	return out
}

// Entries is Fields without recording lines, for a wrapper whose keys share
// paths with the fields of what it wraps, as put-webhook's {"webhook": {...}}
// does: a key misplaced in the wrapper is not where the wrapped one is
// missing.
func (d *Decoder) Entries(m *yaml.Node, path string) []Field {
	if !d.spend(len(m.Content)/2, m.Line) || !d.spendAliases(m.Content) {
		return nil
	}
	var out, merged []Field
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := Resolve(m.Content[i]), m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			if d.opts.FailOnBadKey {
				d.bad[path] = true
			}
			d.Errorf(k.Line, path, "keys must be strings, not %s", d.Describe(k))
			continue
		}
		if k.Tag == "!!merge" && d.opts.MergeKeys {
			merged = append(merged, d.merge(v, path)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.Errorf(k.Line, Join(path, k.Value), "given twice (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, Field{Key: k.Value, Line: k.Line, Value: v})
	}
	for _, f := range merged {
		if _, dup := seen[f.Key]; !dup {
			seen[f.Key] = f.Line
			out = append(out, f)
		}
	}
	return out
}

// merge returns the fields a merge key's value v brings into the mapping at
// path.
func (d *Decoder) merge(v *yaml.Node, path string) []Field {
	v = Resolve(v)
	switch v.Kind {
	case yaml.MappingNode:
		if d.merging[v] {
			d.Errorf(v.Line, path, "merge (<<) includes itself")
			return nil
		}
		d.merging[v] = true
		defer delete(d.merging, v)
		return d.Entries(v, path)
	case yaml.SequenceNode:
		// Earlier mappings in the list win over later ones.
		var out []Field
		seen := map[string]bool{}
		for _, item := range v.Content {
			item = Resolve(item)
			if item.Kind != yaml.MappingNode {
				d.Errorf(item.Line, path, "merge (<<) takes a mapping or a list of mappings, not a list holding %s", d.Describe(item))
				continue
			}
			for _, f := range d.merge(item, path) {
				if !seen[f.Key] {
					seen[f.Key] = true
					out = append(out, f)
				}
			}
		}
		return out
	}
	d.Errorf(v.Line, path, "merge (<<) takes a mapping or a list of mappings, not %s", d.Describe(v))
	return nil
}

// List returns the items of sequence n, not nil even when there are none,
// or reports that n is not a list and returns nil. Null is nil too. It
// records the line of each item.
func (d *Decoder) List(n *yaml.Node, path string) []*yaml.Node {
	return d.ListOf(n, path, "a list")
}

// ListOf is List with what the list should be named in a type error:
// "a list of builds".
func (d *Decoder) ListOf(n *yaml.Node, path, want string) []*yaml.Node {
	n = Resolve(n)
	if IsNull(n) || !d.TagOK(n, path) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.TypeError(n, path, want)
		return nil
	}
	if !d.spend(len(n.Content), n.Line) || !d.spendAliases(n.Content) {
		return nil
	}
	for i, item := range n.Content {
		d.lines[Index(path, i)] = Resolve(item).Line
	}
	if n.Content == nil {
		return []*yaml.Node{}
	}
	return n.Content
}

// Scalar returns the text of a scalar exactly as written, so `false` is
// "false" and `0x1F` stays "0x1F"; null is "". Anything else is reported as
// not being want.
func (d *Decoder) Scalar(n *yaml.Node, path, want string) string {
	n = Resolve(n)
	if !d.TagOK(n, path) {
		return ""
	}
	if d.opts.Scalar != nil {
		if s, ok := d.opts.Scalar(n, path); ok {
			return s
		}
	}
	if n.Kind != yaml.ScalarNode {
		d.TypeError(n, path, want)
		return ""
	}
	if IsNull(n) {
		return ""
	}
	return n.Value
}

// Str reads a string: any scalar, as Scalar does.
func (d *Decoder) Str(n *yaml.Node, path string) string {
	return d.Scalar(n, path, "a string")
}

// Strings reads a list of strings. Null and an empty list are nil.
func (d *Decoder) Strings(n *yaml.Node, path string) []string {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	return d.strs(items, path)
}

// StringOrList reads a list of strings, or one string standing for a list
// of one, as in a buildspec's `commands: npm install`. Null is nil; an empty
// list is empty but not nil.
func (d *Decoder) StringOrList(n *yaml.Node, path string) []string {
	n = Resolve(n)
	if IsNull(n) || !d.TagOK(n, path) {
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}
	case yaml.SequenceNode:
		return d.strs(d.List(n, path), path)
	}
	d.TypeError(n, path, "a list of strings")
	return nil
}

func (d *Decoder) strs(items []*yaml.Node, path string) []string {
	out := make([]string, len(items))
	for i, item := range items {
		out[i] = d.Str(item, Index(path, i))
	}
	return out
}

// digitsRE matches what yaml.v3 reads as a float only because it is too
// large for an int64.
var digitsRE = lazyregexp.New(`^[-+]?[0-9_]+$`)

// Int reads a whole number. A YAML integer beyond ±2³¹ is clamped rather
// than wrapped, so validation still sees a value out of its range; one beyond
// int64 is reported. With StrconvScalars, see Options.
func (d *Decoder) Int(n *yaml.Node, path string) int {
	n = Resolve(n)
	if d.opts.StrconvScalars {
		v, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || IsNull(n) || err != nil {
			d.TypeError(n, path, "a whole number")
			return 0
		}
		return v
	}
	if IsNull(n) {
		return 0
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!float" && digitsRE.MatchString(n.Value) {
		d.bad[path] = true
		d.Errorf(n.Line, path, "%s is out of range", n.Value)
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.TypeError(n, path, "a whole number")
		return 0
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		d.bad[path] = true
		d.Errorf(n.Line, path, "%s is out of range", n.Value)
		return 0
	}
	const limit = 1 << 31
	return int(min(max(v, -limit), limit))
}

// Bool reads yes, no, true or false, in any case: the forms CodeBuild
// accepts. With StrconvScalars, see Options.
func (d *Decoder) Bool(n *yaml.Node, path string) bool {
	n = Resolve(n)
	if d.opts.StrconvScalars {
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!bool" && n.Tag != "!!str") || err != nil {
			d.TypeError(n, path, "true or false")
			return false
		}
		return b
	}
	if IsNull(n) || !d.TagOK(n, path) {
		return false
	}
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "yes", "true":
			return true
		case "no", "false":
			return false
		}
	}
	d.TypeError(n, path, "yes or no (or true or false)")
	return false
}

// HasKey reports whether mapping m has key written in it, as Fields would
// return it: with MergeKeys, a merge key's value does not count.
func (d *Decoder) HasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := Resolve(m.Content[i])
		if k.Kind == yaml.ScalarNode && k.Value == key && !(d.opts.MergeKeys && k.Tag == "!!merge") {
			return true
		}
	}
	return false
}

// Unknown reports a field the file's format does not have, suggesting the
// member of known it is most likely a typo of: as the error "unknown field",
// or through Options.Unknown.
func (d *Decoder) Unknown(f Field, path string, known []string) {
	hint := d.DidYouMean(f.Key, known)
	if d.opts.Unknown != nil {
		d.opts.Unknown(f, path, hint)
		return
	}
	d.Errorf(f.Line, path, "unknown field%s", hint)
}

// DidYouMean is Hints.DidYouMean, with an allowance for the whole file.
func (d *Decoder) DidYouMean(word string, candidates []string) string {
	return d.hints.DidYouMean(word, candidates)
}

// SetLine records the line of path, for one not handed out by Fields or List.
func (d *Decoder) SetLine(path string, line int) {
	d.lines[path] = line
}

// LineOf returns the line of path, or of its nearest parent that has one (a
// missing field is best reported where its parent is), or 0.
func (d *Decoder) LineOf(path string) int {
	for p := path; ; p = Parent(p) {
		if l, ok := d.lines[p]; ok {
			return l
		}
		if p == "" {
			return 0
		}
	}
}

// Fail marks path as not decoded, for a problem the caller reported itself.
func (d *Decoder) Fail(path string) {
	d.bad[path] = true
}

// Failed reports whether path, or a parent of it, could not be decoded: a
// complaint about its zero value would only repeat the one already made.
func (d *Decoder) Failed(path string) bool {
	for p := path; ; p = Parent(p) {
		if d.bad[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}
