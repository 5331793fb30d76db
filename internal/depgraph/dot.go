package depgraph

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// DOT writes the graph in Graphviz's language, for `dot -Tsvg`. Pipelines are
// ellipses, locks boxes, dynamic names notes; a missing pipeline is dashed.
// Edges are drawn by kind: gate solid, trigger dashed, invoke bold, lock
// dotted, each labelled with its kind and detail. A pipeline's status is a
// line of its label and its fill colour, so it reads without colour too.
func (g *Graph) DOT(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("digraph sluice {\n")
	bw.WriteString("  rankdir=LR;\n")
	bw.WriteString("  node [fontname=\"Helvetica\"];\n")
	bw.WriteString("  edge [fontname=\"Helvetica\", fontsize=10];\n")
	for _, n := range g.Nodes {
		label := n.Label()
		var attrs []string
		switch n.Kind {
		case NodePipeline:
			attrs = append(attrs, "shape=ellipse")
			switch {
			case n.Missing:
				label += "\n(missing)"
				attrs = append(attrs, "style=dashed")
			case n.Status != "":
				label += "\n" + n.Status
				if n.Waiting != "" {
					label += "\n" + n.Waiting
				}
				attrs = append(attrs, "style=filled", "fillcolor="+quote(statusColour(n.Status)))
			}
		case NodeDynamic:
			label += "\n(dynamic)"
			attrs = append(attrs, "shape=note", "style=dashed")
		case NodeLock:
			label = "lock " + label
			attrs = append(attrs, "shape=box")
		}
		attrs = append([]string{"label=" + quote(label)}, attrs...)
		bw.WriteString("  " + quote(n.Name) + " [" + strings.Join(attrs, ", ") + "];\n")
	}
	for _, e := range g.Edges {
		label := string(e.Kind) + " " + e.Detail
		style := edgeStyle[e.Kind]
		switch e.Kind {
		case EdgeTrigger:
			label = "trigger on " + strings.ReplaceAll(e.Detail, ",", " or ")
		case EdgeLock:
			// Declaring a lock is not holding it: "uses", unless an
			// execution holds it or is queued for it now.
			switch use, pos, _ := g.LockUse(e.From, e.To); use {
			case "holds":
				label, style = "holds "+e.Detail, "solid"
			case "queued":
				label = fmt.Sprintf("queued #%d %s", pos, e.Detail)
			default:
				label = "uses " + e.Detail
			}
		}
		attrs := []string{"label=" + quote(label), "style=" + style}
		if e.Kind == EdgeLock {
			attrs = append(attrs, "arrowhead=none")
		}
		bw.WriteString("  " + quote(e.From) + " -> " + quote(e.To) + " [" + strings.Join(attrs, ", ") + "];\n")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

var edgeStyle = map[EdgeKind]string{EdgeGate: "solid", EdgeTrigger: "dashed", EdgeInvoke: "bold", EdgeLock: "dotted"}

// statusColour is a pale fill that keeps black text readable.
func statusColour(status string) string {
	switch status {
	case "Succeeded":
		return "#c8e6c9"
	case "Failed":
		return "#ffcdd2"
	case "InProgress", "Stopping":
		return "#bbdefb"
	}
	return "#eeeeee" // Stopped, Superseded and anything newer
}

// quote makes s a DOT double-quoted string. In such a string DOT reads \" as
// a quote and, in labels, \n as a line break; any other backslash is escaped
// so that it stays one.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
