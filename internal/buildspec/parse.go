package buildspec

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads one buildspec. filename is used in messages only.
//
// On success it returns the spec and its warnings, in file order. On failure
// the error is a yamlnode.ErrorList holding every problem found, in file
// order, each naming file, line and field; the warnings found are returned
// beside it.
func Parse(filename string, data []byte) (*Spec, []Warning, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "buildspec")
	if perr != nil {
		return nil, nil, yamlnode.ErrorList{perr}
	}
	d := newDecoder(filename)
	s := d.document(root)
	sort.SliceStable(d.warns, func(i, j int) bool { return d.warns[i].Line < d.warns[j].Line })
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		return nil, d.warns, d.errs
	}
	return s, d.warns, nil
}

// decoder walks a node tree into a Spec, recording every problem and going on.
type decoder struct {
	*yamlnode.Decoder
	file    string
	version string
	errs    yamlnode.ErrorList
	warns   []Warning
}

func newDecoder(file string) *decoder {
	d := &decoder{file: file}
	d.Decoder = yamlnode.New(yamlnode.Options{
		Report: func(line int, path, msg string) {
			d.errs = append(d.errs, &yamlnode.Error{File: file, Line: max(line, 1), Path: path, Msg: msg})
		},
		// CodeBuild ignores keys it does not know; so does sluice, but
		// says so.
		Unknown: func(f yamlnode.Field, path, hint string) {
			d.warnf(f.Line, path, "unknown key, ignored%s", hint)
		},
		Scalar:    d.placeholder,
		MergeKeys: true,
		CheckTags: true,
	})
	return d
}

func (d *decoder) warnf(line int, path, format string, args ...any) {
	d.warns = append(d.warns, Warning{File: d.file, Line: max(line, 1), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// placeholder reads an unquoted template placeholder such as
// {-INSERT BUCKET NAME HERE-}, which YAML reads as a flow mapping holding
// one key without a value, as the text written, with a warning.
func (d *decoder) placeholder(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle == 0 || len(n.Content) != 2 {
		return "", false
	}
	k, v := n.Content[0], n.Content[1]
	if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" || v.Kind != yaml.ScalarNode || !yamlnode.IsNull(v) || v.Value != "" {
		return "", false
	}
	p := "{" + k.Value + "}"
	d.warnf(n.Line, path, "%s looks like a template placeholder left unfilled; read as that text", p)
	return p, true
}

// commands reads a list of commands, explaining the commonest YAML slip:
// an unquoted colon followed by a space turns a command into a mapping.
func (d *decoder) commands(n *yaml.Node, path string) []string {
	if yamlnode.Resolve(n).Kind != yaml.SequenceNode {
		return d.StringOrList(n, path)
	}
	items := d.List(n, path)
	out := make([]string, 0, len(items))
	for i, item := range items {
		ip := yamlnode.Index(path, i)
		if it := yamlnode.Resolve(item); it.Kind == yaml.MappingNode {
			d.Errorf(it.Line, ip, "must be a command, not a mapping: quote the command, since a colon followed by a space makes a YAML mapping")
			continue
		}
		out = append(out, d.Scalar(item, ip, "a command"))
	}
	return out
}

// stringMap reads a mapping of names to scalars, each kept as written.
func (d *decoder) stringMap(n *yaml.Node, path string) map[string]string {
	fs := d.Mapping(n, path)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		out[f.Key] = d.Scalar(f.Value, yamlnode.Join(path, f.Key), "a string, number or boolean")
	}
	return out
}

// variables reads environment variables, warning of the reserved prefix.
func (d *decoder) variables(n *yaml.Node, path string) map[string]string {
	vars := d.stringMap(n, path)
	for _, f := range d.peek(n) {
		if strings.HasPrefix(f.Key, "CODEBUILD_") {
			d.warnf(f.Line, yamlnode.Join(path, f.Key), "the CODEBUILD_ prefix is reserved; the build's own value may replace this one")
		}
	}
	return vars
}

// peek returns n's keys without reporting anything (that was done already).
func (d *decoder) peek(n *yaml.Node) []yamlnode.Field {
	n = yamlnode.Resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var out []yamlnode.Field
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := yamlnode.Resolve(n.Content[i]); k.Kind == yaml.ScalarNode {
			out = append(out, yamlnode.Field{Key: k.Value, Line: k.Line})
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
	if !d.TagOK(root, "") {
		return nil
	}
	if yamlnode.IsNull(root) {
		d.Errorf(root.Line, "", "empty document: no buildspec in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "a buildspec must be a mapping, not %s", d.Describe(root))
		return nil
	}
	fs := d.Fields(root, "")
	s := &Spec{File: d.file}
	// The version decides how the rest reads, so it comes first.
	versionSeen := false
	for _, f := range fs {
		if f.Key == "version" {
			versionSeen = true
			s.Version = d.readVersion(f)
		}
	}
	if !versionSeen {
		d.Errorf(root.Line, "version", "missing: a buildspec starts with version: 0.2 (or 0.1)")
	}
	d.version = s.Version
	legacy := s.Version == "0.1" || s.Version == "0.0"
	known := topKeys
	if legacy {
		known = append(known[:len(known):len(known)], "environment_variables")
	}
	var envField *yamlnode.Field
	for _, f := range fs {
		switch f.Key {
		case "version":
		case "run-as":
			s.RunAs, s.RunAsLine = d.Str(f.Value, f.Key), f.Line
		case "env", "environment_variables":
			if f.Key == "environment_variables" && !legacy {
				d.warnf(f.Line, f.Key, "unknown key, ignored: version 0.2 renamed it env")
				continue
			}
			if envField != nil {
				d.Errorf(f.Line, f.Key, "conflicts with %s on line %d: give the environment once", envField.Key, envField.Line)
				continue
			}
			envField = &f
			s.Env = d.env(f.Value, f.Key)
		case "proxy":
			s.Proxy = d.proxy(f)
		case "phases":
			s.Phases = d.phases(f.Value, f.Key)
		case "reports":
			s.Reports = d.reports(f.Value, f.Key)
		case "artifacts":
			s.Artifacts = d.artifacts(f.Value, f.Key)
		case "cache":
			s.Cache = d.cache(f.Value, f.Key)
		case "batch":
			s.Batch = d.batch(f.Value, f.Key)
		case "containers":
			if s.Version == "0.0" {
				d.containers(f, s)
				continue
			}
			d.Unknown(f, f.Key, known)
		default:
			d.Unknown(f, f.Key, known)
		}
	}
	if len(s.Phases.List()) == 0 && s.Batch == nil && len(d.errs) == 0 {
		d.warnf(root.Line, "phases", "none declared: a build of this buildspec runs no commands")
	}
	return s
}

func (d *decoder) readVersion(f yamlnode.Field) string {
	n := yamlnode.Resolve(f.Value)
	v := d.Scalar(n, "version", "0.1 or 0.2")
	switch v {
	case "0.1", "0.2":
		return v
	case "0.0":
		d.warnf(n.Line, "version", "0.0 is CodeBuild's undocumented preview format: read like 0.1, each command in a shell of its own")
		return v
	}
	if n.Kind == yaml.ScalarNode {
		d.Errorf(n.Line, "version", "must be 0.1 or 0.2, not %s", d.Describe(n))
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
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "shell":
			e.Shell = d.Str(f.Value, fp)
			if e.Shell != "" && !contains(shells, e.Shell) {
				d.Errorf(f.Line, fp, "must be one of %s, not %q", strings.Join(shells, ", "), e.Shell)
			}
		case "variables", "plaintext":
			if f.Key == "plaintext" && !legacy {
				d.warnf(f.Line, fp, "unknown key, ignored: version 0.2 renamed it variables")
				continue
			}
			if varsLine > 0 {
				d.Errorf(f.Line, fp, "conflicts with the variables on line %d: give them once", varsLine)
				continue
			}
			varsLine = f.Line
			e.Variables = d.variables(f.Value, fp)
		case "parameter-store":
			e.ParameterStore = d.variables(f.Value, fp)
		case "secrets-manager":
			e.SecretsManager = d.variables(f.Value, fp)
			for k, v := range e.SecretsManager {
				if v == "" {
					d.Errorf(f.Line, yamlnode.Join(fp, k), "must name a secret (secret-id:json-key:version-stage:version-id)")
				}
			}
		case "exported-variables":
			e.ExportedVariables = d.StringOrList(f.Value, fp)
			d.checkExported(f, fp, e.ExportedVariables)
		case "git-credential-helper":
			e.GitCredentialHelper = d.Bool(f.Value, fp)
		default:
			d.Unknown(f, fp, known)
		}
	}
	return e
}

// checkExported refuses names CodeBuild cannot export: its buildspec
// reference lists environment variables that start with AWS_ among what
// "cannot be exported".
func (d *decoder) checkExported(f yamlnode.Field, path string, names []string) {
	n := yamlnode.Resolve(f.Value)
	for i, name := range names {
		if !strings.HasPrefix(name, "AWS_") {
			continue
		}
		line, ip := f.Line, path
		if n.Kind == yaml.SequenceNode && i < len(n.Content) {
			line, ip = yamlnode.Resolve(n.Content[i]).Line, yamlnode.Index(path, i)
		}
		d.Errorf(line, ip, "%s cannot be exported: CodeBuild exports no variable whose name starts with AWS_", name)
	}
}

func contains(set []string, s string) bool {
	for _, c := range set {
		if c == s {
			return true
		}
	}
	return false
}

func (d *decoder) proxy(f yamlnode.Field) *Proxy {
	p := &Proxy{}
	for _, g := range d.Mapping(f.Value, f.Key) {
		gp := yamlnode.Join(f.Key, g.Key)
		switch g.Key {
		case "upload-artifacts":
			p.UploadArtifacts = d.Bool(g.Value, gp)
		case "logs":
			p.Logs = d.Bool(g.Value, gp)
		default:
			d.Unknown(g, gp, proxyKeys)
		}
	}
	d.warnf(f.Line, f.Key, "ignored: sluice does not run builds behind CodeBuild's explicit proxy")
	return p
}

func (d *decoder) phases(n *yaml.Node, path string) Phases {
	var ps Phases
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		name := PhaseName(f.Key)
		if f.Key == "during_build" && d.version == "0.0" {
			d.warnf(f.Line, fp, "read as build, the phase's name since version 0.1")
			name = Build
		}
		if !contains(phaseNames, string(name)) {
			d.Unknown(f, fp, phaseNames)
			continue
		}
		if ps.Get(name) != nil {
			d.Errorf(f.Line, fp, "conflicts with the %s phase given before", name)
			continue
		}
		ps.set(name, d.phase(f, fp, name))
	}
	return ps
}

func (d *decoder) phase(f yamlnode.Field, path string, name PhaseName) *Phase {
	ph := &Phase{Name: name, Line: f.Line}
	for _, g := range d.Mapping(f.Value, path) {
		gp := yamlnode.Join(path, g.Key)
		switch g.Key {
		case "run-as":
			ph.RunAs, ph.RunAsLine = d.Str(g.Value, gp), g.Line
		case "on-failure":
			ph.OnFailure = d.onFailure(g.Value, gp)
		case "runtime-versions":
			if name != Install {
				d.warnf(g.Line, gp, "ignored: only the install phase has runtime-versions")
				continue
			}
			ph.RuntimeVersions = d.stringMap(g.Value, gp)
			d.warnf(g.Line, gp, "ignored: sluice has no managed runtimes; commands use the tools installed where the build runs")
		case "commands":
			ph.Commands = d.commands(g.Value, gp)
		case "finally":
			ph.Finally = d.commands(g.Value, gp)
		default:
			d.Unknown(g, gp, phaseKeys)
		}
	}
	return ph
}

var retryCountRE = lazyregexp.New(`^([0-9]+)(?:-(.*))?$`)

// onFailure reads ABORT, CONTINUE, RETRY, RETRY-count, RETRY-regex or
// RETRY-count-regex. The keyword is read in any case; a regex is kept as written.
func (d *decoder) onFailure(n *yaml.Node, path string) OnFailure {
	n = yamlnode.Resolve(n)
	v := d.Str(n, path)
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
				d.Errorf(n.Line, path, "retry count must be from 0 to 100, not %s", m[1])
				return OnFailure{}
			}
			o.Retries, o.Pattern = count, ".*"
			if len(rest) > len(m[1]) { // RETRY-count-regex
				o.Pattern = m[2]
			}
		}
		if o.Pattern == "" {
			d.Errorf(n.Line, path, "%s, not %q: the regex after the last - is empty", want, v)
			return OnFailure{}
		}
		if _, err := regexp.Compile(o.Pattern); err != nil {
			d.Errorf(n.Line, path, "%q is not a regular expression sluice can use: %v", o.Pattern, err)
			return OnFailure{}
		}
		return o
	}
	d.Errorf(n.Line, path, "%s, not %q", want, v)
	return OnFailure{}
}

func (d *decoder) reports(n *yaml.Node, path string) []Report {
	var out []Report
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		r := Report{Name: f.Key, Line: f.Line, FileFormat: JUnitXML}
		for _, g := range d.Mapping(f.Value, fp) {
			gp := yamlnode.Join(fp, g.Key)
			switch g.Key {
			case "files":
				r.Files = d.StringOrList(g.Value, gp)
			case "base-directory":
				r.BaseDirectory = d.Str(g.Value, gp)
			case "discard-paths":
				r.DiscardPaths = d.Bool(g.Value, gp)
			case "file-format":
				r.FileFormat = d.reportFormat(g.Value, gp)
			default:
				d.Unknown(g, gp, reportKeys)
			}
		}
		if len(r.Files) == 0 {
			d.Errorf(f.Line, yamlnode.Join(fp, "files"), "missing: a report group needs the files that hold its reports")
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) reportFormat(n *yaml.Node, path string) ReportFormat {
	n = yamlnode.Resolve(n)
	v := d.Str(n, path)
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
	d.Errorf(n.Line, path, "unknown report format %q%s; CodeBuild reads %s", v, d.DidYouMean(strings.ToUpper(v), names), strings.Join(names, ", "))
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
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "files":
			a.Files = d.StringOrList(f.Value, fp)
		case "name":
			a.Name = d.Str(f.Value, fp)
		case "discard-paths":
			a.DiscardPaths = d.Bool(f.Value, fp)
		case "base-directory":
			a.BaseDirectory = d.Str(f.Value, fp)
		case "exclude-paths":
			a.ExcludePaths = d.StringOrList(f.Value, fp)
		case "enable-symlinks":
			a.EnableSymlinks = d.Bool(f.Value, fp)
		case "s3-prefix":
			a.S3Prefix = d.Str(f.Value, fp)
			d.warnf(f.Line, fp, "ignored: sluice does not write artifacts to S3")
		case "type":
			if d.version == "0.2" {
				d.Unknown(f, fp, known)
				continue
			}
			d.Str(f.Value, fp)
			d.warnf(f.Line, fp, "ignored: the artifact type is the project's setting (deprecated in the buildspec)")
		case "secondary-artifacts":
			if secondary == nil {
				d.Unknown(f, fp, known)
				continue
			}
			for _, g := range d.Mapping(f.Value, fp) {
				s := Artifact{Identifier: g.Key, Line: g.Line}
				gp := yamlnode.Join(fp, g.Key)
				d.artifact(g.Value, gp, &s, nil)
				if len(s.Files) == 0 {
					d.Errorf(g.Line, yamlnode.Join(gp, "files"), "missing: an artifact needs the files to put in it")
				}
				*secondary = append(*secondary, s)
			}
		default:
			d.Unknown(f, fp, known)
		}
	}
}

func (d *decoder) cache(n *yaml.Node, path string) *Cache {
	c := &Cache{}
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "key":
			c.Key = d.Str(f.Value, fp)
		case "fallback-keys":
			c.FallbackKeys = d.StringOrList(f.Value, fp)
		case "action":
			v := yamlnode.Resolve(f.Value)
			c.Action = strings.ToLower(d.Str(v, fp))
			if c.Action != "" && c.Action != "restore" && c.Action != "save" {
				d.Errorf(v.Line, fp, "must be restore or save, not %q (leave it out to do both)", d.Str(v, fp))
			}
		case "paths":
			c.Paths = d.StringOrList(f.Value, fp)
		default:
			d.Unknown(f, fp, cacheKeys)
		}
	}
	return c
}

func (d *decoder) batch(n *yaml.Node, path string) *Batch {
	b := &Batch{}
	var kind *yamlnode.Field
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "fast-fail":
			b.FastFail = d.Bool(f.Value, fp)
			continue
		case "build-graph", "build-list", "build-matrix", "build-fanout":
			if kind != nil {
				d.Errorf(f.Line, fp, "conflicts with %s on line %d: a batch is one of build-graph, build-list, build-matrix or build-fanout", kind.Key, kind.Line)
				continue
			}
			kind = &f
		default:
			d.Unknown(f, fp, batchKeys)
			continue
		}
		switch f.Key {
		case "build-graph":
			b.BuildGraph = d.tasks(f.Value, fp, true)
		case "build-list":
			b.BuildList = d.tasks(f.Value, fp, false)
		case "build-matrix":
			b.BuildMatrix = d.matrix(f.Value, fp)
		case "build-fanout":
			b.BuildFanout = d.fanout(f.Value, fp)
		}
	}
	return b
}

func (d *decoder) tasks(n *yaml.Node, path string, graph bool) []BatchBuild {
	items := d.ListOf(n, path, "a list of builds")
	if items == nil {
		return nil
	}
	known := taskKeys
	if !graph {
		known = []string{"identifier", "buildspec", "env", "ignore-failure", "debug-session"}
	}
	out := make([]BatchBuild, 0, len(items))
	ids := map[string]int{}
	for i, item := range items {
		ip := yamlnode.Index(path, i)
		t := BatchBuild{Line: yamlnode.Resolve(item).Line}
		for _, f := range d.Mapping(item, ip) {
			fp := yamlnode.Join(ip, f.Key)
			switch f.Key {
			case "identifier":
				t.Identifier = d.Str(f.Value, fp)
				if first, dup := ids[t.Identifier]; dup && t.Identifier != "" {
					d.Errorf(f.Line, fp, "%q is already the identifier of the build on line %d", t.Identifier, first)
				} else {
					ids[t.Identifier] = t.Line
				}
			case "buildspec":
				t.Buildspec = d.Str(f.Value, fp)
			case "env":
				t.Env = d.batchEnv(f.Value, fp)
			case "depend-on":
				if !graph {
					d.Unknown(f, fp, known)
					continue
				}
				t.DependOn = d.StringOrList(f.Value, fp)
			case "ignore-failure":
				t.IgnoreFailure = d.Bool(f.Value, fp)
			case "debug-session":
				t.DebugSession = d.Bool(f.Value, fp)
			default:
				d.Unknown(f, fp, known)
			}
		}
		if graph && t.Identifier == "" && yamlnode.Resolve(item).Kind == yaml.MappingNode {
			d.Errorf(t.Line, yamlnode.Join(ip, "identifier"), "missing: every build of a build graph needs an identifier")
		}
		out = append(out, t)
	}
	if graph {
		for i, t := range out {
			for j, dep := range t.DependOn {
				if _, ok := ids[dep]; !ok {
					d.Errorf(t.Line, yamlnode.Index(yamlnode.Join(yamlnode.Index(path, i), "depend-on"), j), "no build in the graph has the identifier %q", dep)
				}
			}
		}
	}
	return out
}

func (d *decoder) batchEnv(n *yaml.Node, path string) BatchEnv {
	var e BatchEnv
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "compute-type":
			e.ComputeType = d.Str(f.Value, fp)
		case "fleet":
			e.Fleet = d.Str(f.Value, fp)
		case "image":
			e.Image = d.Str(f.Value, fp)
		case "type":
			e.Type = d.Str(f.Value, fp)
		case "privileged-mode":
			v := d.Bool(f.Value, fp)
			e.PrivilegedMode = &v
		case "variables":
			e.Variables = d.variables(f.Value, fp)
		default:
			d.Unknown(f, fp, benvKeys)
		}
	}
	return e
}

func (d *decoder) matrix(n *yaml.Node, path string) *BuildMatrix {
	m := &BuildMatrix{}
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "static":
			for _, g := range d.Mapping(f.Value, fp) {
				gp := yamlnode.Join(fp, g.Key)
				switch g.Key {
				case "ignore-failure":
					m.Static.IgnoreFailure = d.Bool(g.Value, gp)
				case "env":
					m.Static.Env = d.batchEnv(g.Value, gp)
				default:
					d.Unknown(g, gp, staticKeys)
				}
			}
		case "dynamic":
			for _, g := range d.Mapping(f.Value, fp) {
				gp := yamlnode.Join(fp, g.Key)
				switch g.Key {
				case "buildspec":
					m.Dynamic.Buildspec = d.StringOrList(g.Value, gp)
				case "env":
					m.Dynamic.Env = d.matrixEnv(g.Value, gp)
				default:
					d.Unknown(g, gp, dynamicKeys)
				}
			}
		default:
			d.Unknown(f, fp, matrixKeys)
		}
	}
	return m
}

func (d *decoder) matrixEnv(n *yaml.Node, path string) MatrixEnv {
	var e MatrixEnv
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "compute-type":
			e.ComputeType = d.StringOrList(f.Value, fp)
		case "fleet":
			e.Fleet = d.StringOrList(f.Value, fp)
		case "image":
			e.Image = d.StringOrList(f.Value, fp)
		case "variables":
			fs := d.Mapping(f.Value, fp)
			if len(fs) > 0 {
				e.Variables = make(map[string][]string, len(fs))
			}
			for _, g := range fs {
				e.Variables[g.Key] = d.StringOrList(g.Value, yamlnode.Join(fp, g.Key))
			}
		default:
			d.Unknown(f, fp, denvKeys)
		}
	}
	return e
}

func (d *decoder) fanout(n *yaml.Node, path string) *BuildFanout {
	fo := &BuildFanout{}
	for _, f := range d.Mapping(n, path) {
		fp := yamlnode.Join(path, f.Key)
		switch f.Key {
		case "parallelism":
			v := yamlnode.Resolve(f.Value)
			p, err := strconv.Atoi(d.Scalar(v, fp, "a whole number"))
			if v.Kind == yaml.ScalarNode && (v.Tag != "!!int" || err != nil || p < 1) {
				d.Errorf(v.Line, fp, "must be a whole number from 1, not %s", d.Describe(v))
				continue
			}
			fo.Parallelism = p
		case "ignore-failure":
			fo.IgnoreFailure = d.Bool(f.Value, fp)
		default:
			d.Unknown(f, fp, fanoutKeys)
		}
	}
	return fo
}

// containers reads version 0.0's containers section, in which one named
// container holds the phases and artifacts that later versions put at the
// top. Only the first container is read.
func (d *decoder) containers(f yamlnode.Field, s *Spec) {
	fs := d.Mapping(f.Value, f.Key)
	for i, c := range fs {
		cp := yamlnode.Join(f.Key, c.Key)
		if i > 0 {
			d.warnf(c.Line, cp, "ignored: only the first container of a version 0.0 buildspec is read")
			continue
		}
		d.warnf(c.Line, cp, "read as the buildspec's phases and artifacts, as in version 0.1")
		for _, g := range d.Mapping(c.Value, cp) {
			gp := yamlnode.Join(cp, g.Key)
			switch g.Key {
			case "phases":
				s.Phases = d.phases(g.Value, gp)
			case "artifacts":
				s.Artifacts = d.artifacts(g.Value, gp)
			default:
				d.Unknown(g, gp, []string{"phases", "artifacts"})
			}
		}
	}
}
