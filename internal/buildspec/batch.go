package buildspec

import (
	"fmt"
	"sort"
	"strings"
)

// PlannedBuild is one build of a batch, in the order the batch runs them.
type PlannedBuild struct {
	Identifier string
	// Buildspec is another buildspec file (a path in the source) to run; empty
	// means the batch's own buildspec.
	Buildspec     string
	Variables     map[string]string
	IgnoreFailure bool
	DependOn      []string
}

// BatchBuilds expands the batch section into the builds it runs: a build list
// in its order, a build graph in an order where every build comes after those
// it depends on (a cycle is an error), a build matrix as every combination of
// its dynamic buildspecs and variables, in a stable order.
func (s *Spec) BatchBuilds() ([]PlannedBuild, error) {
	if s.Batch == nil {
		return nil, fmt.Errorf("batch: the buildspec has no batch section")
	}
	b := s.Batch
	switch {
	case len(b.BuildList) > 0:
		return plan(b.BuildList), nil
	case len(b.BuildGraph) > 0:
		return graphOrder(plan(b.BuildGraph))
	case b.BuildMatrix != nil:
		return matrix(b.BuildMatrix), nil
	case b.BuildFanout != nil:
		return nil, fmt.Errorf("batch: build-fanout is not supported yet")
	}
	return nil, fmt.Errorf("batch: the batch section names no builds")
}

func plan(builds []BatchBuild) []PlannedBuild {
	out := make([]PlannedBuild, 0, len(builds))
	for _, b := range builds {
		out = append(out, PlannedBuild{
			Identifier: b.Identifier, Buildspec: b.Buildspec, Variables: b.Env.Variables,
			IgnoreFailure: b.IgnoreFailure, DependOn: b.DependOn,
		})
	}
	return out
}

// graphOrder sorts builds so that each comes after its dependencies, keeping
// the written order where the graph allows it.
func graphOrder(builds []PlannedBuild) ([]PlannedBuild, error) {
	done := map[string]bool{}
	var out []PlannedBuild
	for len(out) < len(builds) {
		progressed := false
		for _, b := range builds {
			if done[b.Identifier] {
				continue
			}
			ready := true
			for _, d := range b.DependOn {
				if !done[d] {
					ready = false
				}
			}
			if ready {
				done[b.Identifier] = true
				out = append(out, b)
				progressed = true
			}
		}
		if !progressed {
			var stuck []string
			for _, b := range builds {
				if !done[b.Identifier] {
					stuck = append(stuck, b.Identifier)
				}
			}
			return nil, fmt.Errorf("batch: build-graph has a dependency cycle among %s", strings.Join(stuck, ", "))
		}
	}
	return out, nil
}

// matrix expands a build matrix: one build per combination of dynamic
// buildspecs and variable values, with the static variables under them.
func matrix(m *BuildMatrix) []PlannedBuild {
	specs := m.Dynamic.Buildspec
	if len(specs) == 0 {
		specs = []string{""}
	}
	names := make([]string, 0, len(m.Dynamic.Env.Variables))
	for k := range m.Dynamic.Env.Variables {
		names = append(names, k)
	}
	sort.Strings(names)
	combos := []map[string]string{{}}
	for _, name := range names {
		var next []map[string]string
		for _, c := range combos {
			for _, v := range m.Dynamic.Env.Variables[name] {
				nc := map[string]string{}
				for k, x := range c {
					nc[k] = x
				}
				nc[name] = v
				next = append(next, nc)
			}
		}
		combos = next
	}
	var out []PlannedBuild
	for _, spec := range specs {
		for _, c := range combos {
			vars := map[string]string{}
			for k, v := range m.Static.Env.Variables {
				vars[k] = v
			}
			for k, v := range c {
				vars[k] = v
			}
			out = append(out, PlannedBuild{
				Identifier:    fmt.Sprintf("build%d", len(out)+1),
				Buildspec:     spec,
				Variables:     vars,
				IgnoreFailure: m.Static.IgnoreFailure,
			})
		}
	}
	return out
}
