package follow_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/follow"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

func openLog(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func insert(t *testing.T, st store.Store, types ...string) {
	t.Helper()
	ctx := context.Background()
	err := st.UpdateGlobal(ctx, func(tx store.Tx) error {
		for _, typ := range types {
			if err := tx.InsertEvent(ctx, store.Event{Time: time.Now(), Type: typ, Document: []byte("{}")}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOnceRetriesThenSkips: an event whose handling fails holds the cursor
// back for two rounds and is skipped on the third, with the events after it
// handled; the cursor in the store says how far the follower got.
func TestOnceRetriesThenSkips(t *testing.T) {
	ctx := context.Background()
	st := openLog(t)
	insert(t, st, "ok", "bad", "ok")
	var handled []string
	begins, ends := 0, 0
	f := &follow.Follower{
		Log: st, Cursor: "test", Batch: 10, Now: time.Now,
		Begin: func(context.Context) error { begins++; return nil },
		Handle: func(_ context.Context, ev store.Event) error {
			if ev.Type == "bad" {
				return errors.New("cannot")
			}
			handled = append(handled, ev.Type)
			return nil
		},
		End: func(context.Context) { ends++ },
	}
	cursor := func() int64 {
		c, err := st.Cursor(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i, want := range []struct {
		n      int
		failed bool
		cursor int64
	}{{1, true, 1}, {0, true, 1}, {2, false, 3}, {0, false, 3}} {
		n, err := f.Once(ctx)
		if n != want.n || (err != nil) != want.failed || cursor() != want.cursor {
			t.Fatalf("round %d: read %d, err %v, cursor %d; want %d, failed %v, cursor %d", i+1, n, err, cursor(), want.n, want.failed, want.cursor)
		}
	}
	if len(handled) != 2 {
		t.Fatalf("handled %v, want the two good events once each", handled)
	}
	// Begin and End run around every round that read something, not the
	// empty last one.
	if begins != 3 || ends != 3 {
		t.Fatalf("begin ran %d times, end %d; want 3 each", begins, ends)
	}
}

// TestBeginErrorReadsNothing: a batch whose preparation fails leaves the
// cursor where it was.
func TestBeginErrorReadsNothing(t *testing.T) {
	ctx := context.Background()
	st := openLog(t)
	insert(t, st, "a")
	f := &follow.Follower{Log: st, Cursor: "test", Batch: 10, Now: time.Now,
		Begin:  func(context.Context) error { return errors.New("rules do not load") },
		Handle: func(context.Context, store.Event) error { t.Fatal("handled without Begin"); return nil },
	}
	if n, err := f.Once(ctx); n != 0 || err == nil {
		t.Fatalf("read %d, err %v", n, err)
	}
	if c, _ := st.Cursor(ctx, "test"); c != 0 {
		t.Fatalf("cursor moved to %d", c)
	}
}

// TestRunWakesAndStops: Run handles an event written after it started (woken
// by the notifier, or by its one-second retry), and returns when its context
// ends.
func TestRunWakesAndStops(t *testing.T) {
	st := openLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan string, 10)
	f := &follow.Follower{Log: st, Cursor: "test", Batch: 10, Now: time.Now,
		Handle: func(_ context.Context, ev store.Event) error { seen <- ev.Type; return nil },
	}
	var wake follow.Notifier
	done := make(chan struct{})
	go func() {
		f.Run(ctx, wake.Wait, time.Hour, func(context.Context) {})
		close(done)
	}()
	insert(t, st, "first")
	wake.Broadcast()
	timeout := time.After(30 * time.Second)
	select {
	case got := <-seen:
		if got != "first" {
			t.Fatalf("handled %q", got)
		}
	case <-timeout:
		t.Fatal("the event was never handled")
	}
	cancel()
	select {
	case <-done:
	case <-timeout:
		t.Fatal("Run did not return after its context ended")
	}
}

// countingLog counts the cursor writes of the store it wraps.
type countingLog struct {
	store.Store
	sets int
}

func (c *countingLog) SetCursor(ctx context.Context, name string, seq int64, now time.Time) error {
	c.sets++
	return c.Store.SetCursor(ctx, name, seq, now)
}

// Run does not write its cursor after every batch while events keep
// coming: at most once a second, once they stop, and as it returns.
func TestRunSavesTheCursorWhenQuiet(t *testing.T) {
	st := openLog(t)
	types := make([]string, 100)
	for i := range types {
		types[i] = "ev"
	}
	insert(t, st, types...)
	log := &countingLog{Store: st}
	ctx, cancel := context.WithCancel(context.Background())
	handled := 0
	quiet := make(chan struct{})
	clock := time.Now() // never moves: only quiet saves
	f := &follow.Follower{Log: log, Cursor: "test", Batch: 10, Now: func() time.Time { return clock },
		Handle: func(context.Context, store.Event) error {
			handled++
			if handled == 100 {
				close(quiet)
			}
			return nil
		}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx, func() <-chan struct{} { return nil }, time.Hour, func(context.Context) {})
	}()
	<-quiet
	// The clock does not move, so only stopping Run saves.
	cancel()
	<-done
	seq, err := st.Cursor(context.Background(), "test")
	if err != nil || seq != 100 {
		t.Fatalf("cursor in the store: %d, %v; want 100", seq, err)
	}
	if log.sets > 2 {
		t.Fatalf("%d cursor writes for 10 batches in a burst; want the cursor saved when quiet, not per batch", log.sets)
	}
}

// TestKindsPassOver: a follower that reads some kinds hands over only
// those, and its cursor moves past the others, up to the newest event.
func TestKindsPassOver(t *testing.T) {
	ctx := context.Background()
	st := openLog(t)
	insert(t, st, "a", "b", "a", "c")
	var handled []string
	begins := 0
	f := &follow.Follower{Log: st, Cursor: "test", Batch: 10, Now: time.Now,
		Kinds:  func(context.Context) ([]string, error) { return []string{"a"}, nil },
		Begin:  func(context.Context) error { begins++; return nil },
		Handle: func(_ context.Context, ev store.Event) error { handled = append(handled, ev.Type); return nil },
	}
	if n, err := f.Once(ctx); n != 2 || err != nil {
		t.Fatalf("read %d, err %v; want the two a's", n, err)
	}
	if c, _ := st.Cursor(ctx, "test"); c != 4 || strings.Join(handled, ",") != "a,a" {
		t.Fatalf("cursor %d, handled %v; want 4 and a,a", c, handled)
	}
	// Only kinds it does not read since: the cursor moves, nothing is
	// handled and nothing prepared for.
	insert(t, st, "b", "c")
	if n, err := f.Once(ctx); n != 0 || err != nil {
		t.Fatalf("read %d, err %v; want none", n, err)
	}
	if c, _ := st.Cursor(ctx, "test"); c != 6 || len(handled) != 2 || begins != 1 {
		t.Fatalf("cursor %d, handled %v, begin ran %d times; want 6, a,a, 1", c, handled, begins)
	}
	// In batches: the cursor stops at the batch's last event.
	insert(t, st, "a", "a", "a", "b")
	f.Batch = 2
	if n, err := f.Once(ctx); n != 2 || err != nil {
		t.Fatalf("read %d, err %v; want a batch of 2", n, err)
	}
	if c, _ := st.Cursor(ctx, "test"); c != 8 {
		t.Fatalf("cursor %d after a full batch; want 8", c)
	}
	if n, err := f.Once(ctx); n != 1 || err != nil {
		t.Fatalf("read %d, err %v; want the last a", n, err)
	}
	if c, _ := st.Cursor(ctx, "test"); c != 10 {
		t.Fatalf("cursor %d; want 10", c)
	}
}

// TestKindsNeverPassOverALaterAnswer: Kinds is asked after the round noted
// the newest event, and the round reads no further: an event written while
// Kinds is answered (a rule created meanwhile wants its kind) is read by the
// next round, which asks again, not passed over by this one.
func TestKindsNeverPassOverALaterAnswer(t *testing.T) {
	ctx := context.Background()
	st := openLog(t)
	insert(t, st, "a")
	rounds := 0
	var handled []string
	f := &follow.Follower{Log: st, Cursor: "test", Batch: 10, Now: time.Now,
		Kinds: func(context.Context) ([]string, error) {
			rounds++
			if rounds == 1 {
				insert(t, st, "b", "a") // written after the round began
				return []string{"a"}, nil
			}
			return []string{"a", "b"}, nil
		},
		Handle: func(_ context.Context, ev store.Event) error { handled = append(handled, ev.Type); return nil },
	}
	for range 2 {
		if _, err := f.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(handled, ",") != "a,b,a" {
		t.Fatalf("handled %v; want a, b, a", handled)
	}
	if c, _ := st.Cursor(ctx, "test"); c != 3 {
		t.Fatalf("cursor %d; want 3", c)
	}
}

// TestSignal: a listener is woken by the kinds it waits for, by any kind
// when it waits for all, and by a Notify that does not know the kinds; its
// channel stays the same until closed.
func TestSignal(t *testing.T) {
	var s follow.Signal
	some, all := s.Listen(), s.Listen()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	a, any := some.Wait([]string{"a", "b"}), all.Wait(nil)
	if some.Wait([]string{"a", "b"}) != a {
		t.Fatal("a second Wait before a Notify gave another channel")
	}
	s.Notify("c")
	if closed(a) || !closed(any) {
		t.Fatalf("after Notify(c): waiting for a, b woken %v (want false), for any %v (want true)", closed(a), closed(any))
	}
	any = all.Wait(nil)
	s.Notify("c", "b")
	if !closed(a) || !closed(any) {
		t.Fatalf("after Notify(c, b): woken %v and %v; want both", closed(a), closed(any))
	}
	a = some.Wait([]string{"a"})
	if closed(a) {
		t.Fatal("a Wait after a Notify gave a closed channel")
	}
	s.Notify()
	if !closed(a) {
		t.Fatal("Notify() did not wake a listener waiting for some kinds")
	}
	a = some.Wait([]string{"a"})
	some.Close()
	s.Notify()
	if closed(a) {
		t.Fatal("a closed listener was woken")
	}
}
