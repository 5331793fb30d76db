package registry

import (
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Every provider a worker can run is one a pipeline may declare as runnable,
// and every runnable one a worker is sent has an implementation: the table
// and the declarations cannot drift apart unnoticed.
func TestImplementationsMatchDeclarations(t *testing.T) {
	table := Implementations(Options{ServerURL: "http://127.0.0.1:1", Token: "t"})
	for name := range table {
		info, ok := pipeline.LookupProvider(name)
		switch {
		case !ok:
			t.Errorf("%s has an implementation but no pipeline may declare it", name)
		case !info.Runnable:
			t.Errorf("%s has an implementation but the declarations call it not runnable", name)
		}
	}
	// The engine and the service run these themselves (approvals, gates,
	// child pipelines, self-updates); no job reaches a worker for them.
	byEngine := map[string]bool{"Manual": true, "PipelineGate": true, "Pipeline": true, "PipelineUpdate": true}
	for _, name := range pipeline.Providers() {
		info, _ := pipeline.LookupProvider(name)
		if info.Runnable && !byEngine[name] && table[name] == nil {
			t.Errorf("%s is declared runnable but no worker implements it", name)
		}
	}
}
