package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

func testFunctions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Function(ctx, "f"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing function: %v", err)
	}
	if err := s.DeleteFunction(ctx, "f"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing function: %v", err)
	}
	if all, err := s.Functions(ctx); err != nil || len(all) != 0 {
		t.Fatalf("functions of an empty store = %v, %v", all, err)
	}
	must(t, s.PutFunction(ctx, store.Function{Name: "f", Definition: []byte(`{"a":1}`), Created: t0, Updated: t0}))
	// A replacement keeps the first creation time.
	must(t, s.PutFunction(ctx, store.Function{Name: "f", Definition: []byte(`{"a":2}`), Created: t0.Add(time.Hour), Updated: t0.Add(time.Hour)}))
	must(t, s.PutFunction(ctx, store.Function{Name: "a.b-c", Definition: []byte(`{"b":1}`), Created: t0, Updated: t0}))
	f, err := s.Function(ctx, "f")
	must(t, err)
	if f.Name != "f" || string(f.Definition) != `{"a":2}` || !f.Created.Equal(t0) || !f.Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("function = %+v", f)
	}
	all, err := s.Functions(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "a.b-c" || all[1].Name != "f" || string(all[1].Definition) != `{"a":2}` {
		t.Fatalf("functions = %+v", all)
	}
	// Functions and build projects are apart, even under one name.
	if _, err := s.Project(ctx, "f"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a function shows as a project: %v", err)
	}
	must(t, s.DeleteFunction(ctx, "f"))
	if _, err := s.Function(ctx, "f"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted function: %v", err)
	}
	if err := s.DeleteFunction(ctx, "f"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	all, _ = s.Functions(ctx)
	if len(all) != 1 {
		t.Fatalf("functions after delete = %d", len(all))
	}
}
