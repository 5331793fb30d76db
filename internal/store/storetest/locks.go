package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseLocks runs the contract of locks shared by pipelines.
func exerciseLocks(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"Locks", testLocks},
		{"SharedLockAcrossPipelines", testSharedLockAcrossPipelines},
	})
}

func testLocks(t *testing.T, s store.Store) {
	ctx := context.Background()
	var got []byte
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		var err error
		got, err = tx.Lock(ctx, "deploy")
		return err
	}))
	if got != nil {
		t.Fatalf("a lock never taken has document %q", got)
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error { return tx.PutLock(ctx, "deploy", []byte(`{"holder":1}`), t0) }))
	must(t, s.Update(ctx, "q", func(tx store.Tx) error { return tx.PutLock(ctx, "deploy", []byte(`{"holder":2}`), t0.Add(time.Second)) }))
	must(t, s.Update(ctx, "q", func(tx store.Tx) error { return tx.PutLock(ctx, "db", []byte(`{}`), t0) }))
	// A failed transaction leaves the lock as it was.
	boom := errors.New("boom")
	if err := s.Update(ctx, "p", func(tx store.Tx) error {
		if err := tx.PutLock(ctx, "deploy", []byte(`{"holder":3}`), t0); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	locks, err := s.Locks(ctx)
	must(t, err)
	if len(locks) != 2 || locks[0].Name != "db" || locks[1].Name != "deploy" || string(locks[1].Document) != `{"holder":2}` || !locks[1].Updated.Equal(t0.Add(time.Second)) {
		t.Fatalf("Locks = %+v", locks)
	}
}

// Two pipelines sharing a lock take turns on it: neither loses the other's
// write, though their Updates hold different pipeline locks.
func testSharedLockAcrossPipelines(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 100
	var wg sync.WaitGroup
	for _, p := range []string{"p", "q"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				err := s.Update(ctx, p, func(tx store.Tx) error {
					doc, err := tx.Lock(ctx, "shared")
					if err != nil {
						return err
					}
					var v struct{ Count int }
					if doc != nil {
						if err := json.Unmarshal(doc, &v); err != nil {
							return err
						}
					}
					v.Count++
					doc, _ = json.Marshal(v)
					return tx.PutLock(ctx, "shared", doc, time.Now())
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	locks, err := s.Locks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(locks) != 1 || string(locks[0].Document) != fmt.Sprintf(`{"Count":%d}`, 2*n) {
		t.Fatalf("locks = %+v, want one with Count %d", locks, 2*n)
	}
}
