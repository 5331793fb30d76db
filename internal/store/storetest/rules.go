package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

func testRules(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Rule(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing rule: %v", err)
	}
	if err := s.DeleteRule(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing rule: %v", err)
	}
	if all, err := s.Rules(ctx); err != nil || len(all) != 0 {
		t.Fatalf("rules of an empty store = %v, %v", all, err)
	}
	must(t, s.PutRule(ctx, store.Rule{Name: "r", Definition: []byte(`{"a":1}`), Created: t0, Updated: t0}))
	// A replacement keeps the first creation time.
	must(t, s.PutRule(ctx, store.Rule{Name: "r", Definition: []byte(`{"a":2}`), Created: t0.Add(time.Hour), Updated: t0.Add(time.Hour)}))
	must(t, s.PutRule(ctx, store.Rule{Name: "a.b-c", Definition: []byte(`{"b":1}`), Created: t0, Updated: t0}))
	r, err := s.Rule(ctx, "r")
	must(t, err)
	if r.Name != "r" || string(r.Definition) != `{"a":2}` || !r.Created.Equal(t0) || !r.Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("rule = %+v", r)
	}
	all, err := s.Rules(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "a.b-c" || all[1].Name != "r" || string(all[1].Definition) != `{"a":2}` {
		t.Fatalf("rules = %+v", all)
	}
	// Rules and functions are apart, even under one name.
	if _, err := s.Function(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rule shows as a function: %v", err)
	}
	// Deleting a rule leaves its deliveries: dead letters outlive it.
	must(t, s.InsertDelivery(ctx, store.Delivery{ID: "rule/r/1/0", Kind: "webhook", Source: "rule/r", Target: []byte(`{}`),
		Payload: []byte(`{}`), Next: t0, Created: t0, Updated: t0}))
	must(t, s.DeleteRule(ctx, "r"))
	if _, err := s.Rule(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted rule: %v", err)
	}
	if err := s.DeleteRule(ctx, "r"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if ds, err := s.Deliveries(ctx, "rule/r", 10); err != nil || len(ds) != 1 {
		t.Fatalf("deliveries of a deleted rule = %v, %v", ds, err)
	}
	all, _ = s.Rules(ctx)
	if len(all) != 1 {
		t.Fatalf("rules after delete = %d", len(all))
	}
	testRuleCreatedSeq(t, s)
}

// testRuleCreatedSeq: a rule created remembers the sequence of the last
// event then written, whatever times the rule and the events carry (a
// replica's clock may be behind another's); a replacement keeps it.
func testRuleCreatedSeq(t *testing.T, s store.Store) {
	ctx := context.Background()
	if r, err := s.Rule(ctx, "a.b-c"); err != nil || r.CreatedSeq != 0 {
		t.Fatalf("a rule made before any event: %+v, %v", r, err)
	}
	putPipeline(t, s, "p", 1)
	var last int64
	for i := 0; i < 3; i++ {
		// Events stamped an hour after the rule below: the clock decides nothing.
		must(t, s.Update(ctx, "p", func(tx store.Tx) error {
			return tx.InsertEvent(ctx, store.Event{Time: t0.Add(time.Hour), Type: "T", Pipeline: "p", ExecutionID: "e", Document: []byte(`{}`)})
		}))
	}
	evs, err := s.Events(ctx, store.EventFilter{})
	must(t, err)
	last = evs[len(evs)-1].Seq
	must(t, s.PutRule(ctx, store.Rule{Name: "later", Definition: []byte(`{}`), Created: t0, Updated: t0, CreatedSeq: 12345}))
	r, err := s.Rule(ctx, "later")
	must(t, err)
	if r.CreatedSeq != last {
		t.Fatalf("CreatedSeq = %d, want %d, the last event's", r.CreatedSeq, last)
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		return tx.InsertEvent(ctx, store.Event{Time: t0, Type: "T", Pipeline: "p", ExecutionID: "e", Document: []byte(`{}`)})
	}))
	must(t, s.PutRule(ctx, store.Rule{Name: "later", Definition: []byte(`{"v":2}`), Created: t0, Updated: t0.Add(time.Minute)}))
	all, err := s.Rules(ctx)
	must(t, err)
	for _, r := range all {
		if r.Name == "later" && (r.CreatedSeq != last || string(r.Definition) != `{"v":2}`) {
			t.Fatalf("a replaced rule: %+v, want CreatedSeq %d kept", r, last)
		}
	}
}

// testBuildNumbers: each project counts its builds from 1, concurrent
// callers get distinct numbers, and the count survives nothing but itself.
func testBuildNumbers(t *testing.T, s store.Store) {
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		n, err := s.NextBuildNumber(ctx, "app")
		must(t, err)
		if n != want {
			t.Fatalf("build number %d, want %d", n, want)
		}
	}
	if n, err := s.NextBuildNumber(ctx, "other"); err != nil || n != 1 {
		t.Fatalf("another project's first build number = %d, %v", n, err)
	}
	const callers = 8
	got := make(chan int64, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.NextBuildNumber(ctx, "app")
			if err != nil {
				t.Error(err)
			}
			got <- n
		}()
	}
	wg.Wait()
	close(got)
	seen := map[int64]bool{}
	for n := range got {
		if seen[n] || n < 4 || n > 3+callers {
			t.Fatalf("concurrent build numbers: %d given twice or out of 4-%d", n, 3+callers)
		}
		seen[n] = true
	}
}
