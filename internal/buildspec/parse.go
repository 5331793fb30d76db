package buildspec

import (
	"fmt"
	"github.com/sluice-ci/sluice/internal/yamlnode"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Parse reads one buildspec. filename is used in messages only.
//
// On success it returns the spec and its warnings, in file order. On failure
// the error is a pipeline.ErrorList holding every problem found, in file
// order, each naming file, line and field; the warnings found are returned
// beside it.
func Parse(filename string, data []byte) (*Spec, []Warning, error) {
	root, perr := pipeline.ReadDocument(filename, data, "buildspec")
	if perr != nil {
		return nil, nil, pipeline.ErrorList{perr}
	}
	d := &decoder{file: filename, budget: maxNodes, merging: map[*yaml.Node]bool{}}
	s := d.document(root)
	sort.SliceStable(d.warns, func(i, j int) bool { return d.warns[i].Line < d.warns[j].Line })
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		return nil, d.warns, d.errs
	}
	return s, d.warns, nil
}

// maxNodes bounds the work one file can cause: aliases let a few kilobytes
// name the same subtree billions of times.
const maxNodes = 1_000_000

// decoder walks a node tree into a Spec, recording every problem and going on.
type decoder struct {
	file    string
	version string
	errs    pipeline.ErrorList
	warns   []Warning
	budget  int
	merging map[*yaml.Node]bool
	hints   int
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &pipeline.Error{File: d.file, Line: max(line, 1), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(line int, path, format string, args ...any) {
	d.warns = append(d.warns, Warning{File: d.file, Line: max(line, 1), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) unknown(f field, path string, known []string) {
	d.warnf(f.line, path, "unknown key, ignored%s", d.didYouMean(f.key, known))
}

func (d *decoder) typeError(n *yaml.Node, path, want string) {
	d.errorf(n.Line, path, "must be %s, not %s", want, yamlnode.Describe(n))
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// yamlTags are the tags of YAML's core schema, which is all a buildspec holds.
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
	d.errorf(n.Line, path, "YAML tag %s is not supported", n.Tag)
	return false
}

func (d *decoder) spend(n, line int) bool {
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

// fields returns the entries of mapping m, with merge keys (<<) expanded
// and duplicate keys reported. Keys written in m win over merged ones.
func (d *decoder) fields(m *yaml.Node, path string) []field {
	if !d.spend(len(m.Content)/2, m.Line) {
		return nil
	}
	var out, merged []field
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := yamlnode.Resolve(m.Content[i]), m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
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

// mapping returns n's fields, or reports that n is not a mapping. Null is
// an empty mapping.
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

// scalar returns a scalar's text as written (so 0.2 is "0.2" and yes is
// "yes"); null is "".
func (d *decoder) scalar(n *yaml.Node, path, want string) string {
	n = yamlnode.Resolve(n)
	if !d.tagOK(n, path) {
		return ""
	}
	if p, ok := placeholder(n); ok {
		d.warnf(n.Line, path, "%s looks like a template placeholder left unfilled; read as that text", p)
		return p
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

// placeholder recognises an unquoted template placeholder such as
// {-INSERT BUCKET NAME HERE-}, which YAML reads as a flow mapping holding
// one key without a value, and returns the text as written.
func placeholder(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle == 0 || len(n.Content) != 2 {
		return "", false
	}
	k, v := n.Content[0], n.Content[1]
	if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" || v.Kind != yaml.ScalarNode || !yamlnode.IsNull(v) || v.Value != "" {
		return "", false
	}
	return "{" + k.Value + "}", true
}

func (d *decoder) str(n *yaml.Node, path string) string { return d.scalar(n, path, "a string") }

// strings reads a list of strings. A single string is a list of one, as in
// `commands: npm install`, which CodeBuild runs.
func (d *decoder) strings(n *yaml.Node, path string) []string {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) || !d.tagOK(n, path) {
		return nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}
	case yaml.SequenceNode:
	default:
		d.typeError(n, path, "a list of strings")
		return nil
	}
	if !d.spend(len(n.Content), n.Line) {
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		out = append(out, d.str(item, indexPath(path, i)))
	}
	return out
}

// commands reads a list of commands, explaining the commonest YAML slip:
// an unquoted colon followed by a space turns a command into a mapping.
func (d *decoder) commands(n *yaml.Node, path string) []string {
	n = yamlnode.Resolve(n)
	if n.Kind == yaml.SequenceNode && d.tagOK(n, path) {
		if !d.spend(len(n.Content), n.Line) {
			return nil
		}
		out := make([]string, 0, len(n.Content))
		for i, item := range n.Content {
			ip := indexPath(path, i)
			if it := yamlnode.Resolve(item); it.Kind == yaml.MappingNode {
				d.errorf(it.Line, ip, "must be a command, not a mapping: quote the command, since a colon followed by a space makes a YAML mapping")
				continue
			}
			out = append(out, d.scalar(item, ip, "a command"))
		}
		return out
	}
	return d.strings(n, path)
}

// boolean reads yes/no/true/false in any case, the forms CodeBuild accepts.
func (d *decoder) boolean(n *yaml.Node, path string) bool {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) || !d.tagOK(n, path) {
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
	d.typeError(n, path, "yes or no (or true or false)")
	return false
}

// stringMap reads a mapping of names to scalars, each kept as written.
func (d *decoder) stringMap(n *yaml.Node, path string) map[string]string {
	fs := d.mapping(n, path)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		out[f.key] = d.scalar(f.value, joinPath(path, f.key), "a string, number or boolean")
	}
	return out
}

// variables reads environment variables, warning of the reserved prefix.
func (d *decoder) variables(n *yaml.Node, path string) map[string]string {
	vars := d.stringMap(n, path)
	for _, f := range d.peek(n) {
		if strings.HasPrefix(f.key, "CODEBUILD_") {
			d.warnf(f.line, joinPath(path, f.key), "the CODEBUILD_ prefix is reserved; the build's own value may replace this one")
		}
	}
	return vars
}

// peek returns n's keys without reporting anything (that was done already).
func (d *decoder) peek(n *yaml.Node) []field {
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var out []field
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := yamlnode.Resolve(n.Content[i]); k.Kind == yaml.ScalarNode {
			out = append(out, field{key: k.Value, line: k.Line})
		}
	}
	return out
}

var (
	topKeys     = []string{"version", "run-as", "env", "proxy", "phases", "reports", "artifacts", "cache", "batch"}
	envKeys     = []string{"shell", "variables", "parameter-store", "secrets-manager", "exported-variables", "git-credential-helper"}
	proxyKeys   = []string{"upload-artifacts", "logs"}
	phaseKeys   = []string{"run-as", "on-failure", "runtime-versions", "commands", "finally"}
	reportKeys  = []string{"files", "base-directory", "discard-paths", "file-format"}
	artKeys     = []string{"files", "name", "discard-paths", "base-directory", "exclude-paths", "enable-symlinks", "s3-prefix", "secondary-artifacts"}
	cacheKeys   = []string{"key", "fallback-keys", "action", "paths"}
	batchKeys   = []string{"fast-fail", "build-graph", "build-list", "build-matrix", "build-fanout"}
	taskKeys    = []string{"identifier", "buildspec", "env", "depend-on", "ignore-failure", "debug-session"}
	benvKeys    = []string{"compute-type", "fleet", "image", "type", "privileged-mode", "variables"}
	matrixKeys  = []string{"static", "dynamic"}
	staticKeys  = []string{"ignore-failure", "env"}
	dynamicKeys = []string{"buildspec", "env"}
	denvKeys    = []string{"compute-type", "fleet", "image", "variables"}
	fanoutKeys  = []string{"parallelism", "ignore-failure"}
	shells      = []string{"bash", "/bin/sh", "powershell.exe", "cmd.exe"}
	phaseNames  = []string{"install", "pre_build", "build", "post_build"}
)

func (d *decoder) document(root *yaml.Node) *Spec {
	root = yamlnode.Resolve(root)
	if !d.tagOK(root, "") {
		return nil
	}
	if yamlnode.IsNull(root) {
		d.errorf(root.Line, "", "empty document: no buildspec in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "", "a buildspec must be a mapping, not %s", yamlnode.Describe(root))
		return nil
	}
	fs := d.fields(root, "")
	s := &Spec{File: d.file}
	// The version decides how the rest reads, so it comes first.
	versionSeen := false
	for _, f := range fs {
		if f.key == "version" {
			versionSeen = true
			s.Version = d.readVersion(f)
		}
	}
	if !versionSeen {
		d.errorf(root.Line, "version", "missing: a buildspec starts with version: 0.2 (or 0.1)")
	}
	d.version = s.Version
	legacy := s.Version == "0.1" || s.Version == "0.0"
	known := topKeys
	if legacy {
		known = append(known[:len(known):len(known)], "environment_variables")
	}
	var envField *field
	for _, f := range fs {
		switch f.key {
		case "version":
		case "run-as":
			s.RunAs, s.RunAsLine = d.str(f.value, f.key), f.line
		case "env", "environment_variables":
			if f.key == "environment_variables" && !legacy {
				d.warnf(f.line, f.key, "unknown key, ignored: version 0.2 renamed it env")
				continue
			}
			if envField != nil {
				d.errorf(f.line, f.key, "conflicts with %s on line %d: give the environment once", envField.key, envField.line)
				continue
			}
			envField = &f
			s.Env = d.env(f.value, f.key)
		case "proxy":
			s.Proxy = d.proxy(f)
		case "phases":
			s.Phases = d.phases(f.value, f.key)
		case "reports":
			s.Reports = d.reports(f.value, f.key)
		case "artifacts":
			s.Artifacts = d.artifacts(f.value, f.key)
		case "cache":
			s.Cache = d.cache(f.value, f.key)
		case "batch":
			s.Batch = d.batch(f.value, f.key)
		case "containers":
			if s.Version == "0.0" {
				d.containers(f, s)
				continue
			}
			d.unknown(f, f.key, known)
		default:
			d.unknown(f, f.key, known)
		}
	}
	if len(s.Phases.List()) == 0 && s.Batch == nil && len(d.errs) == 0 {
		d.warnf(root.Line, "phases", "none declared: a build of this buildspec runs no commands")
	}
	return s
}

func (d *decoder) readVersion(f field) string {
	n := yamlnode.Resolve(f.value)
	v := d.scalar(n, "version", "0.1 or 0.2")
	switch v {
	case "0.1", "0.2":
		return v
	case "0.0":
		d.warnf(n.Line, "version", "0.0 is CodeBuild's undocumented preview format: read like 0.1, each command in a shell of its own")
		return v
	}
	if n.Kind == yaml.ScalarNode {
		d.errorf(n.Line, "version", "must be 0.1 or 0.2, not %s", yamlnode.Describe(n))
	}
	return ""
}

func (d *decoder) env(n *yaml.Node, path string) Env {
	var e Env
	legacy := d.version != "0.2"
	known := envKeys
	if legacy {
		known = append(known[:len(known):len(known)], "plaintext")
	}
	var varsLine int
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		switch f.key {
		case "shell":
			e.Shell = d.str(f.value, fp)
			if e.Shell != "" && !contains(shells, e.Shell) {
				d.errorf(f.line, fp, "must be one of %s, not %q", strings.Join(shells, ", "), e.Shell)
			}
		case "variables", "plaintext":
			if f.key == "plaintext" && !legacy {
				d.warnf(f.line, fp, "unknown key, ignored: version 0.2 renamed it variables")
				continue
			}
			if varsLine > 0 {
				d.errorf(f.line, fp, "conflicts with the variables on line %d: give them once", varsLine)
				continue
			}
			varsLine = f.line
			e.Variables = d.variables(f.value, fp)
		case "parameter-store":
			e.ParameterStore = d.variables(f.value, fp)
		case "secrets-manager":
			e.SecretsManager = d.variables(f.value, fp)
			for k, v := range e.SecretsManager {
				if v == "" {
					d.errorf(f.line, joinPath(fp, k), "must name a secret (secret-id:json-key:version-stage:version-id)")
				}
			}
		case "exported-variables":
			e.ExportedVariables = d.strings(f.value, fp)
		case "git-credential-helper":
			e.GitCredentialHelper = d.boolean(f.value, fp)
		default:
			d.unknown(f, fp, known)
		}
	}
	return e
}

func contains(set []string, s string) bool {
	for _, c := range set {
		if c == s {
			return true
		}
	}
	return false
}

func (d *decoder) proxy(f field) *Proxy {
	p := &Proxy{}
	for _, g := range d.mapping(f.value, f.key) {
		gp := joinPath(f.key, g.key)
		switch g.key {
		case "upload-artifacts":
			p.UploadArtifacts = d.boolean(g.value, gp)
		case "logs":
			p.Logs = d.boolean(g.value, gp)
		default:
			d.unknown(g, gp, proxyKeys)
		}
	}
	d.warnf(f.line, f.key, "ignored: sluice does not run builds behind CodeBuild's explicit proxy")
	return p
}

func (d *decoder) phases(n *yaml.Node, path string) Phases {
	var ps Phases
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		name := PhaseName(f.key)
		if f.key == "during_build" && d.version == "0.0" {
			d.warnf(f.line, fp, "read as build, the phase's name since version 0.1")
			name = Build
		}
		if !contains(phaseNames, string(name)) {
			d.unknown(f, fp, phaseNames)
			continue
		}
		if ps.Get(name) != nil {
			d.errorf(f.line, fp, "conflicts with the %s phase given before", name)
			continue
		}
		ps.set(name, d.phase(f, fp, name))
	}
	return ps
}

func (d *decoder) phase(f field, path string, name PhaseName) *Phase {
	ph := &Phase{Name: name, Line: f.line}
	for _, g := range d.mapping(f.value, path) {
		gp := joinPath(path, g.key)
		switch g.key {
		case "run-as":
			ph.RunAs, ph.RunAsLine = d.str(g.value, gp), g.line
		case "on-failure":
			ph.OnFailure = d.onFailure(g.value, gp)
		case "runtime-versions":
			if name != Install {
				d.warnf(g.line, gp, "ignored: only the install phase has runtime-versions")
				continue
			}
			ph.RuntimeVersions = d.stringMap(g.value, gp)
			d.warnf(g.line, gp, "ignored: sluice has no managed runtimes; commands use the tools installed where the build runs")
		case "commands":
			ph.Commands = d.commands(g.value, gp)
		case "finally":
			ph.Finally = d.commands(g.value, gp)
		default:
			d.unknown(g, gp, phaseKeys)
		}
	}
	return ph
}

var retryCountRE = regexp.MustCompile(`^([0-9]+)(?:-(.*))?$`)

// onFailure reads ABORT, CONTINUE, RETRY, RETRY-count, RETRY-regex or
// RETRY-count-regex. The keyword is read in any case; a regex is kept as written.
func (d *decoder) onFailure(n *yaml.Node, path string) OnFailure {
	n = yamlnode.Resolve(n)
	v := d.str(n, path)
	if v == "" {
		return OnFailure{}
	}
	const want = "must be ABORT, CONTINUE, RETRY, RETRY-count, RETRY-regex or RETRY-count-regex"
	upper := strings.ToUpper(v)
	switch {
	case upper == "ABORT":
		return OnFailure{Action: Abort}
	case upper == "CONTINUE":
		return OnFailure{Action: Continue}
	case upper == "RETRY":
		return OnFailure{Action: Retry, Retries: 3, Pattern: ".*"}
	case strings.HasPrefix(upper, "RETRY-"):
		rest := v[len("RETRY-"):]
		o := OnFailure{Action: Retry, Retries: 3, Pattern: rest}
		if m := retryCountRE.FindStringSubmatch(rest); m != nil {
			count, err := strconv.Atoi(m[1])
			if err != nil || count > 100 {
				d.errorf(n.Line, path, "retry count must be from 0 to 100, not %s", m[1])
				return OnFailure{}
			}
			o.Retries, o.Pattern = count, ".*"
			if len(rest) > len(m[1]) { // RETRY-count-regex
				o.Pattern = m[2]
			}
		}
		if o.Pattern == "" {
			d.errorf(n.Line, path, "%s, not %q: the regex after the last - is empty", want, v)
			return OnFailure{}
		}
		if _, err := regexp.Compile(o.Pattern); err != nil {
			d.errorf(n.Line, path, "%q is not a regular expression sluice can use: %v", o.Pattern, err)
			return OnFailure{}
		}
		return o
	}
	d.errorf(n.Line, path, "%s, not %q", want, v)
	return OnFailure{}
}

func (d *decoder) reports(n *yaml.Node, path string) []Report {
	var out []Report
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		r := Report{Name: f.key, Line: f.line, FileFormat: JUnitXML}
		for _, g := range d.mapping(f.value, fp) {
			gp := joinPath(fp, g.key)
			switch g.key {
			case "files":
				r.Files = d.strings(g.value, gp)
			case "base-directory":
				r.BaseDirectory = d.str(g.value, gp)
			case "discard-paths":
				r.DiscardPaths = d.boolean(g.value, gp)
			case "file-format":
				r.FileFormat = d.reportFormat(g.value, gp)
			default:
				d.unknown(g, gp, reportKeys)
			}
		}
		if len(r.Files) == 0 {
			d.errorf(f.line, joinPath(fp, "files"), "missing: a report group needs the files that hold its reports")
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) reportFormat(n *yaml.Node, path string) ReportFormat {
	n = yamlnode.Resolve(n)
	v := d.str(n, path)
	if v == "" {
		return JUnitXML
	}
	for _, f := range ReportFormats {
		if strings.EqualFold(v, string(f)) {
			return f
		}
	}
	names := make([]string, len(ReportFormats))
	for i, f := range ReportFormats {
		names[i] = string(f)
	}
	d.errorf(n.Line, path, "unknown report format %q%s; CodeBuild reads %s", v, d.didYouMean(strings.ToUpper(v), names), strings.Join(names, ", "))
	return JUnitXML
}

func (d *decoder) artifacts(n *yaml.Node, path string) *Artifacts {
	a := &Artifacts{}
	a.Line = yamlnode.Resolve(n).Line
	d.artifact(n, path, &a.Artifact, &a.Secondary)
	return a
}

// artifact reads one artifact; secondary is nil for a secondary artifact,
// which cannot have secondaries of its own.
func (d *decoder) artifact(n *yaml.Node, path string, a *Artifact, secondary *[]Artifact) {
	known := artKeys
	if secondary == nil {
		known = artKeys[:len(artKeys)-1]
	}
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		switch f.key {
		case "files":
			a.Files = d.strings(f.value, fp)
		case "name":
			a.Name = d.str(f.value, fp)
		case "discard-paths":
			a.DiscardPaths = d.boolean(f.value, fp)
		case "base-directory":
			a.BaseDirectory = d.str(f.value, fp)
		case "exclude-paths":
			a.ExcludePaths = d.strings(f.value, fp)
		case "enable-symlinks":
			a.EnableSymlinks = d.boolean(f.value, fp)
		case "s3-prefix":
			a.S3Prefix = d.str(f.value, fp)
			d.warnf(f.line, fp, "ignored: sluice does not write artifacts to S3")
		case "type":
			if d.version == "0.2" {
				d.unknown(f, fp, known)
				continue
			}
			d.str(f.value, fp)
			d.warnf(f.line, fp, "ignored: the artifact type is the project's setting (deprecated in the buildspec)")
		case "secondary-artifacts":
			if secondary == nil {
				d.unknown(f, fp, known)
				continue
			}
			for _, g := range d.mapping(f.value, fp) {
				s := Artifact{Identifier: g.key, Line: g.line}
				gp := joinPath(fp, g.key)
				d.artifact(g.value, gp, &s, nil)
				if len(s.Files) == 0 {
					d.errorf(g.line, joinPath(gp, "files"), "missing: an artifact needs the files to put in it")
				}
				*secondary = append(*secondary, s)
			}
		default:
			d.unknown(f, fp, known)
		}
	}
}

func (d *decoder) cache(n *yaml.Node, path string) *Cache {
	c := &Cache{}
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		switch f.key {
		case "key":
			c.Key = d.str(f.value, fp)
		case "fallback-keys":
			c.FallbackKeys = d.strings(f.value, fp)
		case "action":
			v := yamlnode.Resolve(f.value)
			c.Action = strings.ToLower(d.str(v, fp))
			if c.Action != "" && c.Action != "restore" && c.Action != "save" {
				d.errorf(v.Line, fp, "must be restore or save, not %q (leave it out to do both)", d.str(v, fp))
			}
		case "paths":
			c.Paths = d.strings(f.value, fp)
		default:
			d.unknown(f, fp, cacheKeys)
		}
	}
	return c
}

func (d *decoder) batch(n *yaml.Node, path string) *Batch {
	b := &Batch{}
	var kind *field
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		switch f.key {
		case "fast-fail":
			b.FastFail = d.boolean(f.value, fp)
			continue
		case "build-graph", "build-list", "build-matrix", "build-fanout":
			if kind != nil {
				d.errorf(f.line, fp, "conflicts with %s on line %d: a batch is one of build-graph, build-list, build-matrix or build-fanout", kind.key, kind.line)
				continue
			}
			kind = &f
		default:
			d.unknown(f, fp, batchKeys)
			continue
		}
		switch f.key {
		case "build-graph":
			b.BuildGraph = d.tasks(f.value, fp, true)
		case "build-list":
			b.BuildList = d.tasks(f.value, fp, false)
		case "build-matrix":
			b.BuildMatrix = d.matrix(f.value, fp)
		case "build-fanout":
			b.BuildFanout = d.fanout(f.value, fp)
		}
	}
	return b
}

func (d *decoder) tasks(n *yaml.Node, path string, graph bool) []BatchBuild {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) || !d.tagOK(n, path) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, path, "a list of builds")
		return nil
	}
	if !d.spend(len(n.Content), n.Line) {
		return nil
	}
	known := taskKeys
	if !graph {
		known = []string{"identifier", "buildspec", "env", "ignore-failure", "debug-session"}
	}
	out := make([]BatchBuild, 0, len(n.Content))
	ids := map[string]int{}
	for i, item := range n.Content {
		ip := indexPath(path, i)
		t := BatchBuild{Line: yamlnode.Resolve(item).Line}
		for _, f := range d.mapping(item, ip) {
			fp := joinPath(ip, f.key)
			switch f.key {
			case "identifier":
				t.Identifier = d.str(f.value, fp)
				if first, dup := ids[t.Identifier]; dup && t.Identifier != "" {
					d.errorf(f.line, fp, "%q is already the identifier of the build on line %d", t.Identifier, first)
				} else {
					ids[t.Identifier] = t.Line
				}
			case "buildspec":
				t.Buildspec = d.str(f.value, fp)
			case "env":
				t.Env = d.batchEnv(f.value, fp)
			case "depend-on":
				if !graph {
					d.unknown(f, fp, known)
					continue
				}
				t.DependOn = d.strings(f.value, fp)
			case "ignore-failure":
				t.IgnoreFailure = d.boolean(f.value, fp)
			case "debug-session":
				t.DebugSession = d.boolean(f.value, fp)
			default:
				d.unknown(f, fp, known)
			}
		}
		if graph && t.Identifier == "" && yamlnode.Resolve(item).Kind == yaml.MappingNode {
			d.errorf(t.Line, joinPath(ip, "identifier"), "missing: every build of a build graph needs an identifier")
		}
		out = append(out, t)
	}
	if graph {
		for i, t := range out {
			for j, dep := range t.DependOn {
				if _, ok := ids[dep]; !ok {
					d.errorf(t.Line, indexPath(joinPath(indexPath(path, i), "depend-on"), j), "no build in the graph has the identifier %q", dep)
				}
			}
		}
	}
	return out
}

func (d *decoder) batchEnv(n *yaml.Node, path string) BatchEnv {
	var e BatchEnv
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		switch f.key {
		case "compute-type":
			e.ComputeType = d.str(f.value, fp)
		case "fleet":
			e.Fleet = d.str(f.value, fp)
		case "image":
			e.Image = d.str(f.value, fp)
		case "type":
			e.Type = d.str(f.value, fp)
		case "privileged-mode":
			v := d.boolean(f.value, fp)
			e.PrivilegedMode = &v
		case "variables":
			e.Variables = d.variables(f.value, fp)
		default:
			d.unknown(f, fp, benvKeys)
		}
	}
	return e
}

func (d *decoder) matrix(n *yaml.Node, path string) *BuildMatrix {
	m := &BuildMatrix{}
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		switch f.key {
		case "static":
			for _, g := range d.mapping(f.value, fp) {
				gp := joinPath(fp, g.key)
				switch g.key {
				case "ignore-failure":
					m.Static.IgnoreFailure = d.boolean(g.value, gp)
				case "env":
					m.Static.Env = d.batchEnv(g.value, gp)
				default:
					d.unknown(g, gp, staticKeys)
				}
			}
		case "dynamic":
			for _, g := range d.mapping(f.value, fp) {
				gp := joinPath(fp, g.key)
				switch g.key {
				case "buildspec":
					m.Dynamic.Buildspec = d.strings(g.value, gp)
				case "env":
					m.Dynamic.Env = d.matrixEnv(g.value, gp)
				default:
					d.unknown(g, gp, dynamicKeys)
				}
			}
		default:
			d.unknown(f, fp, matrixKeys)
		}
	}
	return m
}

func (d *decoder) matrixEnv(n *yaml.Node, path string) MatrixEnv {
	var e MatrixEnv
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		switch f.key {
		case "compute-type":
			e.ComputeType = d.strings(f.value, fp)
		case "fleet":
			e.Fleet = d.strings(f.value, fp)
		case "image":
			e.Image = d.strings(f.value, fp)
		case "variables":
			fs := d.mapping(f.value, fp)
			if len(fs) > 0 {
				e.Variables = make(map[string][]string, len(fs))
			}
			for _, g := range fs {
				e.Variables[g.key] = d.strings(g.value, joinPath(fp, g.key))
			}
		default:
			d.unknown(f, fp, denvKeys)
		}
	}
	return e
}

func (d *decoder) fanout(n *yaml.Node, path string) *BuildFanout {
	fo := &BuildFanout{}
	for _, f := range d.mapping(n, path) {
		fp := joinPath(path, f.key)
		switch f.key {
		case "parallelism":
			v := yamlnode.Resolve(f.value)
			p, err := strconv.Atoi(d.scalar(v, fp, "a whole number"))
			if v.Kind == yaml.ScalarNode && (v.Tag != "!!int" || err != nil || p < 1) {
				d.errorf(v.Line, fp, "must be a whole number from 1, not %s", yamlnode.Describe(v))
				continue
			}
			fo.Parallelism = p
		case "ignore-failure":
			fo.IgnoreFailure = d.boolean(f.value, fp)
		default:
			d.unknown(f, fp, fanoutKeys)
		}
	}
	return fo
}

// containers reads version 0.0's containers section, in which one named
// container holds the phases and artifacts that later versions put at the
// top. Only the first container is read.
func (d *decoder) containers(f field, s *Spec) {
	fs := d.mapping(f.value, f.key)
	for i, c := range fs {
		cp := joinPath(f.key, c.key)
		if i > 0 {
			d.warnf(c.line, cp, "ignored: only the first container of a version 0.0 buildspec is read")
			continue
		}
		d.warnf(c.line, cp, "read as the buildspec's phases and artifacts, as in version 0.1")
		for _, g := range d.mapping(c.value, cp) {
			gp := joinPath(cp, g.key)
			switch g.key {
			case "phases":
				s.Phases = d.phases(g.value, gp)
			case "artifacts":
				s.Artifacts = d.artifacts(g.value, gp)
			default:
				d.unknown(g, gp, []string{"phases", "artifacts"})
			}
		}
	}
}
