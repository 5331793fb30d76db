package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseConsoleSessions runs the contract of console sessions.
func exerciseConsoleSessions(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"ConsoleSessions", testConsoleSessions},
	})
}

func testConsoleSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.ConsoleSession(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing session: %v", err)
	}
	a := store.ConsoleSession{IDHash: "s1", TokenHash: "h1", Name: "ann", CSRF: "c1", Created: t0, LastUsed: t0}
	must(t, s.PutConsoleSession(ctx, a))
	got, err := s.ConsoleSession(ctx, "s1")
	must(t, err)
	if got != a {
		t.Fatalf("session = %+v, want %+v", got, a)
	}
	// Put replaces: a flash set, the last use moved on.
	a.Flash, a.LastUsed = "pipeline started", t0.Add(time.Minute)
	must(t, s.PutConsoleSession(ctx, a))
	if got, _ := s.ConsoleSession(ctx, "s1"); got != a {
		t.Fatalf("session after put = %+v, want %+v", got, a)
	}
	// Pruning: b is idle, c too old, a neither.
	b := store.ConsoleSession{IDHash: "s2", TokenHash: "h1", Name: "ann", CSRF: "c2", Created: t0, LastUsed: t0}
	c := store.ConsoleSession{IDHash: "s3", TokenHash: "h1", Name: "ann", CSRF: "c3", Created: t0.Add(-time.Hour), LastUsed: t0.Add(time.Minute)}
	must(t, s.PutConsoleSession(ctx, b))
	must(t, s.PutConsoleSession(ctx, c))
	n, err := s.PruneConsoleSessions(ctx, t0.Add(time.Second), t0.Add(-time.Minute))
	must(t, err)
	if n != 2 {
		t.Fatalf("pruned %d sessions, want 2 (the idle and the old one)", n)
	}
	for _, id := range []string{"s2", "s3"} {
		if _, err := s.ConsoleSession(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s after pruning: %v", id, err)
		}
	}
	must(t, s.DeleteConsoleSession(ctx, "s1"))
	if _, err := s.ConsoleSession(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
	must(t, s.DeleteConsoleSession(ctx, "s1")) // deleting none is no error
}
