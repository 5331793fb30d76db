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
	t.Run("RuleDeliveriesOutliveIt", func(t *testing.T) {
		t.Parallel()
		testRuleDeliveriesOutliveIt(t, open(t))
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
