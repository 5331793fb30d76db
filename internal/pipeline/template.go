package pipeline

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// A CloudFormation template holding one AWS::CodePipeline::Pipeline resource
// (what `cdk synth` writes for a CDK pipeline) is read as that pipeline: its
// Properties are CodePipeline's pipeline structure with the keys capitalised,
// so they are renamed in place (lines stay where they were) and decoded as
// any declaration. Intrinsic functions (Ref, Fn::GetAtt, !Sub…) stand for
// other resources of the template, which sluice does not create: where
// sluice ignores the field anyway (roleArn, artifactStore) they are dropped,
// elsewhere they are refused with their line, naming the literal to give.

// templateOnly are the template's properties of a pipeline that have no
// place in a sluice declaration.
var templateOnly = []string{"Tags", "RestartExecutionOnUpdate", "DisableInboundStageTransitions",
	// Where CodePipeline keeps artifacts: sluice has its own store, and a
	// template names a bucket resource here.
	"ArtifactStore", "ArtifactStores"}

// ignoredWithIntrinsics are fields sluice ignores, where an intrinsic
// function is dropped rather than refused.
var ignoredWithIntrinsics = []string{"roleArn"}

// templatePipeline returns the Properties of the template's one pipeline
// resource, renamed to the declaration's keys, or nil after reporting why
// there is none.
func (d *decoder) templatePipeline(root *yaml.Node) *yaml.Node {
	var resources *yaml.Node
	for _, f := range d.Entries(root, "") {
		if f.Key == "Resources" {
			resources = f.Value
		}
	}
	if resources == nil || resources.Kind != yaml.MappingNode {
		d.Errorf(root.Line, "", "this is a CloudFormation template without Resources; sluice reads a pipeline declaration "+
			"(native YAML, the JSON of aws codepipeline get-pipeline, or a template with one AWS::CodePipeline::Pipeline)")
		return nil
	}
	type found struct {
		id   string
		node *yaml.Node
		line int
	}
	var pipelines []found
	for _, r := range d.Entries(resources, "Resources") {
		if r.Value.Kind != yaml.MappingNode {
			continue
		}
		var typ string
		var props *yaml.Node
		for i := 0; i+1 < len(r.Value.Content); i += 2 {
			switch r.Value.Content[i].Value {
			case "Type":
				typ = r.Value.Content[i+1].Value
			case "Properties":
				props = r.Value.Content[i+1]
			}
		}
		if typ == "AWS::CodePipeline::Pipeline" {
			pipelines = append(pipelines, found{r.Key, props, r.Line})
		}
	}
	switch {
	case len(pipelines) == 0:
		d.Errorf(resources.Line, "Resources", "this CloudFormation template declares no AWS::CodePipeline::Pipeline; sluice reads pipelines only")
		return nil
	case len(pipelines) > 1:
		var ids []string
		for _, p := range pipelines {
			ids = append(ids, p.id)
		}
		d.Errorf(pipelines[1].line, "Resources."+pipelines[1].id, "the template declares %d pipelines (%s); apply one per file", len(pipelines), strings.Join(ids, ", "))
		return nil
	}
	p := pipelines[0]
	if p.node == nil || p.node.Kind != yaml.MappingNode {
		d.Errorf(p.line, "Resources."+p.id, "pipeline %s has no Properties", p.id)
		return nil
	}
	d.camelize(p.node, "")
	if !d.HasKey(p.node, "name") {
		// CDK leaves Name out unless pipelineName is given; CloudFormation
		// then names the pipeline after the stack. The logical id is what
		// the template itself knows.
		p.node.Content = append(p.node.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "name", Line: p.line},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.id, Line: p.line})
	}
	return p.node
}

// camelize renames the keys of a template's pipeline properties to the
// declaration's (Stages → stages), leaving configuration maps alone, drops
// what only a template has, and takes out intrinsic functions.
func (d *decoder) camelize(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.SequenceNode:
		var kept []*yaml.Node
		for i, item := range n.Content {
			ip := indexPath(path, i)
			if isIntrinsic(item) {
				// Fn::If around a list item: which branch CloudFormation
				// takes depends on the stack's parameters.
				d.Errorf(item.Line, ip, "is a CloudFormation intrinsic function (%s), which sluice does not evaluate; give the item itself", intrinsicName(item))
				d.Fail(path) // the list is short of it: no "required" besides
				continue
			}
			d.camelize(item, ip)
			kept = append(kept, item)
		}
		n.Content = kept
	case yaml.MappingNode:
		var kept []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if path == "" && slices.Contains(templateOnly, k.Value) {
				continue
			}
			if k.Kind == yaml.ScalarNode && k.Value != "" {
				k.Value = strings.ToLower(k.Value[:1]) + k.Value[1:]
			}
			kp := joinPath(path, k.Value)
			if isIntrinsic(v) {
				if slices.Contains(ignoredWithIntrinsics, k.Value) || (path == "" && k.Value == "name") {
					// The pipeline's name then is the resource's logical id.
					continue
				}
				d.refuseIntrinsic(v, kp)
				n.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: v.Line, Column: v.Column}
				kept = append(kept, k, n.Content[i+1])
				continue
			}
			if k.Value == "configuration" && v.Kind == yaml.MappingNode {
				// Provider keys are capitalised in CodePipeline too; only
				// intrinsic functions in them are looked at.
				var cfg []*yaml.Node
				for j := 0; j+1 < len(v.Content); j += 2 {
					ck, cv := v.Content[j], v.Content[j+1]
					if isIntrinsic(cv) {
						d.refuseIntrinsic(cv, joinPath(kp, ck.Value))
						cv = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: cv.Line, Column: cv.Column}
					}
					cfg = append(cfg, ck, cv)
				}
				v.Content = cfg
			} else {
				d.camelize(v, kp)
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
}

// refuseIntrinsic reports an intrinsic function where sluice needs a value;
// the value is then taken as decoded (an empty string stands in for it), so
// that no other complaint about the field repeats this one.
func (d *decoder) refuseIntrinsic(v *yaml.Node, path string) {
	d.Errorf(v.Line, path, "is a CloudFormation intrinsic function (%s) naming what the template or its stack defines, "+
		"which sluice does not evaluate; give the value itself", intrinsicName(v))
	d.Fail(path)
}

// isIntrinsic reports whether n is a CloudFormation intrinsic function: a
// mapping of one Ref or Fn:: key, or a short-form tag (!Ref, !GetAtt, !Sub…).
func isIntrinsic(n *yaml.Node) bool {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return true
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return false
	}
	k := n.Content[0].Value
	return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
}

func intrinsicName(n *yaml.Node) string {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return n.Tag
	}
	return n.Content[0].Value
}
