// Package cfntemplate reads CloudFormation templates (YAML with the
// short-form tags, or JSON, as `cdk synth` writes them) for the pipelines
// they declare: every AWS::CodePipeline::Pipeline, its Properties with the
// template's intrinsic functions resolved (Ref, Fn::Sub, Fn::GetAtt,
// Fn::Join, Fn::If and the conditions, Fn::FindInMap, Fn::Select, Fn::Split,
// Fn::Base64, Fn::ImportValue, the pseudo parameters) and turned into the
// document `aws codepipeline get-pipeline` prints, which package pipeline
// reads. Each node of that document keeps the line of the template it came
// from, so that a problem names the template's line.
//
// What only CloudFormation knows (another resource's attribute, the name it
// makes up for a resource that gives none) is resolved from Options.Values,
// or named with its file, line and field and how to give it. It also turns a
// pipeline's get-pipeline document back into a template (Export).
package cfntemplate

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// PipelineType is the resource type read.
const PipelineType = "AWS::CodePipeline::Pipeline"

// Options is what a template is resolved with.
type Options struct {
	// Parameters are the values of the template's parameters (--parameter
	// K=V); a parameter not given takes its Default.
	Parameters map[string]string
	// Values are what CloudFormation would know of other resources: "NAME"
	// for !Ref NAME, "NAME.Attr" for !GetAtt NAME.Attr, "import:EXPORT" for
	// !ImportValue EXPORT (--resource-value K=V, or a --resource-values file).
	Values map[string]string
	// StackName is AWS::StackName (default "sluice").
	StackName string
	// AWS gives AWS::Region and AWS::AccountId (default awsid.Default()).
	AWS awsid.ID
}

// Pipeline is one AWS::CodePipeline::Pipeline of a template.
type Pipeline struct {
	Logical string // the resource's logical id
	Name    string // Properties.Name, or the logical id when it gives none
	Line    int    // where the resource is declared
	// Document is the get-pipeline document ({"pipeline": {...}, "tags":
	// [...]}), its nodes on the template's lines.
	Document *yaml.Node
	// DisabledTransitions are DisableInboundStageTransitions, for the caller
	// to disable once the pipeline exists.
	DisabledTransitions []Transition
	// Notes say what was read but has no effect in sluice.
	Notes []string
}

// Transition is a stage whose inbound transition starts disabled.
type Transition struct {
	Stage, Reason string
	Line          int
}

// IsTemplate reports whether root (as yamlnode.ReadDocument reads a file)
// is a CloudFormation template rather than a pipeline declaration.
func IsTemplate(root *yaml.Node) bool {
	root = yamlnode.Resolve(root)
	if root == nil || root.Kind != yaml.MappingNode {
		return false
	}
	keys := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		keys[root.Content[i].Value] = true
	}
	if keys["stages"] || keys["pipeline"] {
		return false
	}
	return keys["AWSTemplateFormatVersion"] || keys["Resources"]
}

// Read resolves the template in data and returns its pipelines, in the
// order the template declares them. The error is a yamlnode.ErrorList
// naming the file, line and field of every problem found.
func Read(file string, data []byte, opts Options) ([]Pipeline, error) {
	root, perr := yamlnode.ReadDocument(file, data, "template")
	if perr != nil {
		return nil, yamlnode.ErrorList{perr}
	}
	return ReadNode(file, root, opts)
}

// ReadNode is Read of a document already read.
func ReadNode(file string, root *yaml.Node, opts Options) ([]Pipeline, error) {
	e := newEvaluator(file, opts)
	root = yamlnode.Resolve(root)
	if root == nil || root.Kind != yaml.MappingNode {
		e.errorf(lineOf(root), "", "a template must be a mapping of sections (AWSTemplateFormatVersion, Parameters, Resources, …)")
		return nil, e.errs
	}
	var resources *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], yamlnode.Resolve(root.Content[i+1])
		switch k.Value {
		case "Parameters":
			e.readParameters(k, v)
		case "Mappings":
			e.mappings = v
		case "Conditions":
			if v.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(v.Content); j += 2 {
					e.conditions[v.Content[j].Value] = v.Content[j+1]
				}
			}
		case "Resources":
			resources = v
		case "Transform":
			e.errorf(k.Line, "Transform", "macros (%s) run inside CloudFormation; give the processed template instead (aws cloudformation get-template --template-stage Processed, or cdk synth)", describe(v))
		}
	}
	if resources == nil || resources.Kind != yaml.MappingNode {
		e.errorf(root.Line, "Resources", "the template declares no Resources")
		return nil, e.errs
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		e.resources[resources.Content[i].Value] = yamlnode.Resolve(resources.Content[i+1])
		e.order = append(e.order, resources.Content[i].Value)
	}
	var out []Pipeline
	for i := 0; i+1 < len(resources.Content); i += 2 {
		logical := resources.Content[i].Value
		res := e.resources[logical]
		if e.resourceType(logical) != PipelineType {
			continue
		}
		path := "Resources." + logical
		if c := field(res, "Condition"); c != nil {
			on, ok := e.condition(c.Value, c.Line, path+".Condition")
			if !ok {
				continue
			}
			if !on {
				continue // CloudFormation would not create it
			}
		}
		p := e.pipeline(logical, res, path)
		if p != nil {
			out = append(out, *p)
		}
	}
	e.finish()
	if len(e.errs) > 0 {
		e.errs.SortByLine()
		return nil, e.errs
	}
	if len(out) == 0 {
		return nil, yamlnode.ErrorList{{File: file, Line: resources.Line, Path: "Resources", Msg: "the template declares no " + PipelineType + " (or none whose Condition holds)"}}
	}
	return out, nil
}

// pipelineSkipped are Properties sluice has no use for, left unresolved so
// that what they name (an artifact bucket, a KMS key) need not be given.
var pipelineSkipped = map[string]string{
	"ArtifactStore":            "",
	"ArtifactStores":           "",
	"RestartExecutionOnUpdate": "RestartExecutionOnUpdate is CloudFormation's: sluice starts no execution when a pipeline is applied",
}

func (e *evaluator) pipeline(logical string, res *yaml.Node, path string) *Pipeline {
	p := &Pipeline{Logical: logical, Name: logical, Line: res.Line}
	props := field(res, "Properties")
	if props == nil || props.Kind != yaml.MappingNode {
		e.errorf(res.Line, path+".Properties", "a pipeline needs Properties (Name, RoleArn, Stages, …)")
		return nil
	}
	path += ".Properties"
	pipe := mapping(props.Line)
	doc := mapping(res.Line)
	var tags *yaml.Node
	for i := 0; i+1 < len(props.Content); i += 2 {
		k, raw := props.Content[i], props.Content[i+1]
		fp := path + "." + k.Value
		if note, skip := pipelineSkipped[k.Value]; skip {
			if note != "" {
				p.Notes = append(p.Notes, fmt.Sprintf("%s:%d: %s", e.file, k.Line, note))
			}
			continue
		}
		v := e.eval(raw, fp)
		if v == nil || v == noValue {
			continue
		}
		switch k.Value {
		case "Name":
			if v.Kind == yaml.ScalarNode {
				p.Name = v.Value
			}
			addPair(pipe, "name", k.Line, v)
		case "Tags":
			tags = lowerKeys(v, false)
		case "DisableInboundStageTransitions":
			if v.Kind != yaml.SequenceNode {
				e.errorf(v.Line, fp, "must be a list of {StageName, Reason}")
				continue
			}
			for j, t := range v.Content {
				st, reason := field(t, "StageName"), field(t, "Reason")
				if st == nil || st.Kind != yaml.ScalarNode {
					e.errorf(t.Line, fmt.Sprintf("%s[%d].StageName", fp, j), "is required")
					continue
				}
				tr := Transition{Stage: st.Value, Line: t.Line}
				if reason != nil {
					tr.Reason = reason.Value
				}
				p.DisabledTransitions = append(p.DisabledTransitions, tr)
			}
		default:
			addPair(pipe, lowerFirst(k.Value), k.Line, lowerKeys(v, false))
		}
	}
	if field(pipe, "name") == nil {
		addPair(pipe, "name", res.Line, scalar(logical, res.Line))
		p.Notes = append(p.Notes, fmt.Sprintf("%s:%d: %s gives no Name; the pipeline is named %s, its logical id (CloudFormation would make one up)", e.file, res.Line, path, logical))
	}
	addPair(doc, "pipeline", res.Line, pipe)
	if tags != nil {
		addPair(doc, "tags", tags.Line, tags)
	}
	p.Document = doc
	return p
}

// lowerKeys turns CloudFormation's capitalised property names into
// CodePipeline's API names (ActionTypeId → actionTypeId), except inside an
// action's or a rule's Configuration, whose keys are the provider's own
// (ProjectName stays ProjectName) and whose values are strings to
// CodePipeline (false becomes "false").
func lowerKeys(n *yaml.Node, inConfig bool) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		out := mapping(n.Line)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if inConfig {
				if v.Kind == yaml.ScalarNode {
					s := *v
					s.Tag, s.Style = "!!str", yaml.DoubleQuotedStyle
					v = &s
				}
				addPair(out, k.Value, k.Line, v)
				continue
			}
			name := lowerFirst(k.Value)
			addPair(out, name, k.Line, lowerKeys(v, name == "configuration"))
		}
		return out
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
		for _, c := range n.Content {
			out.Content = append(out.Content, lowerKeys(c, false))
		}
		return out
	}
	return n
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// TemplatePath turns a path into the get-pipeline document, as package
// pipeline's errors give it (stages[0].actions[1].actionTypeId), into the
// template's (Resources.LOGICAL.Properties.Stages[0].Actions[1].ActionTypeId),
// so that a problem found in the pipeline names what to change in the
// template.
func TemplatePath(logical, path string) string {
	if path == "" {
		return "Resources." + logical + ".Properties"
	}
	if rest, ok := strings.CutPrefix(path, "tags"); ok {
		return "Resources." + logical + ".Properties.Tags" + capitalise(rest, false)
	}
	return "Resources." + logical + ".Properties." + capitalise(path, true)
}

func capitalise(path string, first bool) string {
	parts := strings.Split(path, ".")
	inConfig := false
	for i, p := range parts {
		if p == "" {
			continue
		}
		if !inConfig && (i > 0 || first) {
			parts[i] = upperFirst(p)
		}
		base, _, _ := strings.Cut(p, "[")
		inConfig = base == "configuration"
	}
	return strings.Join(parts, ".")
}

func mapping(line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: 1}
}

func scalar(s string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Line: line, Column: 1, Style: yaml.DoubleQuotedStyle}
}

func addPair(m *yaml.Node, key string, line int, v *yaml.Node) {
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: line, Column: 1}, v)
}

// field is the value of key in mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	n = yamlnode.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return yamlnode.Resolve(n.Content[i+1])
		}
	}
	return nil
}

func lineOf(n *yaml.Node) int {
	if n == nil {
		return 1
	}
	return max(n.Line, 1)
}

func describe(n *yaml.Node) string { return yamlnode.Describe(n) }

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// Parse reads p's document as package pipeline does a pipeline file, with
// checks, naming any problem by the template's line and its path in the
// template (Resources.LOGICAL.Properties.Stages[0]…).
func Parse(file string, p Pipeline, checks ...pipeline.Check) (*pipeline.Pipeline, error) {
	decl, err := pipeline.ParseNode(file, p.Document, checks...)
	var list yamlnode.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			if e.File == file {
				e.Path = TemplatePath(p.Logical, strings.TrimPrefix(strings.TrimPrefix(e.Path, "pipeline."), "pipeline"))
			}
		}
		return nil, list
	}
	return decl, err
}

func readDoc(src string) (*yaml.Node, error) {
	root, e := yamlnode.ReadDocument("t.yml", []byte(src), "template")
	if e != nil {
		return nil, e
	}
	return root, nil
}
