package pipeline

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Parse reads one pipeline declaration from data, in YAML or JSON, in any of
// three shapes: the document `aws codepipeline get-pipeline` prints
// ({"pipeline": ..., "metadata": ...}), the same without metadata, or the bare
// pipeline object (sluice's native YAML). A top-level `pipeline` key tells the
// first two from the third.
//
// filename is used in error messages and to tell JSON from YAML. The returned
// pipeline has its defaults filled in and has passed Validate. On failure the
// error is a yamlnode.ErrorList holding every problem found, in file order, each
// naming file, line and field.
func Parse(filename string, data []byte) (*Pipeline, error) {
	return ParseWith(filename, data)
}

// Check is a further rule a caller applies to a parsed pipeline, beyond Validate;
// its errors carry paths, and ParseWith places them on lines like Validate's.
type Check func(p *Pipeline) yamlnode.ErrorList

// ParseWith is Parse with further checks.
func ParseWith(filename string, data []byte, checks ...Check) (*Pipeline, error) {
	root, perr := yamlnode.ReadDocument(filename, data, "pipeline")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	return ParseNode(filename, root, checks...)
}

// ParseNode is ParseWith of a document already read into a node tree, such
// as the get-pipeline document package cfntemplate makes of a
// CloudFormation template, whose nodes carry the template's lines.
func ParseNode(filename string, root *yaml.Node, checks ...Check) (*Pipeline, error) {
	d := newDecoder(filename)
	p := d.document(root)
	if p == nil {
		if len(d.errs) == 0 {
			d.Errorf(root.Line, "", "no pipeline found")
		}
		d.errs.SortByLine()
		return nil, d.errs
	}
	p.SetDefaults()
	errs := d.errs
	problems := p.Validate()
	for _, check := range checks {
		problems = append(problems, check(p)...)
	}
	for _, e := range problems {
		if d.Failed(e.Path) {
			// The field did not decode; its zero value would only repeat
			// the complaint already made about it.
			continue
		}
		e.File = filename
		e.Line = d.LineOf(e.Path)
		if w, ok := d.written[e.Path]; ok {
			e.Path = w
		}
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		errs.SortByLine()
		return nil, errs
	}
	return p, nil
}

// Locate finds where field (a path as Validate's errors have them, such as
// "triggers[0].pipeline.name") is written in the pipeline file data: its
// line, or its parent's when it is not written, and the path as written.
// It is for problems found after parsing, such as a cycle refused at apply,
// so that they name the file's line as parse errors do. Line is 0 when data
// does not read.
func Locate(filename string, data []byte, field string) (line int, written string) {
	root, perr := yamlnode.ReadDocument(filename, data, "pipeline")
	if perr != nil {
		return 0, field
	}
	d := newDecoder(filename)
	if d.document(root) == nil {
		return 0, field
	}
	written = field
	if w, ok := d.written[field]; ok {
		written = w
	}
	return d.LineOf(field), written
}

// decoder walks a node tree into a Pipeline. It never stops at the first
// problem: each is recorded and the walk goes on, so one run reports them all.
type decoder struct {
	*yamlnode.Decoder
	errs yamlnode.ErrorList
	// written maps the path validation uses to the path the user wrote,
	// where a shortcut made them differ (provider beside actionTypeId, an
	// input artifact given as a plain string).
	written map[string]string
}

func newDecoder(file string) *decoder {
	d := &decoder{written: map[string]string{}}
	d.Decoder = yamlnode.New(yamlnode.Options{
		Report: func(line int, path, msg string) {
			d.errs = append(d.errs, &yamlnode.Error{File: file, Line: line, Path: path, Msg: msg})
		},
		MergeKeys:    true,
		CheckTags:    true,
		FailOnBadKey: true,
		Scalar: func(n *yaml.Node, path string) (string, bool) {
			// Unquoted, "echo x #{build.Tag}" ends at " #": YAML reads the
			// rest as a comment and the reference silently disappears.
			if n.Kind == yaml.ScalarNode && n.Style == 0 && strings.HasPrefix(n.LineComment, "#{") {
				d.errs = append(d.errs, &yamlnode.Error{File: file, Line: n.Line, Path: path,
					Msg: fmt.Sprintf("%q is cut short: YAML reads %q after a space as a comment; quote the whole value", n.Value, n.LineComment)})
			}
			return "", false
		},
	})
	return d
}

// Field paths are yamlnode's: stages[1].actions[0].name.
func joinPath(parent, field string) string  { return yamlnode.Join(parent, field) }
func indexPath(parent string, i int) string { return yamlnode.Index(parent, i) }

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
		"roleArn", "artifactStore", "artifactStores", "version", "triggers", "lock", "role",
		"commitStatus", "forkSecrets",
	}
	commitStatusFields = []string{"report", "context"}
	variableFields     = []string{"name", "defaultValue", "description"}
	stageFields        = []string{"name", "actions", "lock", "blockers", "onFailure", "onSuccess", "beforeEntry"}
	actionFields       = []string{
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

var artifactStoreFields = []string{"type", "location", "encryptionKey"}

// artifactStores decodes CodePipeline's artifactStores: region → {type,
// location, encryptionKey}; the key is a KMS key sluice has no use for.
func (d *decoder) artifactStores(n *yaml.Node, path string) map[string]ArtifactStore {
	out := map[string]ArtifactStore{}
	for _, f := range d.Mapping(n, path) {
		rp := joinPath(path, f.Key)
		var st ArtifactStore
		for _, sf := range d.Mapping(f.Value, rp) {
			sp := joinPath(rp, sf.Key)
			switch sf.Key {
			case "type":
				st.Type = d.Str(sf.Value, sp)
			case "location":
				st.Location = d.Str(sf.Value, sp)
			case "encryptionKey":
			default:
				d.Unknown(sf, sp, artifactStoreFields)
			}
		}
		out[f.Key] = st
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// document decodes the top of the file, in whichever of the three shapes it is.
func (d *decoder) document(root *yaml.Node) *Pipeline {
	root = yamlnode.Resolve(root)
	if !d.TagOK(root, "") {
		return nil
	}
	if yamlnode.IsNull(root) {
		d.Errorf(max(root.Line, 1), "", "empty document: no pipeline in it")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "a pipeline must be a mapping, not %s", d.Describe(root))
		return nil
	}
	if !d.HasKey(root, "pipeline") {
		if !d.HasKey(root, "stages") && (d.HasKey(root, "AWSTemplateFormatVersion") || d.HasKey(root, "Resources")) {
			// One clear sentence beats an "unknown field" for every
			// section of the template.
			d.Errorf(root.Line, "", "this is a CloudFormation template: `sluice pipeline apply -f FILE [--parameter K=V]…` "+
				"applies its AWS::CodePipeline::Pipeline resources")
			return nil
		}
		return d.pipeline(root, true)
	}
	var p *Pipeline
	for _, f := range d.Fields(root, "") {
		switch f.Key {
		case "pipeline":
			n := yamlnode.Resolve(f.Value)
			if !d.TagOK(n, "pipeline") {
				continue
			}
			if n.Kind != yaml.MappingNode {
				d.Errorf(n.Line, "pipeline", "must be a mapping, not %s", d.Describe(n))
				continue
			}
			p = d.pipeline(n, false)
		case "metadata", "tags":
			// Describes the stored copy in CodePipeline (and its tags,
			// in create-pipeline input); nothing sluice declares.
		default:
			d.Unknown(f, f.Key, documentFields)
		}
	}
	return p
}

func (d *decoder) pipeline(n *yaml.Node, bare bool) *Pipeline {
	p := &Pipeline{}
	d.SetLine("", n.Line)
	known := pipelineFields
	if bare {
		// A misspelt `pipeline` key makes the file look like a bare pipeline.
		known = append(known[:len(known):len(known)], "pipeline")
	}
	for _, f := range d.Fields(n, "") {
		path := f.Key
		switch f.Key {
		case "name":
			p.Name = d.Str(f.Value, path)
		case "pipelineType":
			p.PipelineType = canonicalCase(d.Str(f.Value, path), pipelineTypes)
		case "executionMode":
			p.ExecutionMode = ExecutionMode(strings.ToUpper(d.Str(f.Value, path)))
		case "variables":
			p.Variables = d.variables(f.Value, path)
		case "stages":
			p.Stages = d.stages(f.Value, path)
		case "roleArn", "role":
			role := d.Str(f.Value, path)
			if p.Role != "" && RoleName(role) != RoleName(p.Role) {
				d.Errorf(f.Value.Line, path, "names role %q, but the pipeline also names role %q: give one", RoleName(role), RoleName(p.Role))
			}
			p.Role = role
		case "artifactStores":
			p.ArtifactStores = d.artifactStores(f.Value, path)
			if len(p.ArtifactStores) > 0 && d.HasKey(n, "artifactStore") {
				d.Errorf(f.Line, path, "artifactStore and artifactStores are mutually exclusive: give artifactStore for a pipeline in one region, artifactStores for one whose actions run in several")
			}
		case "artifactStore", "version":
			// CodePipeline's own settings; sluice has no use for them.
		case "triggers":
			p.Triggers = d.triggers(f.Value, path)
		case "lock":
			p.Lock = d.Str(f.Value, path)
		case "forkSecrets":
			p.ForkSecrets = d.Bool(f.Value, path)
		case "commitStatus":
			p.CommitStatus = &CommitStatus{}
			for _, cf := range d.Mapping(f.Value, path) {
				cp := joinPath(path, cf.Key)
				switch cf.Key {
				case "report":
					b := d.Bool(cf.Value, cp)
					p.CommitStatus.Report = &b
				case "context":
					p.CommitStatus.Context = d.Str(cf.Value, cp)
				default:
					d.Unknown(cf, cp, commitStatusFields)
				}
			}
		default:
			d.Unknown(f, path, known)
		}
	}
	return p
}

func (d *decoder) variables(n *yaml.Node, path string) []Variable {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]Variable, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		fs := d.Mapping(item, ip)
		for _, f := range fs {
			fp := joinPath(ip, f.Key)
			switch f.Key {
			case "name":
				out[i].Name = d.Str(f.Value, fp)
			case "defaultValue":
				out[i].DefaultValue = d.Str(f.Value, fp)
			case "description":
				out[i].Description = d.Str(f.Value, fp)
			default:
				d.Unknown(f, fp, variableFields)
			}
		}
	}
	return out
}

func (d *decoder) stages(n *yaml.Node, path string) []Stage {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]Stage, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		fs := d.Mapping(item, ip)
		for _, f := range fs {
			fp := joinPath(ip, f.Key)
			switch f.Key {
			case "name":
				out[i].Name = d.Str(f.Value, fp)
			case "actions":
				out[i].Actions = d.actions(f.Value, fp)
			case "lock":
				out[i].Lock = d.Str(f.Value, fp)
			case "beforeEntry":
				out[i].BeforeEntry = d.beforeEntry(f.Value, fp)
			case "onSuccess":
				out[i].OnSuccess = d.onSuccess(f.Value, fp)
			case "onFailure":
				out[i].OnFailure = d.onFailure(f.Value, fp)
			case "blockers":
				// CodePipeline: "reserved for future use".
			default:
				d.Unknown(f, fp, stageFields)
			}
		}
	}
	return out
}

func (d *decoder) actions(n *yaml.Node, path string) []Action {
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]Action, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		out[i] = d.action(item, ip)
	}
	return out
}

func (d *decoder) action(n *yaml.Node, path string) Action {
	var a Action
	fs := d.Mapping(n, path)
	var typeLine int
	var flat []yamlnode.Field
	for _, f := range fs {
		fp := joinPath(path, f.Key)
		switch f.Key {
		case "name":
			a.Name = d.Str(f.Value, fp)
		case "actionTypeId":
			typeLine = f.Line
			d.actionTypeID(f.Value, fp, &a.ActionTypeID)
		case "provider", "category", "owner", "version":
			// The native shortcut: the action type's fields beside the
			// action's own; applied below, once it is known that there
			// is no actionTypeId to conflict with.
			flat = append(flat, f)
		case "runOrder":
			a.RunOrder = d.Int(f.Value, fp)
		case "configuration":
			a.Configuration = d.configuration(f.Value, fp)
		case "commands":
			a.Commands = d.Strings(f.Value, fp)
		case "outputVariables":
			a.OutputVariables = d.Strings(f.Value, fp)
		case "inputArtifacts":
			a.InputArtifacts = d.inputArtifacts(f.Value, fp)
		case "outputArtifacts":
			a.OutputArtifacts = d.outputArtifacts(f.Value, fp)
		case "namespace":
			a.Namespace = d.Str(f.Value, fp)
		case "region":
			a.Region = d.Str(f.Value, fp)
		case "roleArn":
			// The role the action's aws connection assumes (see
			// docs/deploys.md); sluice's own permissions work differently.
			a.RoleArn = d.Str(f.Value, fp)
		case "timeoutInMinutes":
			a.TimeoutInMinutes = d.Int(f.Value, fp)
		case "maxAttempts":
			a.MaxAttempts = d.Int(f.Value, fp)
		default:
			d.Unknown(f, fp, actionFields)
		}
	}
	switch {
	case typeLine > 0 && len(flat) > 0:
		d.Errorf(flat[0].Line, joinPath(path, flat[0].Key),
			"conflicts with actionTypeId on line %d: give the action type one way or the other", typeLine)
	case len(flat) > 0:
		for _, f := range flat {
			fp := joinPath(path, f.Key)
			// Validation reports under the canonical path; show the
			// path as written.
			canonical := joinPath(joinPath(path, "actionTypeId"), f.Key)
			d.SetLine(canonical, f.Line)
			d.written[canonical] = fp
			setActionTypeField(&a.ActionTypeID, f.Key, d.Str(f.Value, fp))
			if d.Failed(fp) {
				d.Fail(canonical)
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
	fs := d.Mapping(n, path)
	for _, f := range fs {
		fp := joinPath(path, f.Key)
		switch f.Key {
		case "category", "owner", "provider", "version":
			setActionTypeField(id, f.Key, d.Str(f.Value, fp))
		default:
			d.Unknown(f, fp, actionTypeFields)
		}
	}
}

// configuration reads the action's key-value settings. Values may be any
// scalar and are kept as written, because providers receive strings, as in
// CodePipeline; nested values have no string form a provider could expect.
func (d *decoder) configuration(n *yaml.Node, path string) map[string]string {
	fs := d.Mapping(n, path)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		fp := joinPath(path, f.Key)
		out[f.Key] = d.Scalar(f.Value, fp, "a string, number or boolean")
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
	items := d.List(n, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]OutputArtifact, len(items))
	for i, item := range items {
		ip := indexPath(path, i)
		item = yamlnode.Resolve(item)
		if !d.TagOK(item, ip) {
			continue
		}
		switch item.Kind {
		case yaml.ScalarNode:
			np := joinPath(ip, "name")
			d.SetLine(np, item.Line)
			d.written[np] = ip
			out[i].Name = d.Str(item, ip)
		case yaml.MappingNode:
			for _, f := range d.Fields(item, ip) {
				fp := joinPath(ip, f.Key)
				switch {
				case f.Key == "name":
					out[i].Name = d.Str(f.Value, fp)
				case f.Key == "files" && withFiles:
					out[i].Files = d.Strings(f.Value, fp)
				default:
					d.Unknown(f, fp, known)
				}
			}
		default:
			d.TypeError(item, ip, "an artifact name or a mapping with a name")
		}
	}
	return out
}
