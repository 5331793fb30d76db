package replica_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-ci/sluice/internal/replica"
	"github.com/sluice-ci/sluice/internal/store/postgres/pgtest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) {
	var err error
	pg, err = pgtest.Start()
	if err != nil {
		if os.Getenv("CI") == "true" && !errors.Is(err, pgtest.ErrUnavailable) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "replica tests skipped:", err)
		pg = nil
	}
	code := m.Run()
	if pg != nil {
		pg.Stop()
	}
	os.Exit(code)
}

func dsn(t *testing.T) string {
	if pg == nil {
		t.Skip("no PostgreSQL server")
	}
	return pg.FreshDB(t)
}

// runner is a singleton loop that records who runs it, and fails the test
// when two run at once.
type runner struct {
	t       *testing.T
	running atomic.Int32
	started chan string // the replica that started the loop
}

func (r *runner) loop(name string) func(context.Context) {
	return func(ctx context.Context) {
		if n := r.running.Add(1); n != 1 {
			r.t.Errorf("%d replicas run the loop at once", n)
		}
		r.started <- name
		<-ctx.Done()
		r.running.Add(-1)
	}
}

func TestSingletonRunsOnceAndMovesWhenTheHolderStops(t *testing.T) {
	d := dsn(t)
	r := &runner{t: t, started: make(chan string, 4)}
	ctxs := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		c := replica.New(d, nil)
		c.Retry = 50 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[name] = cancel
		wg.Add(1)
		go func() { defer wg.Done(); c.Singleton(ctx, "reactor", r.loop(name)) }()
	}
	defer func() {
		for _, c := range ctxs {
			c()
		}
		wg.Wait()
	}()
	first := <-r.started
	ctxs[first]() // the holder shuts down: its session ends, the lock with it
	second := <-r.started
	if second == first {
		t.Fatalf("the loop restarted on %s, which stopped", first)
	}
}

func TestSingletonStopsWhenItsSessionIsKilled(t *testing.T) {
	d := dsn(t)
	r := &runner{t: t, started: make(chan string, 4)}
	leading := make(chan bool, 8)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); wg.Wait() }()
	c := replica.New(d, nil)
	c.Retry = 50 * time.Millisecond
	c.Leading = func(_ string, on bool) { leading <- on }
	wg.Add(1)
	go func() { defer wg.Done(); c.Singleton(ctx, "sweeper", r.loop("a")) }()
	<-r.started
	if !<-leading {
		t.Fatal("leading not reported")
	}
	// PostgreSQL ends the holder's session, as when its network goes: the
	// lock is gone, so the loop must stop, then start again once the lock
	// is won anew.
	admin, err := pgx.Connect(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d holders, want 1", killed)
	}
	if <-leading {
		t.Fatal("still leading after its session ended")
	}
	<-r.started
}

func TestChangesReachOtherReplicas(t *testing.T) {
	d := dsn(t)
	a, b := replica.New(d, nil), replica.New(d, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	gotA, gotB := make(chan string, 16), make(chan string, 16)
	wg.Add(2)
	go func() { defer wg.Done(); a.Run(ctx, func(k string) { gotA <- k }) }()
	go func() { defer wg.Done(); b.Run(ctx, func(k string) { gotB <- k }) }()
	// LISTEN may not be in place yet: publish until b hears it.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for heard := false; !heard; {
		a.Publish("jobs")
		select {
		case k := <-gotB:
			if k != "jobs" {
				t.Fatalf("b woke for %q, want jobs", k)
			}
			heard = true
		case <-tick.C:
		case <-deadline:
			t.Fatal("b never heard a's change")
		}
	}
	// And the other way, once a listens too (it may not yet: publish until
	// a hears it); b never hears its own.
	for heard := false; !heard; {
		b.Publish("execution")
		select {
		case k := <-gotA:
			if k != "execution" {
				t.Fatalf("a woke for %q, want execution", k)
			}
			heard = true
		case <-tick.C:
		case <-deadline:
			t.Fatal("a never heard b's change")
		}
	}
	a.Publish("last")
	for {
		select {
		case k := <-gotB:
			if k == "last" {
				return
			}
			if k != "jobs" { // the first loop's repeats may still be queued
				t.Fatalf("b woke for %q: its own change", k)
			}
		case <-deadline:
			t.Fatal("b never heard a's last change")
		}
	}
}

// TestMutexOrdersReplicas: two replicas' changes under one Mutex name never
// overlap, and a name does not block another.
func TestMutexOrdersReplicas(t *testing.T) {
	d := dsn(t)
	a, b := replica.New(d, nil), replica.New(d, nil)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var inside, overlaps, done atomic.Int32
	var wg sync.WaitGroup
	for _, c := range []*replica.Coordinator{a, b, a, b} {
		wg.Go(func() {
			for range 20 {
				unlock, err := c.Mutex(ctx, "deployments")
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				runtime.Gosched()
				inside.Add(-1)
				done.Add(1)
				unlock()
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d times two holders of the lock at once", n)
	}
	if n := done.Load(); n != 80 {
		t.Errorf("%d changes made, want 80", n)
	}
	// While a holds "deployments", b takes another name at once.
	unlock, err := a.Mutex(ctx, "deployments")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Mutex(ctx, "something-else")
	if err != nil {
		unlock()
		t.Fatal(err)
	}
	other()
	// And b waits for "deployments" until a lets go.
	got := make(chan struct{})
	go func() {
		u, err := b.Mutex(ctx, "deployments")
		if err == nil {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("b took the lock a holds")
	case <-time.After(300 * time.Millisecond):
	}
	unlock()
	<-got
}
