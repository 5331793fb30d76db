package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseReports runs the contract of test reports.
func exerciseReports(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"Reports", testReports},
	})
}

func testReports(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.PutReport(ctx, store.Report{JobID: "j1", Group: "unit", ExecutionID: "e", Stage: "Build", Action: "b", Document: []byte(`{"v":1}`), Created: t0}))
	must(t, s.PutReport(ctx, store.Report{JobID: "j1", Group: "lint", ExecutionID: "e", Stage: "Build", Action: "b", Document: []byte(`{}`), Created: t0.Add(time.Second)}))
	must(t, s.PutReport(ctx, store.Report{JobID: "j1", Group: "unit", ExecutionID: "e", Stage: "Build", Action: "b", Document: []byte(`{"v":2}`), Created: t0}))
	must(t, s.PutReport(ctx, store.Report{JobID: "j9", Group: "unit", ExecutionID: "other", Stage: "S", Action: "a", Document: []byte(`{}`), Created: t0}))
	rs, err := s.Reports(ctx, "e")
	must(t, err)
	if len(rs) != 2 || rs[0].Group != "unit" || string(rs[0].Document) != `{"v":2}` || rs[1].Group != "lint" || rs[0].Stage != "Build" {
		t.Fatalf("reports = %+v", rs)
	}
}
