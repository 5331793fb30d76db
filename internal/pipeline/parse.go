package pipeline

import (
	"fmt"
	"github.com/sluice-ci/sluice/internal/yamlnode"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse reads one pipeline declaration from data, in YAML or JSON, in any of
// three shapes: the document `aws codepipeline get-pipeline` prints
// ({"pipeline": ..., "metadata": ...}), the same without metadata, or the bare
// pipeline object (sluice's native YAML). A top-level `pipeline` key tells the
// first two from the third.
//
// filename is used in error messages and to tell JSON from YAML. The returned
// pipeline has its defaults filled in and has passed Validate. On failure the
// error is an ErrorList holding every problem found, in file order, each
// naming file, line and field.
func Parse(filename string, data []byte) (*Pipeline, error) {
	return ParseWith(filename, data)
}

// Check is a further rule a caller applies to a parsed pipeline, beyond Validate;
// its errors carry paths, and ParseWith places them on lines like Validate's.
type Check func(p *Pipeline) ErrorList

// ParseWith is Parse with further checks.
func ParseWith(filename string, data []byte, checks ...Check) (*Pipeline, error) {
	root, perr := ReadDocument(filename, data, "pipeline")
	if perr != nil {
		return nil, ErrorList{perr}
	}

	d := newDecoder(filename)
	p := d.document(root)
	if p == nil {
		if len(d.errs) == 0 {
			d.errorf(root.Line, "", "no pipeline found")
		}
		d.errs.sortByLine()
		return nil, d.errs
	}
	p.SetDefaults()
	errs := d.errs
	problems := p.Validate()
	for _, check := range checks {
		problems = append(problems, check(p)...)
	}
	for _, e := range problems {
		if d.failed(e.Path) {
			// The field did not decode; its zero value would only repeat
			// the complaint already made about it.
			continue
		}
		e.File = filename
		e.Line = d.lineOf(e.Path)
		if w, ok := d.written[e.Path]; ok {
			e.Path = w
		}
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		errs.sortByLine()
		return nil, errs
	}
	return p, nil
}

var digitsRE = regexp.MustCompile(`^[-+]?[0-9_]+$`)

// maxNodes bounds the work one file can cause. Aliases let a small file name
// the same subtree many times over; without a bound, a few kilobytes could
// expand into billions of actions.
const maxNodes = 1_000_000

// decoder walks a node tree into a Pipeline. It never stops at the first
// problem: each is recorded and the walk goes on, so one run reports them all.
type decoder struct {
	file string
	errs ErrorList
	// lines maps a field path (stages[1].actions[0].provider) to its line,
	// so validation errors, which know only paths, can be placed.
	lines map[string]int
	// written maps the path validation uses to the path the user wrote,
	// where a shortcut made them differ (provider beside actionTypeId, an
	// input artifact given as a plain string).
	written map[string]string
	// bad holds the paths whose values could not be decoded.
	bad     map[string]bool
	budget  int
	merging map[*yaml.Node]bool
	hints   hinter
}

func newDecoder(file string) *decoder {
	return &decoder{
		file:    file,
		lines:   map[string]int{},
		written: map[string]string{},
		bad:     map[string]bool{},
		budget:  maxNodes,
		merging: map[*yaml.Node]bool{},
	}
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// typeError reports a value of the wrong shape and marks its path as failed.
func (d *decoder) typeError(n *yaml.Node, path, want string) {
	d.bad[path] = true
	d.errorf(n.Line, path, "must be %s, not %s", want, yamlnode.Describe(n))
}

func (d *decoder) failed(path string) bool {
	for p := path; ; p = parentPath(p) {
		if d.bad[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// lineOf returns the line of path, or of its nearest parent that has one:
// a missing field is best reported where its parent is.
func (d *decoder) lineOf(path string) int {
	for p := path; ; p = parentPath(p) {
		if l, ok := d.lines[p]; ok {
			return l
		}
		if p == "" {
			return 0
		}
	}
}

// parentPath strips the last element from a field path.
func parentPath(p string) string {
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

func joinPath(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// spend charges n nodes against the budget and reports whether any is left.
func (d *decoder) spend(n int, line int) bool {
	if d.budget < 0 {
		return false
	}
	d.budget -= n
	if d.budget < 0 {
		d.errorf(line, "", "too large: more than %d values once aliases are expanded", maxNodes)
		return false
	}
	return true
}

type field struct {
	key   string
	line  int
	value *yaml.Node
}

// fields returns the entries of mapping m with YAML merge keys (<<) expanded
// and duplicate keys reported. Entries written in m win over merged ones, as
// the merge-key spec says.
func (d *decoder) fields(m *yaml.Node, path string) []field {
	if !d.spend(len(m.Content)/2, m.Line) {
		return nil
	}
	var out, merged []field
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := yamlnode.Resolve(m.Content[i]), m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.bad[path] = true
			d.errorf(k.Line, path, "keys must be strings, not %s", yamlnode.Describe(k))
			continue
		}
		if k.Tag == "!!merge" {
			merged = append(merged, d.merge(v, path)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, joinPath(path, k.Value), "given twice (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, field{key: k.Value, line: k.Line, value: v})
	}
	for _, f := range merged {
		if _, dup := seen[f.key]; !dup {
			seen[f.key] = f.line
			out = append(out, f)
		}
	}
	return out
}

func (d *decoder) merge(v *yaml.Node, path string) []field {
	v = yamlnode.Resolve(v)
	switch v.Kind {
	case yaml.MappingNode:
		if d.merging[v] {
			d.errorf(v.Line, path, "merge (<<) includes itself")
			return nil
		}
		d.merging[v] = true
		defer delete(d.merging, v)
		return d.fields(v, path)
	case yaml.SequenceNode:
		// Earlier mappings in the list win over later ones.
		var out []field
		seen := map[string]bool{}
		for _, item := range v.Content {
			item = yamlnode.Resolve(item)
			if item.Kind != yaml.MappingNode {
				d.errorf(item.Line, path, "merge (<<) takes a mapping or a list of mappings, not a list holding %s", yamlnode.Describe(item))
				continue
			}
			for _, f := range d.merge(item, path) {
				if !seen[f.key] {
					seen[f.key] = true
					out = append(out, f)
				}
			}
		}
		return out
	}
	d.errorf(v.Line, path, "merge (<<) takes a mapping or a list of mappings, not %s", yamlnode.Describe(v))
	return nil
}

// mapping returns n's fields, or reports that n is not a mapping. A null
// value is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string) []field {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) || !d.tagOK(n, path) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.typeError(n, path, "a mapping")
		return nil
	}
	return d.fields(n, path)
}

// yamlTags are the tags of YAML's core schema, which is all sluice reads.
var yamlTags = map[string]bool{
	"": true, "!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!merge": true, "!!timestamp": true, "!!binary": true,
}

// tagOK rejects application tags such as CloudFormation's !Ref, which would
// otherwise pass as plain strings and silently lose their meaning.
func (d *decoder) tagOK(n *yaml.Node, path string) bool {
	if yamlTags[n.Tag] {
		return true
	}
	d.bad[path] = true
	d.errorf(n.Line, path, "YAML tag %s is not supported", n.Tag)
	return false
}

// list returns the items of sequence n, or reports that n is not a list. A
// null value is an empty list.
func (d *decoder) list(n *yaml.Node, path string) []*yaml.Node {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) || !d.tagOK(n, path) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, path, "a list")
		return nil
	}
	if !d.spend(len(n.Content), n.Line) {
		return nil
	}
	return n.Content
}

// scalar returns the text of a scalar exactly as written, so `false` becomes
// "false" and `0x1F` stays "0x1F". Null is "".
func (d *decoder) scalar(n *yaml.Node, path, want string) string {
	n = yamlnode.Resolve(n)
	if !d.tagOK(n, path) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, path, want)
		return ""
	}
	if yamlnode.IsNull(n) {
		return ""
	}
	return n.Value
}

func (d *decoder) str(n *yaml.Node, path string) string {
	return d.scalar(n, path, "a string")
}

func (d *decoder) integer(n *yaml.Node, path string) int {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) {
		return 0
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!float" && digitsRE.MatchString(n.Value) {
		// yaml.v3 reads integers too large for int64 as floats.
		d.bad[path] = true
		d.errorf(n.Line, path, "%s is out of range", n.Value)
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.typeError(n, path, "a whole number")
		return 0
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		d.bad[path] = true
		d.errorf(n.Line, path, "%s is out of range", n.Value)
		return 0
	}
	// Clamp rather than wrap, so validation still sees an out-of-range value.
	const limit = 1 << 31
	switch {
	case v > limit:
		v = limit
	case v < -limit:
		v = -limit
	}
	return int(v)
}

func (d *decoder) strings(n *yaml.Node, path string) []string {
	items := d.list(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]string, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		d.lines[ip] = yamlnode.Resolve(item).Line
		out[i] = d.str(item, ip)
	}
	return out
}

// unknown reports a field the declaration does not have.
func (d *decoder) unknown(f field, path string, known []string) {
	d.errorf(f.line, path, "unknown field%s", d.hints.didYouMean(f.key, known))
}

// canonicalCase returns the member of set equal to s but for case, or s.
func canonicalCase(s string, set []string) string {
	for _, c := range set {
		if strings.EqualFold(s, c) {
			return c
		}
	}
	return s
}

var (
	documentFields = []string{"pipeline", "metadata", "tags"}
	pipelineFields = []string{
		"name", "pipelineType", "executionMode", "variables", "stages",
		"roleArn", "artifactStore", "artifactStores", "version", "triggers", "lock",
	}
	variableFields = []string{"name", "defaultValue", "description"}
	stageFields    = []string{"name", "actions", "lock", "blockers", "onFailure", "onSuccess", "beforeEntry"}
	actionFields   = []string{
		"name", "actionTypeId", "runOrder", "configuration", "commands",
		"outputVariables", "inputArtifacts", "outputArtifacts", "namespace",
		"region", "roleArn", "timeoutInMinutes", "maxAttempts",
		"provider", "category", "owner", "version",
	}
	actionTypeFields     = []string{"category", "owner", "provider", "version"}
	inputArtifactFields  = []string{"name"}
	outputArtifactFields = []string{"name", "files"}
	pipelineTypes        = []string{"V1", "V2"}
)

// document decodes the top of the file, in whichever of the three shapes it is.
func (d *decoder) document(root *yaml.Node) *Pipeline {
	root = yamlnode.Resolve(root)
	if !d.tagOK(root, "") {
		return nil
	}
	if yamlnode.IsNull(root) {
		d.errorf(max(root.Line, 1), "", "empty document: no pipeline in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "", "a pipeline must be a mapping, not %s", yamlnode.Describe(root))
		return nil
	}
	if !hasKey(root, "pipeline") {
		if !hasKey(root, "stages") && (hasKey(root, "AWSTemplateFormatVersion") || hasKey(root, "Resources")) {
			// One clear sentence beats an "unknown field" for every
			// section of the template.
			d.errorf(root.Line, "", "this is a CloudFormation template; sluice reads a pipeline declaration "+
				"(native YAML, or the JSON of aws codepipeline get-pipeline), and cannot import templates yet")
			return nil
		}
		return d.pipeline(root, true)
	}
	var p *Pipeline
	for _, f := range d.fields(root, "") {
		d.lines[f.key] = f.line
		switch f.key {
		case "pipeline":
			n := yamlnode.Resolve(f.value)
			if !d.tagOK(n, "pipeline") {
				continue
			}
			if n.Kind != yaml.MappingNode {
				d.errorf(n.Line, "pipeline", "must be a mapping, not %s", yamlnode.Describe(n))
				continue
			}
			p = d.pipeline(n, false)
		case "metadata", "tags":
			// Describes the stored copy in CodePipeline (and its tags,
			// in create-pipeline input); nothing sluice declares.
		default:
			d.unknown(f, f.key, documentFields)
		}
	}
	return p
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := yamlnode.Resolve(m.Content[i])
		if k.Kind == yaml.ScalarNode && k.Tag != "!!merge" && k.Value == key {
			return true
		}
	}
	return false
}

func (d *decoder) pipeline(n *yaml.Node, bare bool) *Pipeline {
	p := &Pipeline{}
	d.lines[""] = n.Line
	known := pipelineFields
	if bare {
		// A misspelt `pipeline` key makes the file look like a bare pipeline.
		known = append(known[:len(known):len(known)], "pipeline")
	}
	for _, f := range d.fields(n, "") {
		path := f.key
		d.lines[path] = f.line
		switch f.key {
		case "name":
			p.Name = d.str(f.value, path)
		case "pipelineType":
			p.PipelineType = canonicalCase(d.str(f.value, path), pipelineTypes)
		case "executionMode":
			p.ExecutionMode = ExecutionMode(strings.ToUpper(d.str(f.value, path)))
		case "variables":
			p.Variables = d.variables(f.value, path)
		case "stages":
			p.Stages = d.stages(f.value, path)
		case "roleArn", "artifactStore", "artifactStores", "version":
			// CodePipeline's own settings; sluice has no use for them.
		case "triggers":
			p.Triggers = d.triggers(f.value, path)
		case "lock":
			p.Lock = d.str(f.value, path)
		default:
			d.unknown(f, path, known)
		}
	}
	return p
}

func (d *decoder) variables(n *yaml.Node, path string) []Variable {
	items := d.list(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]Variable, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		d.lines[ip] = yamlnode.Resolve(item).Line
		fs := d.mapping(item, ip)
		for _, f := range fs {
			fp := joinPath(ip, f.key)
			d.lines[fp] = f.line
			switch f.key {
			case "name":
				out[i].Name = d.str(f.value, fp)
			case "defaultValue":
				out[i].DefaultValue = d.str(f.value, fp)
			case "description":
				out[i].Description = d.str(f.value, fp)
			default:
				d.unknown(f, fp, variableFields)
			}
		}
	}
	return out
}

func (d *decoder) stages(n *yaml.Node, path string) []Stage {
	items := d.list(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]Stage, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		d.lines[ip] = yamlnode.Resolve(item).Line
		fs := d.mapping(item, ip)
		for _, f := range fs {
			fp := joinPath(ip, f.key)
			d.lines[fp] = f.line
			switch f.key {
			case "name":
				out[i].Name = d.str(f.value, fp)
			case "actions":
				out[i].Actions = d.actions(f.value, fp)
			case "lock":
				out[i].Lock = d.str(f.value, fp)
			case "blockers", "onFailure", "onSuccess", "beforeEntry":
				// CodePipeline's stage conditions; not supported yet.
			default:
				d.unknown(f, fp, stageFields)
			}
		}
	}
	return out
}

func (d *decoder) actions(n *yaml.Node, path string) []Action {
	items := d.list(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]Action, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		d.lines[ip] = yamlnode.Resolve(item).Line
		out[i] = d.action(item, ip)
	}
	return out
}

func (d *decoder) action(n *yaml.Node, path string) Action {
	var a Action
	fs := d.mapping(n, path)
	var typeLine int
	var flat []field
	for _, f := range fs {
		fp := joinPath(path, f.key)
		d.lines[fp] = f.line
		switch f.key {
		case "name":
			a.Name = d.str(f.value, fp)
		case "actionTypeId":
			typeLine = f.line
			d.actionTypeID(f.value, fp, &a.ActionTypeID)
		case "provider", "category", "owner", "version":
			// The native shortcut: the action type's fields beside the
			// action's own; applied below, once it is known that there
			// is no actionTypeId to conflict with.
			flat = append(flat, f)
		case "runOrder":
			a.RunOrder = d.integer(f.value, fp)
		case "configuration":
			a.Configuration = d.configuration(f.value, fp)
		case "commands":
			a.Commands = d.strings(f.value, fp)
		case "outputVariables":
			a.OutputVariables = d.strings(f.value, fp)
		case "inputArtifacts":
			a.InputArtifacts = d.inputArtifacts(f.value, fp)
		case "outputArtifacts":
			a.OutputArtifacts = d.outputArtifacts(f.value, fp)
		case "namespace":
			a.Namespace = d.str(f.value, fp)
		case "region":
			a.Region = d.str(f.value, fp)
		case "roleArn":
			// An IAM role; sluice's permissions work differently.
		case "timeoutInMinutes":
			a.TimeoutInMinutes = d.integer(f.value, fp)
		case "maxAttempts":
			a.MaxAttempts = d.integer(f.value, fp)
		default:
			d.unknown(f, fp, actionFields)
		}
	}
	switch {
	case typeLine > 0 && len(flat) > 0:
		d.errorf(flat[0].line, joinPath(path, flat[0].key),
			"conflicts with actionTypeId on line %d: give the action type one way or the other", typeLine)
	case len(flat) > 0:
		for _, f := range flat {
			fp := joinPath(path, f.key)
			// Validation reports under the canonical path; show the
			// path as written.
			canonical := joinPath(joinPath(path, "actionTypeId"), f.key)
			d.lines[canonical] = f.line
			d.written[canonical] = fp
			setActionTypeField(&a.ActionTypeID, f.key, d.str(f.value, fp))
			if d.bad[fp] {
				d.bad[canonical] = true
			}
		}
	}
	return a
}

func setActionTypeField(id *ActionTypeID, key, value string) {
	switch key {
	case "category":
		id.Category = canonicalCase(value, categories)
	case "owner":
		id.Owner = canonicalCase(value, owners)
	case "provider":
		id.Provider = value
	case "version":
		id.Version = value
	}
}

func (d *decoder) actionTypeID(n *yaml.Node, path string, id *ActionTypeID) {
	fs := d.mapping(n, path)
	for _, f := range fs {
		fp := joinPath(path, f.key)
		d.lines[fp] = f.line
		switch f.key {
		case "category", "owner", "provider", "version":
			setActionTypeField(id, f.key, d.str(f.value, fp))
		default:
			d.unknown(f, fp, actionTypeFields)
		}
	}
}

// configuration reads the action's key-value settings. Values may be any
// scalar and are kept as written, because providers receive strings, as in
// CodePipeline; nested values have no string form a provider could expect.
func (d *decoder) configuration(n *yaml.Node, path string) map[string]string {
	fs := d.mapping(n, path)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		fp := joinPath(path, f.key)
		d.lines[fp] = f.line
		out[f.key] = d.scalar(f.value, fp, "a string, number or boolean")
	}
	return out
}

func (d *decoder) inputArtifacts(n *yaml.Node, path string) []InputArtifact {
	refs := d.artifacts(n, path, inputArtifactFields, false)
	if refs == nil {
		return nil
	}
	out := make([]InputArtifact, len(refs))
	for i, r := range refs {
		out[i].Name = r.Name
	}
	return out
}

func (d *decoder) outputArtifacts(n *yaml.Node, path string) []OutputArtifact {
	return d.artifacts(n, path, outputArtifactFields, true)
}

// artifacts decodes a list of artifacts, each a plain name or a mapping with a
// name (and, for outputs, files).
func (d *decoder) artifacts(n *yaml.Node, path string, known []string, withFiles bool) []OutputArtifact {
	items := d.list(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]OutputArtifact, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		item = yamlnode.Resolve(item)
		d.lines[ip] = item.Line
		if !d.tagOK(item, ip) {
			continue
		}
		switch item.Kind {
		case yaml.ScalarNode:
			np := joinPath(ip, "name")
			d.lines[np] = item.Line
			d.written[np] = ip
			out[i].Name = d.str(item, ip)
		case yaml.MappingNode:
			for _, f := range d.fields(item, ip) {
				fp := joinPath(ip, f.key)
				d.lines[fp] = f.line
				switch {
				case f.key == "name":
					out[i].Name = d.str(f.value, fp)
				case f.key == "files" && withFiles:
					out[i].Files = d.strings(f.value, fp)
				default:
					d.unknown(f, fp, known)
				}
			}
		default:
			d.typeError(item, ip, "an artifact name or a mapping with a name")
		}
	}
	return out
}
