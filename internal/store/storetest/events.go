package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseEvents runs the contract of the event log and its readers.
func exerciseEvents(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"Events", testEvents},
		{"PruneEvents", testPruneEvents},
		{"Cursors", testCursors},
		{"FollowCommitOrder", testEventsFollowCommitOrder},
	})
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	putPipeline(t, s, "q", 1)
	for i, p := range []string{"p", "q", "p"} {
		must(t, s.Update(ctx, p, func(tx store.Tx) error {
			return tx.InsertEvent(ctx, store.Event{Time: t0.Add(time.Duration(i) * time.Minute), Type: "T" + p, Pipeline: p, ExecutionID: "e", Document: []byte(`{}`)})
		}))
	}
	all, err := s.Events(ctx, store.EventFilter{})
	must(t, err)
	if len(all) != 3 || all[0].Seq >= all[1].Seq || all[1].Seq >= all[2].Seq {
		t.Fatalf("events = %+v", all)
	}
	ps, _ := s.Events(ctx, store.EventFilter{Pipeline: "p"})
	if len(ps) != 2 {
		t.Fatalf("events of p = %d", len(ps))
	}
	after, _ := s.Events(ctx, store.EventFilter{AfterSeq: all[0].Seq})
	if len(after) != 2 {
		t.Fatalf("events after the first = %d", len(after))
	}
	since, _ := s.Events(ctx, store.EventFilter{Since: t0.Add(90 * time.Second)})
	if len(since) != 1 {
		t.Fatalf("events since = %d", len(since))
	}
	typ, _ := s.Events(ctx, store.EventFilter{Type: "Tq", Limit: 5})
	if len(typ) != 1 || typ[0].Pipeline != "q" {
		t.Fatalf("events of type Tq = %+v", typ)
	}
	types, _ := s.Events(ctx, store.EventFilter{Types: []string{"Tp", "Tx"}})
	if len(types) != 2 || types[0].Seq != all[0].Seq || types[1].Seq != all[2].Seq {
		t.Fatalf("events of types Tp, Tx = %+v", types)
	}
	upTo, _ := s.Events(ctx, store.EventFilter{AfterSeq: all[0].Seq, UpToSeq: all[1].Seq})
	if len(upTo) != 1 || upTo[0].Seq != all[1].Seq {
		t.Fatalf("events after the first up to the second = %+v", upTo)
	}
	both, _ := s.Events(ctx, store.EventFilter{Types: []string{"Tp"}, UpToSeq: all[1].Seq})
	if len(both) != 1 || both[0].Seq != all[0].Seq {
		t.Fatalf("events of type Tp up to the second = %+v", both)
	}
}

func testPruneEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 5 {
		must(t, s.Update(ctx, "p", func(tx store.Tx) error {
			return tx.InsertEvent(ctx, store.Event{Time: t0.Add(time.Duration(i) * time.Hour), Type: "x", Pipeline: "p", Document: []byte(`{}`)})
		}))
	}
	all, err := s.Events(ctx, store.EventFilter{})
	must(t, err)
	newest, err := s.Events(ctx, store.EventFilter{Limit: 2, Newest: true})
	must(t, err)
	if len(newest) != 2 || newest[0].Seq != all[3].Seq || newest[1].Seq != all[4].Seq {
		t.Fatalf("the newest two: %v", newest)
	}
	// No reader yet: nothing may go, however old.
	if n, err := s.PruneEvents(ctx, t0.Add(10*time.Hour), 100); err != nil || n != 0 {
		t.Fatalf("pruned %d before any reader (%v)", n, err)
	}
	must(t, s.SetCursor(ctx, "reactor", all[3].Seq, t0))
	must(t, s.SetCursor(ctx, "rules", all[1].Seq, t0))
	// Old enough: the first three; passed by every reader: the first two.
	n, err := s.PruneEvents(ctx, t0.Add(150*time.Minute), 100)
	must(t, err)
	left, _ := s.Events(ctx, store.EventFilter{})
	if n != 2 || len(left) != 3 || left[0].Seq != all[2].Seq {
		t.Fatalf("pruned %d, left %d starting at %d", n, len(left), left[0].Seq)
	}
}

func testCursors(t *testing.T, s store.Store) {
	ctx := context.Background()
	seq, err := s.Cursor(ctx, "reactor")
	must(t, err)
	if seq != 0 {
		t.Fatalf("new cursor at %d", seq)
	}
	must(t, s.SetCursor(ctx, "reactor", 42, t0))
	must(t, s.SetCursor(ctx, "rules", 7, t0))
	if seq, _ = s.Cursor(ctx, "reactor"); seq != 42 {
		t.Fatalf("cursor at %d, want 42", seq)
	}
}

// Events written by concurrent transactions of different pipelines are seen
// by a reader following seq in commit order: it never skips one.
func testEventsFollowCommitOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	const writers, each = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.Update(ctx, fmt.Sprintf("p%d", w), func(tx store.Tx) error {
					if err := tx.InsertEvent(ctx, store.Event{Time: time.Now(), Type: "x", Pipeline: fmt.Sprintf("p%d", w), Document: []byte(`{}`)}); err != nil {
						return err
					}
					if i%5 == 0 {
						time.Sleep(time.Millisecond) // hold the transaction open a little
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var cursor int64
	seen := 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		evs, err := s.Events(ctx, store.EventFilter{AfterSeq: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			cursor = e.Seq
			seen++
		}
	}
	all, err := s.Events(ctx, store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*each || seen != writers*each {
		t.Fatalf("the cursor reader saw %d of %d events (%d stored)", seen, writers*each, len(all))
	}
}
