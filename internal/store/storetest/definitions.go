package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseDefinitions runs the same contract on every kind of definition, each
// on its own store.
func exerciseDefinitions(t *testing.T, open Open) {
	for _, kind := range store.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			testDefinitionKind(t, open(t), kind)
		})
	}
	t.Run("KindsApart", func(t *testing.T) {
		t.Parallel()
		testKindsApart(t, open(t))
	})
	t.Run("UnknownKind", func(t *testing.T) {
		t.Parallel()
		testUnknownKind(t, open(t))
	})
	t.Run("RuleCreatedSeq", func(t *testing.T) {
		t.Parallel()
		testRuleCreatedSeq(t, open(t))
	})
	t.Run("RuleDeliveriesOutliveIt", func(t *testing.T) {
		t.Parallel()
		testRuleDeliveriesOutliveIt(t, open(t))
	})
	t.Run("Revisions", func(t *testing.T) {
		t.Parallel()
		testDefinitionRevisions(t, open(t))
	})
	t.Run("TxPutDefinition", func(t *testing.T) {
		t.Parallel()
		testTxPutDefinition(t, open(t))
	})
	t.Run("TxPutDefinitionRace", func(t *testing.T) {
		t.Parallel()
		testTxPutDefinitionRace(t, open(t))
	})
}

func testDefinitionKind(t *testing.T, s store.Store, kind store.Kind) {
	ctx := context.Background()
	def := func(name string, doc []byte, at time.Time) store.Definition {
		return store.Definition{Kind: kind, Name: name, Document: doc, Created: at, Updated: at}
	}
	if _, err := s.Definition(ctx, kind, "d"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing %s: %v", kind, err)
	}
	if err := s.DeleteDefinition(ctx, kind, "d"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing %s: %v", kind, err)
	}
	if all, err := s.Definitions(ctx, kind); err != nil || len(all) != 0 {
		t.Fatalf("%s definitions of an empty store = %v, %v", kind, all, err)
	}
	must(t, s.PutDefinition(ctx, def("d", []byte(`{"a":1}`), t0)))
	// A replacement keeps the first creation time.
	must(t, s.PutDefinition(ctx, def("d", []byte(`{"a":2}`), t0.Add(time.Hour))))
	// Secrets are ciphertext: any byte survives. The others are JSON.
	other := []byte(`{"b":1}`)
	if kind == store.KindSecret {
		other = []byte{0, 1, 255}
	}
	must(t, s.PutDefinition(ctx, def("a.b-c", other, t0)))
	d, err := s.Definition(ctx, kind, "d")
	must(t, err)
	if d.Kind != kind || d.Name != "d" || string(d.Document) != `{"a":2}` || !d.Created.Equal(t0) || !d.Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("%s = %+v", kind, d)
	}
	all, err := s.Definitions(ctx, kind)
	must(t, err)
	if len(all) != 2 || all[0].Name != "a.b-c" || string(all[0].Document) != string(other) || all[0].Kind != kind ||
		all[1].Name != "d" || string(all[1].Document) != `{"a":2}` {
		t.Fatalf("%s definitions = %+v", kind, all)
	}
	must(t, s.DeleteDefinition(ctx, kind, "d"))
	if _, err := s.Definition(ctx, kind, "d"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted %s: %v", kind, err)
	}
	if err := s.DeleteDefinition(ctx, kind, "d"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete of %s: %v", kind, err)
	}
	if all, _ := s.Definitions(ctx, kind); len(all) != 1 {
		t.Fatalf("%s definitions after delete = %d", kind, len(all))
	}
}

// Each kind has its own names: a definition of one kind under a name is
// no definition of another.
func testKindsApart(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, kind := range store.Kinds {
		must(t, s.PutDefinition(ctx, store.Definition{Kind: kind, Name: "same", Document: []byte(fmt.Sprintf(`{"i":%d}`, i)), Created: t0, Updated: t0}))
	}
	for i, kind := range store.Kinds {
		d, err := s.Definition(ctx, kind, "same")
		must(t, err)
		if string(d.Document) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("%s same = %q", kind, d.Document)
		}
	}
	must(t, s.DeleteDefinition(ctx, store.KindFunction, "same"))
	for _, kind := range store.Kinds {
		_, err := s.Definition(ctx, kind, "same")
		if gone := errors.Is(err, store.ErrNotFound); gone != (kind == store.KindFunction) {
			t.Fatalf("after deleting the function, %s same: %v", kind, err)
		}
	}
}

// A kind that is not one of store.Kinds is refused by every method, and
// writes nothing.
func testUnknownKind(t *testing.T, s store.Store) {
	ctx := context.Background()
	const bad = store.Kind("webhooks; DROP TABLE rules")
	if err := s.PutDefinition(ctx, store.Definition{Kind: bad, Name: "x", Document: []byte(`{}`), Created: t0, Updated: t0}); !errors.Is(err, store.ErrUnknownKind) {
		t.Fatalf("put of an unknown kind: %v", err)
	}
	if _, err := s.Definition(ctx, bad, "x"); !errors.Is(err, store.ErrUnknownKind) {
		t.Fatalf("get of an unknown kind: %v", err)
	}
	if _, err := s.Definitions(ctx, bad); !errors.Is(err, store.ErrUnknownKind) {
		t.Fatalf("list of an unknown kind: %v", err)
	}
	if err := s.DeleteDefinition(ctx, bad, "x"); !errors.Is(err, store.ErrUnknownKind) {
		t.Fatalf("delete of an unknown kind: %v", err)
	}
	if _, err := s.Definitions(ctx, store.KindRule); err != nil {
		t.Fatalf("rules after an unknown kind: %v", err)
	}
}

// Deleting a rule leaves its deliveries: dead letters outlive it.
func testRuleDeliveriesOutliveIt(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.PutDefinition(ctx, store.Definition{Kind: store.KindRule, Name: "r", Document: []byte(`{}`), Created: t0, Updated: t0}))
	must(t, s.InsertDelivery(ctx, store.Delivery{ID: "rule/r/1/0", Kind: "webhook", Source: "rule/r", Target: []byte(`{}`),
		Payload: []byte(`{}`), Next: t0, Created: t0, Updated: t0}))
	must(t, s.DeleteDefinition(ctx, store.KindRule, "r"))
	if ds, err := s.Deliveries(ctx, "rule/r", 10); err != nil || len(ds) != 1 {
		t.Fatalf("deliveries of a deleted rule = %v, %v", ds, err)
	}
}

// testRuleCreatedSeq: a rule created remembers the sequence of the last
// event then written, whatever times the rule and the events carry (a
// replica's clock may be behind another's); a replacement keeps it, and the
// value given to PutDefinition is ignored. Other kinds carry none.
func testRuleCreatedSeq(t *testing.T, s store.Store) {
	ctx := context.Background()
	rule := func(name, doc string, at time.Time, seq int64) store.Definition {
		return store.Definition{Kind: store.KindRule, Name: name, Document: []byte(doc), Created: at, Updated: at, CreatedSeq: seq}
	}
	must(t, s.PutDefinition(ctx, rule("early", `{}`, t0, 99)))
	if r, err := s.Definition(ctx, store.KindRule, "early"); err != nil || r.CreatedSeq != 0 {
		t.Fatalf("a rule made before any event: %+v, %v", r, err)
	}
	putPipeline(t, s, "p", 1)
	for i := 0; i < 3; i++ {
		// Events stamped an hour after the rule below: the clock decides nothing.
		must(t, s.Update(ctx, "p", func(tx store.Tx) error {
			return tx.InsertEvent(ctx, store.Event{Time: t0.Add(time.Hour), Type: "T", Pipeline: "p", ExecutionID: "e", Document: []byte(`{}`)})
		}))
	}
	evs, err := s.Events(ctx, store.EventFilter{})
	must(t, err)
	last := evs[len(evs)-1].Seq
	must(t, s.PutDefinition(ctx, rule("later", `{}`, t0, 12345)))
	r, err := s.Definition(ctx, store.KindRule, "later")
	must(t, err)
	if r.CreatedSeq != last {
		t.Fatalf("CreatedSeq = %d, want %d, the last event's", r.CreatedSeq, last)
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		return tx.InsertEvent(ctx, store.Event{Time: t0, Type: "T", Pipeline: "p", ExecutionID: "e", Document: []byte(`{}`)})
	}))
	must(t, s.PutDefinition(ctx, rule("later", `{"v":2}`, t0.Add(time.Minute), 0)))
	all, err := s.Definitions(ctx, store.KindRule)
	must(t, err)
	found := false
	for _, r := range all {
		if r.Name == "later" {
			found = true
			if r.CreatedSeq != last || string(r.Document) != `{"v":2}` {
				t.Fatalf("a replaced rule: %+v, want CreatedSeq %d kept", r, last)
			}
		}
	}
	if !found {
		t.Fatal("rule later not listed")
	}
	must(t, s.PutDefinition(ctx, store.Definition{Kind: store.KindProject, Name: "p", Document: []byte(`{}`), Created: t0, Updated: t0, CreatedSeq: 7}))
	if d, err := s.Definition(ctx, store.KindProject, "p"); err != nil || d.CreatedSeq != 0 {
		t.Fatalf("a project carries no sequence: %+v, %v", d, err)
	}
}
