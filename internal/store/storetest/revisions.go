package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// testDefinitionRevisions: every write counts: a created definition is at
// revision 1 and each Store.PutDefinition makes one more, whatever revision
// it was given.
func testDefinitionRevisions(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, kind := range store.Kinds {
		d := store.Definition{Kind: kind, Name: "r", Document: []byte(`{}`), Created: t0, Updated: t0, Revision: 40}
		must(t, s.PutDefinition(ctx, d))
		must(t, s.PutDefinition(ctx, d))
		got, err := s.Definition(ctx, kind, "r")
		must(t, err)
		all, err := s.Definitions(ctx, kind)
		must(t, err)
		if got.Revision != 2 || len(all) != 1 || all[0].Revision != 2 {
			t.Fatalf("%s after two puts: revision %d, listed %+v; want 2", kind, got.Revision, all)
		}
	}
}

// testTxPutDefinition: Tx.PutDefinition is a compare-and-swap. A create
// fails on a taken name, a replacement on a revision that moved, both with
// ErrConflict and writing nothing; the transaction sees its own writes; a
// transaction that fails after its put leaves neither the put nor the
// event written with it.
func testTxPutDefinition(t *testing.T, s store.Store) {
	ctx := context.Background()
	kind := store.KindPullRequest
	def := func(doc string, rev int64) store.Definition {
		return store.Definition{Kind: kind, Name: "1", Document: []byte(doc), Created: t0, Updated: t0.Add(time.Minute), Revision: rev}
	}
	must(t, s.UpdateGlobal(ctx, func(tx store.Tx) error {
		if _, err := tx.Definition(ctx, kind, "1"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing in a tx: %v", err)
		}
		if err := tx.PutDefinition(ctx, def(`{"v":1}`, 0)); err != nil {
			return err
		}
		d, err := tx.Definition(ctx, kind, "1")
		if err != nil || string(d.Document) != `{"v":1}` || d.Revision != 1 {
			return fmt.Errorf("own write in the tx: %+v, %v", d, err)
		}
		return nil
	}))
	conflict := func(what string, d store.Definition) {
		t.Helper()
		err := s.UpdateGlobal(ctx, func(tx store.Tx) error { return tx.PutDefinition(ctx, d) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("%s: %v, want ErrConflict", what, err)
		}
	}
	conflict("create of a taken name", def(`{"v":"dup"}`, 0))
	conflict("replace of a revision never written", def(`{"v":"future"}`, 7))
	must(t, s.UpdateGlobal(ctx, func(tx store.Tx) error { return tx.PutDefinition(ctx, def(`{"v":2}`, 1)) }))
	conflict("replace of a stale revision", def(`{"v":"stale"}`, 1))
	conflict("replace of a missing definition", store.Definition{Kind: kind, Name: "nope", Document: []byte(`{}`), Revision: 1})
	got, err := s.Definition(ctx, kind, "1")
	must(t, err)
	if string(got.Document) != `{"v":2}` || got.Revision != 2 || !got.Created.Equal(t0) || !got.Updated.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after refused writes: %+v", got)
	}

	injected := errors.New("injected after the put")
	err = s.UpdateGlobal(ctx, func(tx store.Tx) error {
		if err := tx.PutDefinition(ctx, def(`{"v":3}`, 2)); err != nil {
			return err
		}
		if err := tx.InsertEvent(ctx, store.Event{Time: t0, Type: "T", Document: []byte(`{}`)}); err != nil {
			return err
		}
		return injected
	})
	if !errors.Is(err, injected) {
		t.Fatalf("failed tx: %v", err)
	}
	if got, _ := s.Definition(ctx, kind, "1"); string(got.Document) != `{"v":2}` || got.Revision != 2 {
		t.Fatalf("a failed transaction's put was kept: %+v", got)
	}
	if evs, _ := s.Events(ctx, store.EventFilter{}); len(evs) != 0 {
		t.Fatalf("a failed transaction's event was kept: %+v", evs)
	}
}

// testTxPutDefinitionRace: writers in transactions that do not exclude each
// other (Updates of different pipelines, which on PostgreSQL run at once)
// increment one counter by read, compare-and-swap, and retry on conflict:
// no increment is lost.
func testTxPutDefinitionRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	kind := store.KindPullRequest
	must(t, s.PutDefinition(ctx, store.Definition{Kind: kind, Name: "n", Document: []byte(`0`), Created: t0, Updated: t0}))
	const writers, each = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for {
					err := s.Update(ctx, fmt.Sprintf("w%d", w), func(tx store.Tx) error {
						d, err := tx.Definition(ctx, kind, "n")
						if err != nil {
							return err
						}
						n, err := strconv.Atoi(string(d.Document))
						if err != nil {
							return err
						}
						d.Document = []byte(strconv.Itoa(n + 1))
						return tx.PutDefinition(ctx, d)
					})
					if errors.Is(err, store.ErrConflict) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	d, err := s.Definition(ctx, kind, "n")
	must(t, err)
	if string(d.Document) != strconv.Itoa(writers*each) || d.Revision != writers*each+1 {
		t.Fatalf("counter = %s at revision %d, want %d at %d", d.Document, d.Revision, writers*each, writers*each+1)
	}
}
