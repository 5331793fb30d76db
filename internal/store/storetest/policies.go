package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

func testPolicies(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Policy(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing policy: %v", err)
	}
	if err := s.DeletePolicy(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing policy: %v", err)
	}
	must(t, s.PutPolicy(ctx, store.Policy{Name: "p", Definition: []byte(`{"Statement":[]}`), Created: t0, Updated: t0}))
	// A replacement keeps the first creation time.
	must(t, s.PutPolicy(ctx, store.Policy{Name: "p", Definition: []byte(`{"Statement":[1]}`), Created: t0.Add(time.Hour), Updated: t0.Add(time.Hour)}))
	must(t, s.PutPolicy(ctx, store.Policy{Name: "a", Definition: []byte(`{}`), Created: t0, Updated: t0}))
	p, err := s.Policy(ctx, "p")
	must(t, err)
	if p.Name != "p" || string(p.Definition) != `{"Statement":[1]}` || !p.Created.Equal(t0) || !p.Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("policy = %+v", p)
	}
	all, err := s.Policies(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "a" || all[1].Name != "p" {
		t.Fatalf("policies = %+v", all)
	}
	if _, err := s.Rule(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a policy shows as a rule: %v", err)
	}
	must(t, s.DeletePolicy(ctx, "p"))
	if _, err := s.Policy(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted policy: %v", err)
	}
}
