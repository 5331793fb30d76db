package buildproject

import (
	"fmt"
	"github.com/sluice-ci/sluice/internal/yamlnode"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Parse reads a build project for `sluice project apply -f`, in YAML or JSON:
// sluice's own shape, or the input of `aws codebuild create-project
// --cli-input-json`, whose fields that do not apply here (artifacts,
// serviceRole, environment.image…) are accepted and ignored. Absent fields
// take the defaults. filename is used in errors and to tell JSON from YAML.
// On failure the error is a pipeline.ErrorList holding every problem, in file
// order, each naming file, line and field.
func Parse(filename string, data []byte) (*Project, error) {
	root, perr := pipeline.ReadDocument(filename, data, "build project")
	if perr != nil {
		return nil, pipeline.ErrorList{perr}
	}
	d := &decoder{file: filename, lines: map[string]int{}, bad: map[string]bool{}}
	p := d.document(root)
	if p == nil {
		return nil, d.sorted()
	}
	for _, e := range p.validate(filename, d.inlineLine) {
		// Validate names fields by sluice's shape; CodeBuild's nests some.
		for _, what := range []string{"buildspec", "environmentVariables"} {
			if rest, ok := strings.CutPrefix(e.Path, what); ok && d.given[what] != "" {
				e.Path = d.given[what] + rest
			}
		}
		if d.failed(e.Path) {
			continue // its value did not decode; that was reported already
		}
		if e.Line == 0 {
			e.File, e.Line = filename, d.lineOf(e.Path)
		}
		d.errs = append(d.errs, e)
	}
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return p, nil
}

var (
	projectFields = []string{"name", "description", "buildspec", "environmentVariables", "timeoutInMinutes", "isolation", "network", "source", "environment"}
	// CodeBuild's create-project fields that do not apply here.
	ignoredFields = []string{"artifacts", "secondarySources", "secondarySourceVersions", "secondaryArtifacts", "sourceVersion",
		"cache", "serviceRole", "queuedTimeoutInMinutes", "encryptionKey", "tags", "vpcConfig", "badgeEnabled", "logsConfig",
		"fileSystemLocations", "buildBatchConfig", "concurrentBuildLimit", "autoRetryLimit"}
	sourceFields = []string{"buildspec", "type", "location", "gitCloneDepth", "gitSubmodulesConfig", "auth", "reportBuildStatus",
		"buildStatusConfig", "insecureSsl", "sourceIdentifier"}
	environmentFields = []string{"environmentVariables", "type", "image", "computeType", "computeConfiguration", "fleet",
		"privilegedMode", "certificate", "registryCredential", "imagePullCredentialsType"}
	variableFields = []string{"name", "value", "type"}
)

// decoder walks a node tree into a Project, recording each field's line and
// every problem rather than stopping at the first.
type decoder struct {
	file  string
	errs  pipeline.ErrorList
	lines map[string]int
	bad   map[string]bool // paths whose values did not decode
	given map[string]string
	spec  *yaml.Node // the buildspec's node
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

// inlineLine maps a line of an inline buildspec to the file's: one for one in
// a literal block (|), else the line the string starts on.
func (d *decoder) inlineLine(line int) int {
	if d.spec == nil {
		return 1
	}
	if d.spec.Style == yaml.LiteralStyle && line > 0 {
		return d.spec.Line + line
	}
	return d.spec.Line
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

// mapping returns the entries of n, reporting duplicate keys; null is empty.
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
		d.errorf(n.Line, path, "must be a string, not %s", describe(n))
		return ""
	}
	if yamlnode.IsNull(n) {
		return ""
	}
	return n.Value
}

// once reports whether path is the first field to set what; CodeBuild's
// shape nests some fields that sluice's has at the top.
func (d *decoder) once(what string, f field, path string) bool {
	if d.given == nil {
		d.given = map[string]string{}
	}
	if first, ok := d.given[what]; ok {
		d.errorf(f.line, path, "given twice (also as %s, line %d)", first, d.lines[first])
		return false
	}
	d.given[what] = path
	return true
}

func (d *decoder) unknown(f field, path string, known []string) {
	d.errorf(f.line, path, "unknown field%s", didYouMean(f.key, known))
}

func (d *decoder) document(root *yaml.Node) *Project {
	root = yamlnode.Resolve(root)
	if yamlnode.IsNull(root) {
		d.errorf(max(root.Line, 1), "", "empty document: no build project in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "", "a build project must be a mapping, not %s", describe(root))
		return nil
	}
	p := New("")
	d.lines[""] = root.Line
	for _, f := range d.mapping(root, "") {
		path := f.key
		switch f.key {
		case "name":
			p.Name = d.str(f.value, path)
		case "description":
			p.Description = d.str(f.value, path)
		case "buildspec":
			if d.once("buildspec", f, path) {
				d.buildspec(p, f.value, path)
			}
		case "environmentVariables":
			if d.once("environmentVariables", f, path) {
				p.EnvironmentVariables = d.variables(f.value, path)
			}
		case "timeoutInMinutes":
			p.TimeoutInMinutes = d.integer(f.value, path)
		case "isolation":
			p.Isolation = strings.ToLower(d.str(f.value, path))
		case "network":
			n := yamlnode.Resolve(f.value)
			if b, err := strconv.ParseBool(n.Value); n.Kind == yaml.ScalarNode && (n.Tag == "!!bool" || n.Tag == "!!str") && err == nil {
				p.Network = b
			} else {
				d.bad[path] = true
				d.errorf(n.Line, path, "must be true or false, not %s", describe(n))
			}
		case "source":
			for _, sf := range d.mapping(f.value, path) {
				sp := path + "." + sf.key
				switch {
				case sf.key == "buildspec":
					if d.once("buildspec", sf, sp) {
						d.buildspec(p, sf.value, sp)
					}
				case !contains(sourceFields, sf.key):
					d.unknown(sf, sp, sourceFields)
				}
			}
		case "environment":
			for _, ef := range d.mapping(f.value, path) {
				ep := path + "." + ef.key
				switch {
				case ef.key == "environmentVariables":
					if d.once("environmentVariables", ef, ep) {
						p.EnvironmentVariables = d.variables(ef.value, ep)
					}
				case !contains(environmentFields, ef.key):
					d.unknown(ef, ep, environmentFields)
				}
			}
		default:
			if !contains(ignoredFields, f.key) {
				d.unknown(f, path, append(append([]string{}, projectFields...), ignoredFields...))
			}
		}
	}
	return p
}

func (d *decoder) buildspec(p *Project, n *yaml.Node, path string) {
	n = yamlnode.Resolve(n)
	if n.Kind == yaml.MappingNode {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a string: a path inside the source, or the buildspec itself as a block (buildspec: |)")
		return
	}
	p.Buildspec = d.str(n, path)
	d.spec = n
}

func (d *decoder) integer(n *yaml.Node, path string) int {
	n = yamlnode.Resolve(n)
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || yamlnode.IsNull(n) || err != nil {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a whole number, not %s", describe(n))
		return 0
	}
	return v
}

func (d *decoder) variables(n *yaml.Node, path string) []EnvironmentVariable {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.bad[path] = true
		d.errorf(n.Line, path, "must be a list, not %s", describe(n))
		return nil
	}
	out := make([]EnvironmentVariable, len(n.Content))
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		d.lines[ip] = yamlnode.Resolve(item).Line
		out[i].Type = TypePlaintext
		for _, f := range d.mapping(item, ip) {
			fp := ip + "." + f.key
			switch f.key {
			case "name":
				out[i].Name = d.str(f.value, fp)
			case "value":
				out[i].Value = d.str(f.value, fp)
			case "type":
				// Read in any case, as the pipeline's enumerations are.
				t := d.str(f.value, fp)
				out[i].Type = t
				if u := strings.ToUpper(t); u == TypePlaintext || u == TypeParameterStore || u == TypeSecretsManager {
					out[i].Type = u
				}
			default:
				d.unknown(f, fp, variableFields)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// didYouMean suggests the known field closest to key: one that differs only
// in case, or by a typo or two.
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
