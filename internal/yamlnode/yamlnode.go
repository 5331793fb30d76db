// Package yamlnode holds what every sluice decoder of declaration files
// shares (pipelines, buildspecs, webhook definitions, build projects,
// functions, rules, policies): ReadDocument, which reads a file's YAML or
// JSON into a line-numbered tree; Error and ErrorList, which name the file,
// line and field of every problem; following aliases, telling null, naming a
// node in an error message, field paths; Decoder, which walks mappings and
// reads scalars while recording every problem and the line of every field;
// and FileDecoder, a Decoder of one file that collects its problems.
package yamlnode

import (
	"strconv"
	"strings"

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
	if n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
	}
	return describeQuoted(n)
}

// describeQuoted is Describe with every scalar but null given as its quoted
// text: "8080", "true".
func describeQuoted(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if IsNull(n) {
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// A field path names a value the way messages show it:
// stages[1].actions[0].name. The root is "".

// Join is the path of field key inside parent.
func Join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Index is the path of item i of the list at parent.
func Index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// Parent strips the last element from a path; the parent of a top-level
// field is "".
func Parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}
