package function

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads a function definition for `sluice function apply -f`, in YAML
// or JSON (told apart by filename). Absent fields take the defaults. On
// failure the error is a pipeline.ErrorList holding every problem, in file
// order, each naming file, line and field.
func Parse(filename string, data []byte) (*Function, error) {
	root, perr := pipeline.ReadDocument(filename, data, "function")
	if perr != nil {
		return nil, pipeline.ErrorList{perr}
	}
	d := &decoder{file: filename, lines: map[string]int{}, bad: map[string]bool{}}
	f := d.document(root)
	if f == nil {
		return nil, d.sorted()
	}
	for _, e := range f.validate() {
		if d.failed(e.Path) {
			continue // its value did not decode; that was reported already
		}
		e.File, e.Line = filename, d.lineOf(e.Path)
		d.errs = append(d.errs, e)
	}
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return f, nil
}

var fields = []string{"name", "command", "url", "environment", "workingDirectory", "timeoutInMinutes"}

// decoder walks a node tree into a Function, recording each field's line and
// every problem rather than stopping at the first.
type decoder struct {
	file  string
	errs  pipeline.ErrorList
	lines map[string]int
	bad   map[string]bool // paths whose values did not decode
	hints int
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &pipeline.Error{File: d.file, Line: max(line, 1), Path: path, Msg: fmt.Sprintf(format, args...)})
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

// lineOf returns the line of path or of its nearest parent that has one.
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

type field struct {
	key   string
	line  int
	value *yaml.Node
}

// mapping returns the entries of n, reporting duplicate keys; null is empty.
func (d *decoder) mapping(n *yaml.Node, path string) []field {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a mapping, not %s", yamlnode.Describe(n))
		return nil
	}
	var out []field
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := yamlnode.Resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "keys must be strings, not %s", yamlnode.Describe(k))
			continue
		}
		kp := k.Value
		if path != "" {
			kp = path + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, kp, "given twice (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[kp] = k.Line
		out = append(out, field{key: k.Value, line: k.Line, value: n.Content[i+1]})
	}
	return out
}

// str returns a scalar's text as written; null is "".
func (d *decoder) str(n *yaml.Node, path string) string {
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.ScalarNode {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a string, not %s", yamlnode.Describe(n))
		return ""
	}
	if yamlnode.IsNull(n) {
		return ""
	}
	return n.Value
}

func (d *decoder) document(root *yaml.Node) *Function {
	root = yamlnode.Resolve(root)
	if yamlnode.IsNull(root) {
		d.errorf(max(root.Line, 1), "", "empty document: no function in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "", "a function must be a mapping, not %s", yamlnode.Describe(root))
		return nil
	}
	f := New("")
	d.lines[""] = root.Line
	for _, fl := range d.mapping(root, "") {
		path := fl.key
		switch fl.key {
		case "name":
			f.Name = d.str(fl.value, path)
		case "command":
			f.Command = d.command(fl.value, path)
		case "url":
			f.URL = d.str(fl.value, path)
		case "environment":
			f.Environment = d.environment(fl.value, path)
		case "workingDirectory":
			f.WorkingDirectory = d.str(fl.value, path)
		case "timeoutInMinutes":
			f.TimeoutInMinutes = d.integer(fl.value, path)
		default:
			d.errorf(fl.line, path, "unknown field%s", d.didYouMean(fl.key, fields))
		}
	}
	return f
}

// command reads the program and its arguments. The result is never nil when
// the field was given, so that an empty list is told from an absent one.
func (d *decoder) command(n *yaml.Node, path string) []string {
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.bad[path] = true
		if n.Kind == yaml.ScalarNode && !yamlnode.IsNull(n) {
			d.errorf(n.Line, path, "must be a list: the program and its arguments, run without a shell (as in [%s]), not %s",
				strconv.Quote(n.Value), yamlnode.Describe(n))
		} else {
			d.errorf(n.Line, path, "must be a list: the program and its arguments, not %s", yamlnode.Describe(n))
		}
		return []string{}
	}
	out := make([]string, len(n.Content))
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		item = yamlnode.Resolve(item)
		d.lines[ip] = item.Line
		if item.Kind != yaml.ScalarNode || yamlnode.IsNull(item) {
			d.bad[ip] = true
			d.errorf(item.Line, ip, "must be a string, not %s", yamlnode.Describe(item))
			continue
		}
		out[i] = item.Value
	}
	return out
}

func (d *decoder) environment(n *yaml.Node, path string) map[string]string {
	fs := d.mapping(n, path)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		fp := path + "." + f.key
		v := yamlnode.Resolve(f.value)
		if v.Kind != yaml.ScalarNode {
			d.bad[fp] = true
			d.errorf(v.Line, fp, "must be a string, not %s", yamlnode.Describe(v))
			continue
		}
		out[f.key] = d.str(v, fp)
	}
	return out
}

func (d *decoder) integer(n *yaml.Node, path string) int {
	n = yamlnode.Resolve(n)
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || yamlnode.IsNull(n) || err != nil {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a whole number, not %s", yamlnode.Describe(n))
		return 0
	}
	return v
}

// Suggestions are for typos in keys a person wrote; long words and a file
// full of unknown keys get none, which bounds the work a hostile file causes.
const (
	maxSuggestWord = 40
	maxSuggestions = 100
)

// didYouMean returns ` (did you mean "x"?)` for the field closest to word, or
// "" when none is a plausible typo. Case is ignored: TimeoutInMinutes for
// timeoutInMinutes is the commonest slip.
func (d *decoder) didYouMean(word string, candidates []string) string {
	if d.hints >= maxSuggestions || utf8.RuneCountInString(word) > maxSuggestWord {
		return ""
	}
	d.hints++
	w := strings.ToLower(word)
	best, bestDist := "", -1
	for _, c := range candidates {
		limit := min(max(utf8.RuneCountInString(c)/3, 1), 3)
		dist := editDistance(w, strings.ToLower(c))
		if dist <= limit && (bestDist < 0 || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
