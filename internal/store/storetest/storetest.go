// Package storetest is the conformance suite every store.Store implementation
// passes: run it from the implementation's own tests with a function that opens
// a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// Open opens a fresh, empty store for one test.
type Open func(t *testing.T) store.Store

// Run runs the whole suite: one group of tests per entity, each in its own
// file, every test on its own fresh store and in parallel with the others.
func Run(t *testing.T, open Open) {
	group := func(name string, exercise func(*testing.T, Open)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			exercise(t, open)
		})
	}
	group("Pipelines", exercisePipelines)
	group("Executions", exerciseExecutions)
	group("Jobs", exerciseJobs)
	group("Logs", exerciseLogs)
	group("Events", exerciseEvents)
	group("Tokens", exerciseTokens)
	group("Reports", exerciseReports)
	group("Locks", exerciseLocks)
	group("Deliveries", exerciseDeliveries)
	group("Definitions", exerciseDefinitions)
	group("BuildNumbers", exerciseBuildNumbers)
	group("ConsoleSessions", exerciseConsoleSessions)
}

// test is one test of the suite, run on a fresh store.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// parallel runs each test as a subtest on its own store, in parallel.
func parallel(t *testing.T, open Open, tests []test) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open(t))
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func putPipeline(t *testing.T, s store.Store, name string, version int) {
	t.Helper()
	must(t, s.Update(context.Background(), name, func(tx store.Tx) error {
		return tx.PutPipeline(context.Background(), store.Pipeline{
			Name: name, Version: version, Declaration: []byte(fmt.Sprintf(`{"v":%d}`, version)), Created: t0, Updated: t0,
		})
	}))
}

func insertJob(t *testing.T, s store.Store, pipeline, id, provider string, created time.Time) {
	t.Helper()
	must(t, s.Update(context.Background(), pipeline, func(tx store.Tx) error {
		return tx.InsertJob(context.Background(), store.Job{
			ID: id, ExecutionID: "e1", Pipeline: pipeline, Stage: "S", Action: "A", Attempt: 1, Provider: provider,
			Payload: []byte(`{}`), Deadline: created.Add(time.Hour), Created: created,
		})
	}))
}
