package server_test

import (
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/server"
)

// Every provider sluice can run is run by exactly one side: the server holds
// it (pipeline's table marks it Held) or workers run it (server.Providers).
// A provider on neither side would wait for ever; on both, a worker could
// claim what the server answers.
func TestEveryRunnableProviderHasOneRunner(t *testing.T) {
	workers := server.Providers("http://127.0.0.1:1", "", nil, "")
	for _, name := range pipeline.Providers() {
		info, _ := pipeline.LookupProvider(name)
		_, byWorker := workers[name]
		switch {
		case !info.Runnable && byWorker:
			t.Errorf("%s: workers run it, but the table says it cannot run", name)
		case info.Runnable && info.Held == byWorker:
			t.Errorf("%s: held %v, run by workers %v; want exactly one", name, info.Held, byWorker)
		}
	}
	for name := range workers {
		if _, ok := pipeline.LookupProvider(name); !ok {
			t.Errorf("workers run %s, which the provider table does not know", name)
		}
	}
}
