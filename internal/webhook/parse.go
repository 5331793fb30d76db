package webhook

import (
	"fmt"
	"github.com/sluice-ci/sluice/internal/yamlnode"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// ParseDefinition reads a webhook definition for `sluice webhook apply -f`,
// in YAML or JSON: CodePipeline's WebhookDefinition itself, or the input of
// `aws codepipeline put-webhook --cli-input-json`, which wraps it as
// {"webhook": {...}, "tags": [...]} (tags are ignored). filename is used in
// errors and to tell JSON from YAML. On failure the error is a
// pipeline.ErrorList holding every problem, in file order, each naming file,
// line and field, as pipeline.Parse does.
func ParseDefinition(filename string, data []byte) (*Definition, error) {
	root, perr := pipeline.ReadDocument(filename, data, "webhook definition")
	if perr != nil {
		return nil, pipeline.ErrorList{perr}
	}
	d := &decoder{file: filename, lines: map[string]int{}, bad: map[string]bool{}}
	def := d.document(root)
	if def == nil {
		return nil, d.sorted()
	}
	var problems pipeline.ErrorList
	if err := def.Validate(); err != nil {
		problems, _ = err.(pipeline.ErrorList)
	}
	for _, e := range problems {
		if d.failed(e.Path) {
			// Its value did not decode; the zero value's complaint
			// would only repeat the one already made.
			continue
		}
		e.File, e.Line = filename, d.lineOf(e.Path)
		d.errs = append(d.errs, e)
	}
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return def, nil
}

var (
	wrapperFields    = []string{"webhook", "tags"}
	definitionFields = []string{"name", "targetPipeline", "targetAction", "filters", "authentication", "authenticationConfiguration"}
	filterFields     = []string{"jsonPath", "matchEquals"}
	authConfigFields = []string{"SecretToken", "AllowedIPRange"}
)

// decoder walks a node tree into a Definition, recording each field's line
// and every problem rather than stopping at the first.
type decoder struct {
	file  string
	errs  pipeline.ErrorList
	lines map[string]int
	bad   map[string]bool // paths whose values did not decode
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &pipeline.Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) sorted() pipeline.ErrorList {
	sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
	return d.errs
}

func (d *decoder) failed(path string) bool {
	for p := path; p != ""; p = parent(p) {
		if d.bad[p] {
			return true
		}
	}
	return false
}

// lineOf returns the line of path or of its nearest parent that has one: a
// missing field is best reported where its parent is.
func (d *decoder) lineOf(path string) int {
	for p := path; ; p = parent(p) {
		if l, ok := d.lines[p]; ok {
			return l
		}
		if p == "" {
			return 1
		}
	}
}

func parent(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

type field struct {
	key   string
	line  int
	value *yaml.Node
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if yamlnode.IsNull(n) {
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// mapping returns the entries of n, reporting duplicate keys; null is an
// empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string) []field {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a mapping, not %s", describe(n))
		return nil
	}
	var out []field
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := yamlnode.Resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "keys must be strings, not %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, join(path, k.Value), "given twice (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, field{key: k.Value, line: k.Line, value: n.Content[i+1]})
	}
	return out
}

// str returns a scalar's text as written; null is "".
func (d *decoder) str(n *yaml.Node, path string) string {
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.ScalarNode {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a string, not %s", describe(n))
		return ""
	}
	if yamlnode.IsNull(n) {
		return ""
	}
	return n.Value
}

func (d *decoder) unknown(f field, path string, known []string) {
	d.errorf(f.line, path, "unknown field%s", didYouMean(f.key, known))
}

// didYouMean suggests the known field closest to key: one that differs only
// in case (CloudFormation's JsonPath for jsonPath), or by a typo or two.
func didYouMean(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
		if dist := editDistance(strings.ToLower(key), strings.ToLower(k)); dist < bestDist && dist < len(k)/2 {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) document(root *yaml.Node) *Definition {
	root = yamlnode.Resolve(root)
	if yamlnode.IsNull(root) {
		d.errorf(max(root.Line, 1), "", "empty document: no webhook definition in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "", "a webhook definition must be a mapping, not %s", describe(root))
		return nil
	}
	wrapped := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := yamlnode.Resolve(root.Content[i]); k.Kind == yaml.ScalarNode && k.Value == "webhook" {
			wrapped = true
		}
	}
	if !wrapped {
		return d.definition(root)
	}
	var def *Definition
	for _, f := range d.mapping(root, "") {
		switch f.key {
		case "webhook":
			n := yamlnode.Resolve(f.value)
			if n.Kind != yaml.MappingNode {
				d.errorf(n.Line, "webhook", "must be a mapping, not %s", describe(n))
				continue
			}
			def = d.definition(n)
		case "tags":
			// put-webhook's tags; sluice has none.
		default:
			d.unknown(f, f.key, wrapperFields)
		}
	}
	return def
}

func (d *decoder) definition(n *yaml.Node) *Definition {
	def := &Definition{}
	d.lines[""] = n.Line
	for _, f := range d.mapping(n, "") {
		path := f.key
		d.lines[path] = f.line
		switch f.key {
		case "name":
			def.Name = d.str(f.value, path)
		case "targetPipeline":
			def.TargetPipeline = d.str(f.value, path)
		case "targetAction":
			def.TargetAction = d.str(f.value, path)
		case "filters":
			def.Filters = d.filters(f.value, path)
		case "authentication":
			// Read in any case, as the pipeline's enumerations are.
			def.Authentication = strings.ToUpper(d.str(f.value, path))
		case "authenticationConfiguration":
			for _, af := range d.mapping(f.value, path) {
				ap := join(path, af.key)
				d.lines[ap] = af.line
				switch af.key {
				case "SecretToken":
					def.AuthenticationConfiguration.SecretToken = d.str(af.value, ap)
				case "AllowedIPRange":
					def.AuthenticationConfiguration.AllowedIPRange = d.str(af.value, ap)
				default:
					d.unknown(af, ap, authConfigFields)
				}
			}
		default:
			d.unknown(f, path, definitionFields)
		}
	}
	return def
}

func (d *decoder) filters(n *yaml.Node, path string) []Filter {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a list, not %s", describe(n))
		return nil
	}
	out := make([]Filter, len(n.Content))
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		d.lines[ip] = yamlnode.Resolve(item).Line
		for _, f := range d.mapping(item, ip) {
			fp := join(ip, f.key)
			d.lines[fp] = f.line
			switch f.key {
			case "jsonPath":
				out[i].JSONPath = d.str(f.value, fp)
			case "matchEquals":
				out[i].MatchEquals = d.str(f.value, fp)
			default:
				d.unknown(f, fp, filterFields)
			}
		}
	}
	return out
}
