package depgraph

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Text writes the graph for a reader: one block per pipeline, what it depends
// on first (gates it waits on, pipelines whose end starts it, pipelines it
// invokes, locks it uses), then what depends on it; then the users of each
// lock, and a note when some names are dynamic. A lock is "used" by the
// pipelines that declare it; "holds" and "queued for" say, when SetLocks was
// given the locks' state, which execution has it and which wait:
//
//	infra [Succeeded]
//	  waited for by k8s (gate Deploy/WaitForInfra: Succeeded, on failure WAIT)
//	  starts k8s (trigger on Succeeded)
//	k8s
//	  waits for infra (gate Deploy/WaitForInfra: Succeeded, on failure WAIT)
//	  started by infra (trigger on Succeeded)
//	  holds lock deploy (stage Deploy; execution 0b1c…)
//	db [InProgress (waiting for lock deploy)]
//	  queued for lock deploy (pipeline; position 1, held by k8s)
//	locks:
//	  deploy: used by db (pipeline), k8s (stage Deploy); held by k8s (execution 0b1c…); queued: db (execution 9f2e…)
//
// Headers that are not pipelines end with ':', which no pipeline name holds.
func (g *Graph) Text(w io.Writer) error {
	bw := bufio.NewWriter(w)
	type line struct {
		group, kind int
		other, text string
	}
	lines := map[string][]line{}
	dynamic := false
	for _, e := range g.Edges {
		kr := edgeRank[e.Kind]
		if e.Kind == EdgeLock {
			lines[e.From] = append(lines[e.From], line{0, kr, e.To, g.lockLine(e)})
			continue
		}
		dynamic = dynamic || isDynamic(e.From) || isDynamic(e.To)
		var down, up string // how To reads the edge, and how From does
		switch e.Kind {
		case EdgeGate:
			down = "waits for " + g.label(e.From) + " (gate " + e.Detail + ")"
			up = "waited for by " + e.To + " (gate " + e.Detail + ")"
		case EdgeTrigger:
			on := "trigger on " + strings.ReplaceAll(e.Detail, ",", " or ")
			down = "started by " + e.From + " (" + on + ")"
			up = "starts " + e.To + " (" + on + ")"
		case EdgeInvoke:
			down = "invoked by " + e.From + " (invoke " + e.Detail + ")"
			up = "invokes " + g.label(e.To) + " (invoke " + e.Detail + ")"
		}
		if isDynamic(e.From) {
			down += dynamicNote
		}
		if isDynamic(e.To) {
			up += dynamicNote
		}
		// What a pipeline depends on comes first (group 0): the gates it
		// waits on, who starts it, what it invokes; then what depends on it.
		// An invoke depends on the pipeline it calls, so it reads from From.
		toGroup, fromGroup := 0, 1
		if e.Kind == EdgeInvoke {
			toGroup, fromGroup = 1, 0
		}
		lines[e.To] = append(lines[e.To], line{toGroup, kr, e.From, down})
		lines[e.From] = append(lines[e.From], line{fromGroup, kr, e.To, up})
	}

	pipelines := 0
	for _, n := range g.Nodes {
		if n.Kind != NodePipeline {
			continue
		}
		pipelines++
		bw.WriteString(n.Name)
		if n.Status != "" {
			status := n.Status
			if n.Waiting != "" {
				status += " (" + n.Waiting + ")"
			}
			bw.WriteString(" [" + status + "]")
		}
		if n.Missing {
			bw.WriteString(" (missing: referenced but not declared)")
		}
		bw.WriteString("\n")
		ls := lines[n.Name]
		slices.SortFunc(ls, func(a, b line) int {
			return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.kind, b.kind), cmp.Compare(a.other, b.other), cmp.Compare(a.text, b.text))
		})
		if len(ls) == 0 {
			bw.WriteString("  no dependencies\n")
		}
		for _, l := range ls {
			bw.WriteString("  " + l.text + "\n")
		}
	}
	if pipelines == 0 {
		bw.WriteString("no pipelines\n")
	}

	first := true
	for _, n := range g.Nodes {
		if n.Kind != NodeLock {
			continue
		}
		if first {
			bw.WriteString("locks:\n")
			first = false
		}
		var users []string
		for _, e := range g.Edges {
			if e.Kind == EdgeLock && e.To == n.Name {
				users = append(users, e.From+" ("+e.Detail+")")
			}
		}
		text := "used by " + strings.Join(users, ", ")
		if h := n.Holder; h != nil {
			text += "; held by " + h.Pipeline + " (execution " + h.ExecutionID + ")"
		}
		if len(n.Queue) > 0 {
			var queued []string
			for _, q := range n.Queue {
				queued = append(queued, q.Pipeline+" (execution "+q.ExecutionID+")")
			}
			text += "; queued: " + strings.Join(queued, ", ")
		}
		bw.WriteString("  " + n.Label() + ": " + text + "\n")
	}
	if dynamic {
		bw.WriteString("note: a pipeline name holding #{...} is known only when its action runs; it is shown as written and left out of the cycle check\n")
	}
	return bw.Flush()
}

const dynamicNote = " [dynamic]"

// lockLine is how a pipeline's lock edge reads: it holds the lock, is queued
// for it, or only declares it (uses it).
func (g *Graph) lockLine(e Edge) string {
	lock := g.label(e.To)
	switch use, pos, heldBy := g.LockUse(e.From, e.To); use {
	case "holds":
		n, _ := g.Node(e.To)
		return "holds lock " + lock + " (" + e.Detail + "; execution " + n.Holder.ExecutionID + ")"
	case "queued":
		q := fmt.Sprintf("queued for lock %s (%s; position %d", lock, e.Detail, pos)
		if heldBy != "" {
			q += ", held by " + heldBy
		}
		return q + ")"
	}
	return "uses lock " + lock + " (" + e.Detail + ")"
}

// label is how a node is named in a line about another one.
func (g *Graph) label(name string) string {
	if n, ok := g.Node(name); ok {
		return n.Label()
	}
	return name
}
