// Package follow holds the loop that reads sluice's event log from a cursor
// kept in the store, and the notifier that wakes it. The reactor and the rule
// runner both follow the log this way: each has a cursor of its own, so after
// a crash it resumes where it was, and each handles an event idempotently, so
// reading one twice does no harm.
package follow

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// Log is the part of the store a Follower reads and moves its cursor in.
type Log interface {
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, seq int64, now time.Time) error
	Events(ctx context.Context, filter store.EventFilter) ([]store.Event, error)
}

// maxFailures is how many times in a row an event's handling may fail
// before it is skipped with an error in the log.
const maxFailures = 3

// retryAfter is how long a Follower waits when it found nothing new (or
// failed) and nothing woke it: another replica's events have no notifier.
const retryAfter = time.Second

// A Follower reads the event log after its cursor in batches, hands each
// event to Handle, and moves the cursor past what was handled once the batch
// is done. An event whose handling fails is tried again by the next round, up
// to three times, then skipped with an error in the log.
type Follower struct {
	Log    Log
	Cursor string // the cursor's name in the store
	Batch  int    // events read per round
	Now    func() time.Time
	Logger *slog.Logger
	// What names the follower's work in the log ("react to events").
	What string
	// Begin, when set, runs once before a non-empty batch is handled (the
	// rule runner compiles its rules there); its error ends the round with
	// nothing read.
	Begin func(ctx context.Context) error
	// Handle handles one event.
	Handle func(ctx context.Context, ev store.Event) error
	// End, when set, runs after a non-empty batch was handled, before the
	// cursor moves.
	End func(ctx context.Context)

	mu       sync.Mutex // one Once at a time
	failures int        // in a row, on the current event
}

// Once handles the events written since the last call and reports how many
// it read.
func (f *Follower) Once(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cursor, err := f.Log.Cursor(ctx, f.Cursor)
	if err != nil {
		return 0, err
	}
	rows, err := f.Log.Events(ctx, store.EventFilter{AfterSeq: cursor, Limit: f.Batch})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	if f.Begin != nil {
		if err := f.Begin(ctx); err != nil {
			return 0, err
		}
	}
	var failed error
	n := 0
	for _, r := range rows {
		if err := f.Handle(ctx, r); err != nil {
			f.failures++
			if f.failures < maxFailures {
				failed = fmt.Errorf("event %d (%s): %w", r.Seq, r.Type, err)
				break
			}
			f.logger().Error("giving up on an event", "cursor", f.Cursor, "seq", r.Seq, "type", r.Type, "err", err)
		}
		f.failures = 0
		cursor = r.Seq
		n++
	}
	if f.End != nil {
		f.End(ctx)
	}
	if n > 0 {
		if err := f.Log.SetCursor(ctx, f.Cursor, cursor, f.Now()); err != nil {
			return n, err
		}
	}
	return n, failed
}

// Run calls Once until ctx ends: again at once while events keep coming,
// otherwise when wake's channel is closed or after a second. Every period it
// also runs periodic (the reactor's review of held actions, the rule
// runner's schedules), between busy rounds too.
func (f *Follower) Run(ctx context.Context, wake func() <-chan struct{}, period time.Duration, periodic func(context.Context)) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			periodic(ctx)
		default:
		}
		ch := wake()
		n, err := f.Once(ctx)
		if err != nil && ctx.Err() == nil {
			f.logger().Error(f.What, "err", err)
		}
		if n > 0 && err == nil {
			continue // there may be more
		}
		retry := time.NewTimer(retryAfter)
		select {
		case <-ctx.Done():
			retry.Stop()
			return
		case <-ch:
		case <-retry.C:
		case <-tick.C:
			periodic(ctx)
		}
		retry.Stop()
	}
}

func (f *Follower) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

// Notifier wakes goroutines waiting for a kind of change. It only makes
// waiting faster: every waiter also re-reads the store on a timer, so a
// change made by another replica is seen too, just later. The zero value is
// ready to use.
type Notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// Wait returns a channel closed at the next Broadcast.
func (n *Notifier) Wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// Broadcast wakes every waiter.
func (n *Notifier) Broadcast() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
	}
	n.ch = make(chan struct{})
	n.mu.Unlock()
}
