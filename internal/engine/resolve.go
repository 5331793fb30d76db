package engine

import "github.com/sluice-ci/sluice/internal/pipeline"

// ResolveNow replaces the #{…} references in s with the values execution e
// gives them now, as its actions' configuration is resolved when they are
// offered: its pipeline variables, the codepipeline and upstream namespaces,
// and the output variables of its succeeded actions. A reference e cannot
// resolve yet (an output of an action still to run) is left as written.
// The console reads it to show an execution's actions with its values.
func ResolveNow(e *Execution, s string) string {
	lookup := variableLookup(e)
	v, _ := pipeline.Resolve(s, func(ns, name string) (string, bool) {
		if v, ok := lookup(ns, name); ok {
			return v, true
		}
		return pipeline.Ref{Namespace: ns, Name: name}.String(), true
	})
	return v
}
