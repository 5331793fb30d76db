package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
)

// TestJobLogLinesNameTheExecution: the JSON line the sweeper writes about a
// job whose worker stopped renewing its lease names the job, its
// execution, pipeline, stage and action, from the context it was handled
// with.
func TestJobLogLinesNameTheExecution(t *testing.T) {
	ctx := context.Background()
	st, arts := servicetest.Stores(t)
	c := servicetest.NewClock()
	var buf bytes.Buffer
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: c.Now, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	servicetest.Apply(t, svc, twoStages)
	e, err := svc.StartExecution(ctx, service.StartRequest{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := svc.ClaimJob(ctx, "w1", allProviders, 0)
	if err != nil || j == nil {
		t.Fatalf("claim: %v, %v", j, err)
	}
	c.Add(31 * time.Second)
	if err := svc.SweepOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var lost map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if strings.HasPrefix(rec["msg"].(string), "job lost") {
			lost = rec
		}
	}
	if lost == nil {
		t.Fatalf("no line about the lost job in:\n%s", buf.String())
	}
	want := map[string]any{"execution_id": e.ID, "job_id": j.Job.ID, "pipeline": "p", "stage": "Build", "action": "make", "worker": "w1", "level": "WARN"}
	for k, v := range want {
		if lost[k] != v {
			t.Errorf("%s = %v, want %v (%v)", k, lost[k], v, lost)
		}
	}
}
