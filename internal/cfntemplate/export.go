package cfntemplate

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// sluiceOnly are get-pipeline fields that are sluice's own: exported under
// their capitalised names so that the template reads back into sluice, but
// CloudFormation refuses them.
var sluiceOnly = []string{"lock", "schedule", "timeZone"}

// Export turns a pipeline's get-pipeline document (JSON, as `sluice
// pipeline get -o json` prints it) into a CloudFormation template (YAML)
// declaring it as an AWS::CodePipeline::Pipeline, the inverse of Read:
// properties capitalised (configuration keys kept), the role as RoleArn,
// and an ArtifactStore from the template's ArtifactBucket parameter, which
// CloudFormation requires and sluice ignores. notes name what only sluice
// reads.
func Export(doc []byte) (template []byte, notes []string, err error) {
	root, perr := yamlnode.ReadDocument("pipeline.json", doc, "pipeline")
	if perr != nil {
		return nil, nil, perr
	}
	p := field(root, "pipeline")
	if p == nil || p.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("not a get-pipeline document: no pipeline in it")
	}
	name := ""
	if n := field(p, "name"); n != nil {
		name = n.Value
	}
	props := mapping(0)
	hasStore := false
	for i := 0; i+1 < len(p.Content); i += 2 {
		k, v := p.Content[i].Value, p.Content[i+1]
		switch k {
		case "version":
			continue // CloudFormation counts versions itself
		case "role", "roleArn":
			role := v.Value
			if pipeline.IsRoleARN(role) {
				addPair(props, "RoleArn", 0, exportScalar(role))
			} else {
				addPair(props, "RoleArn", 0, tagged("!Sub", "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"+role))
			}
			continue
		case "artifactStores":
			hasStore = true
			list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for j := 0; j+1 < len(v.Content); j += 2 {
				m := mapping(0)
				addPair(m, "Region", 0, exportScalar(v.Content[j].Value))
				addPair(m, "ArtifactStore", 0, upperKeys(v.Content[j+1], false, &notes, ""))
				list.Content = append(list.Content, m)
			}
			addPair(props, "ArtifactStores", 0, list)
			continue
		case "artifactStore":
			hasStore = true
		}
		if slices.Contains(sluiceOnly, k) {
			notes = append(notes, fmt.Sprintf("%s is sluice's own: the template reads back into sluice, but CloudFormation refuses %s", k, upperFirst(k)))
		}
		addPair(props, upperFirst(k), 0, upperKeys(v, k == "configuration", &notes, k))
	}
	if !hasStore {
		store := mapping(0)
		addPair(store, "Type", 0, exportScalar("S3"))
		addPair(store, "Location", 0, tagged("!Ref", "ArtifactBucket"))
		props.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "ArtifactStore"}, store}, props.Content...)
	}
	if tags := field(root, "tags"); tags != nil {
		addPair(props, "Tags", 0, upperKeys(tags, false, &notes, "tags"))
	}
	res := mapping(0)
	addPair(res, "Type", 0, exportScalar(PipelineType))
	addPair(res, "Properties", 0, props)
	resources := mapping(0)
	addPair(resources, logicalID(name), 0, res)
	tmpl := mapping(0)
	addPair(tmpl, "AWSTemplateFormatVersion", 0, exportScalar("2010-09-09"))
	addPair(tmpl, "Description", 0, exportScalar("Pipeline "+name+", exported by sluice"))
	if !hasStore {
		param := mapping(0)
		addPair(param, "Type", 0, exportScalar("String"))
		addPair(param, "Description", 0, exportScalar("The S3 bucket CodePipeline keeps the pipeline's artifacts in (sluice ignores it)"))
		params := mapping(0)
		addPair(params, "ArtifactBucket", 0, param)
		addPair(tmpl, "Parameters", 0, params)
	}
	addPair(tmpl, "Resources", 0, resources)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(tmpl); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), notes, nil
}

// upperKeys is lowerKeys's inverse.
func upperKeys(n *yaml.Node, inConfig bool, notes *[]string, path string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		out := mapping(0)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if inConfig {
				addPair(out, k, 0, plain(v))
				continue
			}
			for _, s := range sluiceOnly {
				if k == s {
					*notes = append(*notes, fmt.Sprintf("%s is sluice's own: the template reads back into sluice, but CloudFormation refuses %s", joinPath(path, k), upperFirst(k)))
				}
			}
			addPair(out, upperFirst(k), 0, upperKeys(v, k == "configuration", notes, joinPath(path, k)))
		}
		return out
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i, c := range n.Content {
			out.Content = append(out.Content, upperKeys(c, false, notes, fmt.Sprintf("%s[%d]", path, i)))
		}
		return out
	}
	return plain(n)
}

func joinPath(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

// plain is a scalar without its source's position or style.
func plain(n *yaml.Node) *yaml.Node {
	c := *n
	c.Line, c.Column, c.Style = 0, 0, 0
	if c.Kind == yaml.ScalarNode && c.Tag == "!!str" && needsQuotes(c.Value) {
		c.Style = yaml.DoubleQuotedStyle
	}
	return &c
}

// needsQuotes keeps a string that YAML would read as another type (true,
// 1, null) a string.
func needsQuotes(s string) bool {
	var v any
	if yaml.Unmarshal([]byte(s), &v) != nil {
		return true
	}
	str, isString := v.(string)
	return !isString || str != s
}

func tagged(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// logicalID is a logical id for a pipeline name: letters and digits only.
func logicalID(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			if up {
				b.WriteString(strings.ToUpper(string(r)))
			} else {
				b.WriteRune(r)
			}
			up = false
		default:
			up = true
		}
	}
	if b.Len() == 0 || b.String()[0] >= '0' && b.String()[0] <= '9' {
		return "Pipeline" + b.String()
	}
	return b.String() + "Pipeline"
}

func exportScalar(s string) *yaml.Node {
	return plain(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
}
