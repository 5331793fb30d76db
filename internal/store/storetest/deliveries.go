package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseDeliveries runs the contract of deliveries of notifications.
func exerciseDeliveries(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"Deliveries", testDeliveries},
	})
}

func testDeliveries(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := store.Delivery{ID: "approval/j1/0", Kind: "webhook", Source: "approval/j1", Target: []byte(`{"url":"x"}`),
		Payload: []byte(`{"a":1}`), Next: t0, Created: t0, Updated: t0}
	must(t, s.InsertDelivery(ctx, d))
	again := d
	again.Payload = []byte(`{"a":2}`)
	must(t, s.InsertDelivery(ctx, again)) // a replay changes nothing
	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		return tx.InsertDelivery(ctx, store.Delivery{ID: "approval/j1/1", Kind: "email", Source: "approval/j1", Target: []byte(`{}`),
			Payload: []byte(`{}`), Next: t0.Add(time.Minute), Created: t0.Add(time.Second), Updated: t0})
	}))
	due, err := s.DueDeliveries(ctx, t0.Add(time.Second), 10)
	must(t, err)
	if len(due) != 1 || due[0].ID != d.ID || string(due[0].Payload) != `{"a":1}` || due[0].Status != store.DeliveryPending {
		t.Fatalf("due = %+v", due)
	}
	due[0].Attempts, due[0].Status, due[0].LastError, due[0].Updated = 1, store.DeliveryDelivered, "", t0.Add(2*time.Second)
	must(t, s.UpdateDelivery(ctx, due[0]))
	if due, _ = s.DueDeliveries(ctx, t0.Add(time.Hour), 10); len(due) != 1 || due[0].ID != "approval/j1/1" {
		t.Fatalf("due after delivery = %+v", due)
	}
	all, err := s.Deliveries(ctx, "approval/j1", 10)
	must(t, err)
	if len(all) != 2 || all[0].ID != "approval/j1/1" || all[1].Status != store.DeliveryDelivered || all[1].Attempts != 1 {
		t.Fatalf("Deliveries = %+v", all)
	}
	if err := s.UpdateDelivery(ctx, store.Delivery{ID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing delivery: %v", err)
	}
	dead := all[0]
	dead.Status, dead.Attempts, dead.LastError, dead.Updated = store.DeliveryFailed, 9, "410 Gone", t0.Add(3*time.Second)
	must(t, s.UpdateDelivery(ctx, dead))
	failed, err := s.DeliveriesIn(ctx, "approval/j1", store.DeliveryFailed, 10)
	must(t, err)
	if len(failed) != 1 || failed[0].ID != dead.ID || failed[0].LastError != "410 Gone" {
		t.Fatalf("dead letters = %+v", failed)
	}
	// Pruning takes the delivered one, old enough, and leaves the dead letter.
	n, err := s.PruneDeliveries(ctx, t0.Add(time.Hour), 10)
	must(t, err)
	left, _ := s.Deliveries(ctx, "approval/j1", 10)
	if n != 1 || len(left) != 1 || left[0].ID != dead.ID {
		t.Fatalf("pruned %d, left %+v", n, left)
	}
}
