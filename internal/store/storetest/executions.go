package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseExecutions runs the contract of executions.
func exerciseExecutions(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"Executions", testExecutions},
		{"LatestExecutions", testLatestExecutions},
	})
}

func testExecutions(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	for i := 1; i <= 5; i++ {
		must(t, s.Update(ctx, "p", func(tx store.Tx) error {
			seq, err := tx.NextSeq(ctx)
			if err != nil {
				return err
			}
			if seq != int64(i) {
				t.Errorf("NextSeq = %d, want %d", seq, i)
			}
			return tx.PutExecution(ctx, store.Execution{
				ID: fmt.Sprintf("e%d", i), Pipeline: "p", Seq: seq, Status: "InProgress", Active: i%2 == 1,
				Document: []byte(fmt.Sprintf(`{"n":%d}`, i)), Started: t0, Updated: t0,
			})
		}))
	}
	list, err := s.Executions(ctx, "p", 0, 3)
	must(t, err)
	if len(list) != 3 || list[0].ID != "e5" || list[2].ID != "e3" {
		t.Fatalf("newest first: %v", ids(list))
	}
	list, _ = s.Executions(ctx, "p", 3, 10)
	if len(list) != 2 || list[0].ID != "e2" {
		t.Fatalf("before 3: %v", ids(list))
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		active, err := tx.ActiveExecutions(ctx)
		if err != nil {
			return err
		}
		if got := ids(active); fmt.Sprint(got) != "[e1 e3 e5]" {
			t.Errorf("active oldest first = %v", got)
		}
		// An update keeps seq and start, changes the rest.
		return tx.PutExecution(ctx, store.Execution{ID: "e3", Pipeline: "p", Seq: 3, Status: "Succeeded", Active: false,
			Document: []byte(`{"done":true}`), Started: t0, Updated: t0.Add(time.Minute)})
	}))
	e, err := s.Execution(ctx, "e3")
	must(t, err)
	if e.Status != "Succeeded" || e.Active || string(e.Document) != `{"done":true}` || !e.Updated.Equal(t0.Add(time.Minute)) {
		t.Fatalf("updated execution = %+v", e)
	}
	// An execution is found only through its own pipeline's transaction.
	putPipeline(t, s, "q", 1)
	must(t, s.Update(ctx, "q", func(tx store.Tx) error {
		if _, err := tx.Execution(ctx, "e3"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("execution of p seen from q: %v", err)
		}
		return nil
	}))
}

// putExecutions stores executions of pipeline with seqs 1, 2, … and the
// statuses given, one transaction each; an execution is active while
// InProgress.
func putExecutions(t *testing.T, s store.Store, pipeline string, statuses ...string) {
	t.Helper()
	ctx := context.Background()
	for _, st := range statuses {
		must(t, s.Update(ctx, pipeline, func(tx store.Tx) error {
			seq, err := tx.NextSeq(ctx)
			if err != nil {
				return err
			}
			return tx.PutExecution(ctx, store.Execution{
				ID: fmt.Sprintf("%s-%d", pipeline, seq), Pipeline: pipeline, Seq: seq, Status: st, Active: st == "InProgress",
				TriggerType: "Webhook", TriggerDetail: fmt.Sprintf("push %d", seq),
				Document: []byte(fmt.Sprintf(`{"seq":%d}`, seq)), Started: t0.Add(time.Duration(seq) * time.Second), Updated: t0.Add(time.Hour),
			})
		}))
	}
}

// LatestExecutions gives each named pipeline's newest execution by seq
// (not by id or status), in the order named, with its trigger, and its
// document only while it is active.
func testLatestExecutions(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, p := range []string{"busy", "idle", "done", "running"} {
		putPipeline(t, s, p, 1)
	}
	// Ten executions: seq 10's id sorts before seq 9's.
	putExecutions(t, s, "busy", "Succeeded", "Failed", "InProgress", "Stopped", "Succeeded", "Failed", "Succeeded", "Superseded", "Succeeded", "Failed")
	putExecutions(t, s, "done", "Succeeded")
	putExecutions(t, s, "running", "Failed", "InProgress")
	got, err := s.LatestExecutions(ctx, []string{"running", "idle", "busy", "nosuch", "done", "busy"})
	must(t, err)
	want := []struct{ id, status, detail, doc string }{
		{"running-2", "InProgress", "push 2", `{"seq":2}`}, {}, {"busy-10", "Failed", "push 10", ""}, {}, {"done-1", "Succeeded", "push 1", ""}, {"busy-10", "Failed", "push 10", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("LatestExecutions gave %d rows for 6 names: %v", len(got), ids(got))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || g.Status != w.status || g.TriggerDetail != w.detail || string(g.Document) != w.doc {
			t.Errorf("[%d] = %s %s %q %q, want %s %s %q %q", i, g.ID, g.Status, g.TriggerDetail, g.Document, w.id, w.status, w.detail, w.doc)
		}
		if w.id == "" {
			continue
		}
		if g.TriggerType != "Webhook" || g.Active != (w.status == "InProgress") || g.Pipeline == "" || g.Seq == 0 {
			t.Errorf("[%d] = %+v: columns lost", i, g)
		}
		if !g.Updated.Equal(t0.Add(time.Hour)) || !g.Started.Equal(t0.Add(time.Duration(g.Seq)*time.Second)) {
			t.Errorf("[%d] times = %s, %s", i, g.Started, g.Updated)
		}
	}
	// An update of the execution changes its trigger columns with the rest.
	must(t, s.Update(ctx, "done", func(tx store.Tx) error {
		return tx.PutExecution(ctx, store.Execution{ID: "done-1", Pipeline: "done", Seq: 1, Status: "Stopped",
			TriggerType: "StartPipelineExecution", TriggerDetail: "admin", Document: []byte(`{}`), Started: t0, Updated: t0})
	}))
	got, err = s.LatestExecutions(ctx, []string{"done"})
	must(t, err)
	if len(got) != 1 || got[0].Status != "Stopped" || got[0].TriggerType != "StartPipelineExecution" || got[0].TriggerDetail != "admin" {
		t.Fatalf("after an update: %+v", got)
	}
	if got, err := s.LatestExecutions(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no names: %v, %v", got, err)
	}
}

func ids(es []store.Execution) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
