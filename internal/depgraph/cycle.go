package depgraph

import (
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Cycle is a loop of starts among pipelines: each pipeline on it starts the
// next, through a pipeline trigger (the next starts when this one's execution
// ends so) or an invoke action (this one starts the next and waits for it).
// One execution on such a loop would start executions forever, or wait on
// itself forever. Gates are not starts: pipelines gating on each other only
// wait, so they make no Cycle. Names holding #{...} are resolved only when
// the action runs, so edges to them are left out of the search.
type Cycle struct {
	// Path names the pipelines in order, the first repeated at the end:
	// ["a", "b", "a"] when a starts b and b starts a.
	Path []string
	// Edges[i] is the edge from Path[i] to Path[i+1].
	Edges []Edge
}

// starts reports whether e makes its From start its To.
func starts(e Edge) bool {
	return (e.Kind == EdgeTrigger || e.Kind == EdgeInvoke) && !isDynamic(e.From) && !isDynamic(e.To)
}

// CycleThrough returns the shortest cycle of starts through pipeline name
// among decls, its path beginning at name, or nil when there is none. Among
// cycles of the same length it returns the first in the order of names.
func CycleThrough(decls []*pipeline.Pipeline, name string) *Cycle {
	return cycleThrough(Build(decls).Edges, name)
}

// TriggerCycle returns a cycle of pipeline triggers and invoke actions among
// decls as its path (["a", "b", "a"]), or nil when there is none. The path
// begins at the first pipeline, in the order of names, that is on a cycle.
func TriggerCycle(decls []*pipeline.Pipeline) []string {
	g := Build(decls)
	for _, n := range g.Nodes {
		if n.Kind != NodePipeline || n.Missing {
			continue
		}
		if c := cycleThrough(g.Edges, n.Name); c != nil {
			return c.Path
		}
	}
	return nil
}

// cycleThrough searches breadth first from name along edges that start
// something, which are sorted, so the answer is the same on every call.
func cycleThrough(edges []Edge, name string) *Cycle {
	out := map[string][]Edge{}
	for _, e := range edges {
		if starts(e) {
			out[e.From] = append(out[e.From], e)
		}
	}
	// via[n] is the edge by which the search first reached n.
	via := map[string]Edge{}
	queue := []string{name}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range out[n] {
			if e.To == name {
				return cycleFrom(via, name, e)
			}
			if _, seen := via[e.To]; !seen {
				via[e.To] = e
				queue = append(queue, e.To)
			}
		}
	}
	return nil
}

// cycleFrom walks back from the closing edge last to name.
func cycleFrom(via map[string]Edge, name string, last Edge) *Cycle {
	edges := []Edge{last}
	for n := last.From; n != name; n = via[n].From {
		edges = append(edges, via[n])
	}
	slices.Reverse(edges)
	c := &Cycle{Path: []string{name}, Edges: edges}
	for _, e := range edges {
		c.Path = append(c.Path, e.To)
	}
	return c
}

// Kinds names the kinds of edges on the cycle: "trigger", "invoke" or
// "trigger and invoke".
func (c *Cycle) Kinds() string {
	var trig, inv bool
	for _, e := range c.Edges {
		trig = trig || e.Kind == EdgeTrigger
		inv = inv || e.Kind == EdgeInvoke
	}
	switch {
	case trig && inv:
		return "trigger and invoke"
	case inv:
		return "invoke"
	}
	return "trigger"
}

// String is the path with how each pipeline starts the next:
// "a → b → a (b is started by a's Succeeded, a is started by b's Succeeded)".
func (c *Cycle) String() string {
	why := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		switch e.Kind {
		case EdgeTrigger:
			why[i] = e.To + " is started by " + e.From + "'s " + strings.Join(e.states, " or ")
		case EdgeInvoke:
			why[i] = e.From + " invokes " + e.To + " in " + e.Detail
		}
	}
	return strings.Join(c.Path, " → ") + " (" + strings.Join(why, ", ") + ")"
}

// Field is where the declaration of pipeline name takes part in the cycle:
// "triggers[0].pipeline.name" for a trigger it declares,
// "stages[1].actions[0].configuration.PipelineName" for an invoke action,
// "name" when the cycle only passes through it (other pipelines start it and
// are started by its end).
func (c *Cycle) Field(name string) string {
	for _, e := range c.Edges {
		if e.owner == name {
			return e.field
		}
	}
	return "name"
}
