// Package yamlnode holds the small helpers every sluice decoder of
// line-numbered YAML trees needs (pipelines, buildspecs, webhook definitions,
// build projects): following aliases, telling null, and naming a node in an
// error message.
package yamlnode

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// Resolve follows aliases to the node they stand for. A missing node is null.
// yaml.v3 builds no alias cycles, but the bound keeps a hand-built tree from
// looping.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

// IsNull reports whether n is YAML's null.
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// Describe names what n is, for messages such as "expected a list, not the
// number 3".
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}
