package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const graphInfra = `name: infra
stages:
  - name: Apply
    actions:
      - name: tf
        provider: Noop
`

const graphK8s = `name: k8s
triggers:
  - providerType: Pipeline
    pipeline: {name: infra, on: [Succeeded]}
stages:
  - name: Deploy
    lock: deploy
    actions:
      - name: WaitForInfra
        provider: PipelineGate
        configuration: {PipelineName: infra, Condition: Succeeded, OnUpstreamFailure: WAIT}
      - name: apply
        provider: Noop
        runOrder: 2
`

const graphDB = `name: db
lock: deploy
stages:
  - name: Migrate
    actions:
      - name: migrate
        provider: Noop
`

// graphInfraCycle makes infra start when k8s succeeds, while k8s starts when
// infra succeeds.
const graphInfraCycle = `name: infra
triggers:
  - providerType: Pipeline
    pipeline: {name: k8s}
stages:
  - name: Apply
    actions:
      - name: tf
        provider: Noop
`

type graphDoc struct {
	Nodes []struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		Status  string `json:"status"`
		Missing bool   `json:"missing"`
	} `json:"nodes"`
	Edges []struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Kind   string `json:"kind"`
		Detail string `json:"detail"`
	} `json:"edges"`
}

func TestPipelineGraph(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := s.scratch("graph")
	file := func(name, src string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	s.apply(file("infra.yml", graphInfra))
	s.apply(file("k8s.yml", graphK8s))
	s.apply(file("db.yml", graphDB))

	wantEqual(t, "graph", s.ok("graph"), `db
  uses lock deploy (pipeline)
infra
  waited for by k8s (gate Deploy/WaitForInfra: Succeeded, on failure WAIT)
  starts k8s (trigger on Succeeded)
k8s
  waits for infra (gate Deploy/WaitForInfra: Succeeded, on failure WAIT)
  started by infra (trigger on Succeeded)
  uses lock deploy (stage Deploy)
locks:
  deploy: used by db (pipeline), k8s (stage Deploy)
`)

	dot := s.ok("graph", "-o", "dot")
	wantContains(t, "graph -o dot", dot,
		"digraph sluice {\n",
		`"lock:deploy" [label="lock deploy", shape=box];`,
		`"infra" -> "k8s" [label="gate Deploy/WaitForInfra: Succeeded, on failure WAIT", style=solid];`,
		`"infra" -> "k8s" [label="trigger on Succeeded", style=dashed];`,
		`"db" -> "lock:deploy" [label="uses pipeline", style=dotted, arrowhead=none];`,
		`"k8s" -> "lock:deploy" [label="uses stage Deploy", style=dotted, arrowhead=none];`)

	var g graphDoc
	s.json(&g, "graph")
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.From+" "+e.Kind+" "+e.To+": "+e.Detail)
	}
	wantEdges := []string{
		"db lock lock:deploy: pipeline",
		"infra gate k8s: Deploy/WaitForInfra: Succeeded, on failure WAIT",
		"infra trigger k8s: Succeeded",
		"k8s lock lock:deploy: stage Deploy",
	}
	if !slices.Equal(edges, wantEdges) {
		t.Errorf("graph -o json edges = %q, want %q", edges, wantEdges)
	}

	// Closing a cycle of triggers is refused, naming the field and the
	// cycle, and changes nothing.
	cycleFile := file("infra-cycle.yml", graphInfraCycle)
	r := s.fails("pipeline", "apply", "-f", cycleFile)
	wantContains(t, "apply stderr", r.stderr,
		cycleFile+":4: triggers[0].pipeline.name: pipeline trigger cycle: infra → k8s → infra (k8s is started by infra's Succeeded, infra is started by k8s's Succeeded)")
	wantEqual(t, "version of infra after the refused apply", s.version("infra"), 1)
	var after graphDoc
	s.json(&after, "graph")
	if len(after.Edges) != len(g.Edges) {
		t.Errorf("graph after the refused apply has edges %+v, want those before", after.Edges)
	}

	// The graph shows each pipeline's latest execution status.
	id := s.start("infra")
	s.waitEnd("infra", id, "Succeeded")
	wantContains(t, "graph after a run of infra", s.ok("graph"), "\ninfra [Succeeded]\n  waited for by k8s")
}
