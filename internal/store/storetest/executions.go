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

func ids(es []store.Execution) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
