package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// testHeldJobs covers what the server's own actions need of jobs: queued jobs
// listed by provider, a continuation held back until its time, a parked job.
func testHeldJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	putPipeline(t, s, "p", 1)
	insertJob(t, s, "p", "gate-1", "PipelineGate", t0)
	insertJob(t, s, "p", "manual-1", "Manual", t0.Add(time.Second))
	insertJob(t, s, "p", "cmd-1", "Commands", t0)
	held, err := s.QueuedJobs(ctx, []string{"PipelineGate", "Manual"})
	must(t, err)
	if len(held) != 2 || held[0].ID != "gate-1" || held[1].ID != "manual-1" {
		t.Fatalf("QueuedJobs = %v, want gate-1, manual-1", jobIDs(held))
	}

	must(t, s.Update(ctx, "p", func(tx store.Tx) error {
		return tx.InsertJob(ctx, store.Job{ID: "fn-2", ExecutionID: "e", Pipeline: "p", Stage: "s", Action: "a", Attempt: 2,
			Provider: "Function", Payload: []byte(`{}`), Deadline: t0.Add(time.Hour), Created: t0, NotBefore: t0.Add(30 * time.Second)})
	}))
	if _, err := s.ClaimJob(ctx, "w", []string{"Function"}, t0.Add(29*time.Second), t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim before NotBefore: %v, want ErrNotFound", err)
	}
	j, err := s.ClaimJob(ctx, "w", []string{"Function"}, t0.Add(30*time.Second), t0.Add(time.Minute))
	must(t, err)
	if j.ID != "fn-2" || !j.NotBefore.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("claimed %s with NotBefore %v", j.ID, j.NotBefore)
	}
	must(t, s.Update(ctx, "p", func(tx store.Tx) error { return tx.ParkJob(ctx, "fn-2") }))
	parked, err := s.Job(ctx, "fn-2")
	must(t, err)
	if parked.Status != store.JobInProgress || parked.Worker != "" || !parked.LeaseUntil.Equal(parked.Deadline) {
		t.Fatalf("parked job: status %s worker %q lease %v deadline %v", parked.Status, parked.Worker, parked.LeaseUntil, parked.Deadline)
	}
	if _, err := s.Heartbeat(ctx, "fn-2", "w", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("heartbeat of a parked job: %v, want ErrConflict", err)
	}
	expired, err := s.ExpiredJobs(ctx, t0.Add(2*time.Minute), 10)
	must(t, err)
	for _, e := range expired {
		if e.ID == "fn-2" {
			t.Fatal("a parked job expired before its deadline")
		}
	}
}

func jobIDs(js []store.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
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
