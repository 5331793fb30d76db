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
	"slices"
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
	// Kinds, when set, is asked in every round that has new events which
	// kinds of event (their Type) the round must read: the others are passed
	// over unread and undecoded, and the cursor moves past them. Nil or
	// empty reads every kind. It is asked after the round noted the newest
	// event, and the round reads no further than that event: so whatever
	// Kinds depends on (the rules, for the rule runner) as it is when asked
	// applies at least to every event written after the round began, and an
	// event a later answer would have read is never passed over by an
	// earlier one.
	Kinds func(ctx context.Context) ([]string, error)
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
	// held is the cursor as Run keeps it between rounds (see saveEvery).
	held struct {
		valid   bool
		pos     int64 // past what was handled
		saved   int64 // what the store holds
		savedAt time.Time
	}
}

// saveEvery is how often at most Run writes its cursor to the store; it
// writes it once events stop (within retryAfter after saveEvery), and
// when it returns. A
// write transaction per batch was a third of the store's commits on a busy
// server (one per action for each of the two followers). A crash loses at
// most this much of the cursor's progress (about two seconds), and the events after the saved
// cursor are handled again, which does no harm: handling is idempotent.
const saveEvery = time.Second

// Once handles the events written since the last call and reports how many
// it read.
func (f *Follower) Once(ctx context.Context) (int, error) {
	return f.once(ctx, false)
}

// once is Once; lazy (Run's rounds) keeps the cursor in memory between
// rounds and saves it as saveEvery says, rather than reading and writing it
// in the store every round.
func (f *Follower) once(ctx context.Context, lazy bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var cursor int64
	if lazy && f.held.valid {
		cursor = f.held.pos
	} else {
		var err error
		if cursor, err = f.Log.Cursor(ctx, f.Cursor); err != nil {
			return 0, err
		}
		f.held.valid, f.held.pos, f.held.saved, f.held.savedAt = lazy, cursor, cursor, f.Now()
	}
	rows, head, err := f.read(ctx, cursor)
	if err == nil && len(rows) == 0 && head <= cursor && lazy && f.Now().Sub(f.held.savedAt) >= saveEvery {
		// Quiet: what was held back is saved (Run looks again within
		// retryAfter when nothing wakes it).
		err = f.save(ctx)
	}
	if err != nil || (len(rows) == 0 && head <= cursor) {
		return 0, err
	}
	var failed error
	n := 0
	if len(rows) > 0 {
		if f.Begin != nil {
			if err := f.Begin(ctx); err != nil {
				return 0, err
			}
		}
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
	}
	if n == len(rows) && head > cursor {
		// Every event of the kinds asked for up to head was handled: the
		// others before it need nothing.
		cursor = head
	}
	if cursor != f.held.pos || !lazy {
		f.held.pos = cursor
		if !lazy || f.Now().Sub(f.held.savedAt) >= saveEvery {
			if err := f.save(ctx); err != nil {
				return n, err
			}
		}
	}
	return n, failed
}

// read returns the next batch of events after cursor and, when Kinds
// filters them, the newest event's Seq the batch was read up to (0
// otherwise): once the batch is handled, the cursor may move there.
func (f *Follower) read(ctx context.Context, cursor int64) ([]store.Event, int64, error) {
	if f.Kinds == nil {
		rows, err := f.Log.Events(ctx, store.EventFilter{AfterSeq: cursor, Limit: f.Batch})
		return rows, 0, err
	}
	newest, err := f.Log.Events(ctx, store.EventFilter{AfterSeq: cursor, Limit: 1, Newest: true})
	if err != nil || len(newest) == 0 {
		return nil, 0, err
	}
	head := newest[0].Seq
	kinds, err := f.Kinds(ctx)
	if err != nil {
		return nil, 0, err
	}
	rows, err := f.Log.Events(ctx, store.EventFilter{AfterSeq: cursor, UpToSeq: head, Types: kinds, Limit: f.Batch})
	if err != nil {
		return nil, 0, err
	}
	if len(rows) == f.Batch {
		// More may follow before head: the next round reads them.
		head = rows[len(rows)-1].Seq
	}
	return rows, head, nil
}

// save writes the held cursor to the store if it moved since last saved.
func (f *Follower) save(ctx context.Context) error {
	if f.held.pos == f.held.saved {
		return nil
	}
	now := f.Now()
	if err := f.Log.SetCursor(ctx, f.Cursor, f.held.pos, now); err != nil {
		return err
	}
	f.held.saved, f.held.savedAt = f.held.pos, now
	return nil
}

// flush saves what Run held back, as Run returns.
func (f *Follower) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held.valid {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.save(ctx); err != nil {
			f.logger().Warn("save the event log cursor", "cursor", f.Cursor, "err", err)
		}
	}
	// The next Run (after another replica held the loop) reads it afresh.
	f.held.valid = false
}

// Run calls Once until ctx ends: again at once while events keep coming,
// otherwise when wake's channel is closed or after a second. Every period it
// also runs periodic (the reactor's review of held actions, the rule
// runner's schedules), between busy rounds too.
func (f *Follower) Run(ctx context.Context, wake func() <-chan struct{}, period time.Duration, periodic func(context.Context)) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	f.mu.Lock()
	f.held.valid = false
	f.mu.Unlock()
	defer f.flush()
	for {
		select {
		case <-tick.C:
			periodic(ctx)
		default:
		}
		ch := wake()
		n, err := f.once(ctx, true)
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

// Signal wakes the followers of the event log when events of the kinds they
// read were written, so that a follower reading a few kinds (the rule
// runner without rules reads executions' state changes alone) is not woken
// by every action's. Like Notifier it only makes following faster: a
// follower looks again after a second anyway. The zero value is ready to
// use.
type Signal struct {
	mu        sync.Mutex
	listeners []*Listener
}

// A Listener is one follower's wait on a Signal.
type Listener struct {
	s     *Signal
	kinds []string      // nil: any; guarded by s.mu
	ch    chan struct{} // nil once closed; guarded by s.mu
}

// Listen returns a new listener, kept until it is closed: one per
// follower, made once, or one per wait, closed after it.
func (s *Signal) Listen() *Listener {
	l := &Listener{s: s}
	s.mu.Lock()
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	return l
}

// Wait returns a channel closed at the next Notify of one of kinds (nil:
// any), the same channel until then.
func (l *Listener) Wait(kinds []string) <-chan struct{} {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.kinds = kinds
	if l.ch == nil {
		l.ch = make(chan struct{})
	}
	return l.ch
}

// Close forgets the listener.
func (l *Listener) Close() {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if i := slices.Index(l.s.listeners, l); i >= 0 {
		l.s.listeners = slices.Delete(l.s.listeners, i, i+1)
	}
}

// Notify wakes the listeners waiting for any of kinds, or every listener
// when kinds is empty (what was written is not known: a change another
// replica made, a push).
func (s *Signal) Notify(kinds ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.ch != nil && (len(kinds) == 0 || l.kinds == nil || slices.ContainsFunc(l.kinds, func(k string) bool { return slices.Contains(kinds, k) })) {
			close(l.ch)
			l.ch = nil
		}
	}
}
