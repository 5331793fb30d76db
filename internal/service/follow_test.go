package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
)

// followFixture is a service whose followers are held for an hour, and a
// started execution of twoStages.
func followFixture(t *testing.T) (*fixture, string) {
	st, arts := servicetest.Stores(t)
	c := servicetest.NewClock()
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: c.Now, FollowInterval: time.Hour})
	f := &fixture{t: t, ctx: context.Background(), svc: svc, store: st, clock: c}
	f.apply(twoStages)
	return f, f.start("p")
}

// TestFollowerHeldUntilEnd: a follower's long poll on a running execution
// is not answered for a change within the follow interval (here an hour),
// but is answered, at once, for the execution's end; a first poll (no
// since) is answered at once.
func TestFollowerHeldUntilEnd(t *testing.T) {
	f, id := followFixture(t)
	ctx, svc, c := f.ctx, f.svc, f.clock

	first, err := svc.WaitExecution(ctx, "p", id, time.Time{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A change while it runs, made before the follower asks.
	c.Add(time.Second)
	f.succeed(f.claim("w1"), map[string]string{"VERSION": "1"})
	if e := f.execution("p", id); e.Status.Terminal() || !e.LastUpdate.After(first.LastUpdate) {
		t.Fatalf("after the first action: %s, updated %v (was %v)", e.Status, e.LastUpdate, first.LastUpdate)
	}
	type answer struct {
		e   *engine.Execution
		err error
	}
	got := make(chan answer, 1)
	go func() {
		e, err := svc.WaitExecution(ctx, "p", id, first.LastUpdate, time.Hour)
		got <- answer{e, err}
	}()
	c.Add(time.Second)
	f.succeed(f.claim("w1"), nil)
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.e.Status != "Succeeded" {
		t.Fatalf("the follower was answered %s, want the end (Succeeded)", a.e.Status)
	}
}

// TestFollowerAnsweredAtDeadline: a change held by the follow interval is
// still answered when the poll's wait ends.
func TestFollowerAnsweredAtDeadline(t *testing.T) {
	f, id := followFixture(t)
	ctx, svc, c := f.ctx, f.svc, f.clock
	before := f.execution("p", id)
	c.Add(time.Second)
	f.succeed(f.claim("w1"), map[string]string{"VERSION": "1"})
	e, err := svc.WaitExecution(ctx, "p", id, before.LastUpdate, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !e.LastUpdate.After(before.LastUpdate) || e.Status.Terminal() {
		t.Fatalf("answered %s updated %v, want the running execution as changed after %v", e.Status, e.LastUpdate, before.LastUpdate)
	}
}
