package registry

import (
	"slices"
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
		case !ok && slices.Contains(pipeline.WorkerRules, name):
			// A stage condition's rule, run by workers.
		case !ok:
			t.Errorf("%s has an implementation but no pipeline may declare it", name)
		case !info.Runnable:
			t.Errorf("%s has an implementation but the declarations call it not runnable", name)
		}
	}
	// The server holds some itself (approvals, gates, child pipelines,
	// self-updates: Held in pipeline's table); no job reaches a worker for
	// them, and a worker must not claim one. Every other runnable provider
	// has an implementation.
	for _, name := range pipeline.Providers() {
		info, _ := pipeline.LookupProvider(name)
		switch {
		case info.Held && table[name] != nil:
			t.Errorf("%s is held by the server, but workers have an implementation", name)
		case info.Runnable && !info.Held && table[name] == nil:
			t.Errorf("%s is declared runnable but no worker implements it", name)
		}
	}
	for _, name := range pipeline.WorkerRules {
		if table[name] == nil {
			t.Errorf("rule %s is run by workers but no worker implements it", name)
		}
	}
}
