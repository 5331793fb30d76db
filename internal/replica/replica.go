// Package replica lets several sluice servers share one PostgreSQL database.
//
// Two things change when there is more than one server:
//
//   - Work that must happen once (the reactor, the rule runner and its
//     deliveries, schedules, polling, lease expiry, retention) runs on one
//     replica at a time. Singleton runs a loop only while this replica holds
//     a session-level advisory lock for it (pg_try_advisory_lock, one key per
//     loop) on a connection of its own. When the holder dies its session
//     ends, PostgreSQL releases the lock, and another replica, which tries
//     every Retry, takes the loop over. The holder pings its connection every
//     Retry and stops the loop at once when the connection is lost, since
//     the lock went with it.
//   - Changes committed by one replica wake waiters (long polls, gate
//     release, live console pages) on every replica: Publish sends a NOTIFY
//     on one channel, and Listen hands every other replica's notifications
//     to a callback.
//   - Read-modify-write of a document that is not a pipeline's (a
//     deployment) takes turns across replicas: Mutex holds a session
//     advisory lock of the document's kind for the change.
//
// On SQLite there is one server per database and none of this is used.
package replica

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the NOTIFY channel changes are announced on.
const Channel = "sluice_changes"

// Coordinator coordinates this replica with the others on one database.
type Coordinator struct {
	dsn string
	id  string // this replica, to skip its own notifications
	log *slog.Logger
	// Retry is how often a replica not holding a loop's lock tries again,
	// and how often the holder checks its connection (default 1s): it
	// bounds the failover time.
	Retry time.Duration
	// Leading, when set, is told when this replica starts and stops running
	// a loop (the sluice_singleton_leader metric).
	Leading func(loop string, leading bool)

	mu      sync.Mutex
	pending map[string]bool
	kick    chan struct{}
	once    sync.Once

	listening atomic.Bool // see Listening

	poolOnce sync.Once
	pool     *pgxpool.Pool // Mutex's connections
	poolErr  error
}

// Listening reports whether this replica hears every other replica's
// notifications now: its listening connection is up and was checked within
// the last Retry or so. What a replica keeps only because a change would
// be announced (the service's remembered tokens) is trusted only then.
func (c *Coordinator) Listening() bool { return c.listening.Load() }

// New returns a coordinator over the database at dsn.
func New(dsn string, log *slog.Logger) *Coordinator {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 8)
	rand.Read(b)
	return &Coordinator{dsn: dsn, id: hex.EncodeToString(b), log: log, Retry: time.Second,
		pending: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// ID is this replica's random name, carried by its notifications.
func (c *Coordinator) ID() string { return c.id }

func (c *Coordinator) leading(loop string, on bool) {
	if c.Leading != nil {
		c.Leading(loop, on)
	}
}

// lockKey is the advisory lock of a loop; the prefix keeps it apart from
// the store's own advisory locks.
func lockKey(loop string) string { return "sluice:singleton:" + loop }

// Singleton runs loop while this replica holds loop's lock, until ctx ends.
// loop must return when its context ends; it is started anew each time the
// lock is won again.
func (c *Coordinator) Singleton(ctx context.Context, name string, loop func(context.Context)) {
	for ctx.Err() == nil {
		if err := c.hold(ctx, name, loop); err != nil && ctx.Err() == nil {
			c.log.Warn("singleton work: lost the database", "loop", name, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(c.Retry):
		}
	}
}

// hold connects, waits to win the lock, and runs loop while the connection
// lives. Closing the connection releases the lock.
func (c *Coordinator) hold(ctx context.Context, name string, loop func(context.Context)) error {
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	for {
		var won bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, lockKey(name)).Scan(&won); err != nil {
			return err
		}
		if won {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.Retry):
		}
	}
	c.log.Info("singleton work: running here", "loop", name, "replica", c.id)
	c.leading(name, true)
	defer c.leading(name, false)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop(lctx)
	}()
	tick := time.NewTicker(c.Retry)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-tick.C:
			pctx, pcancel := context.WithTimeout(ctx, 3*c.Retry)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				// The lock may be gone with the session: stop before
				// another replica starts the same loop.
				cancel()
				<-done
				return fmt.Errorf("connection holding the lock: %w", err)
			}
		}
	}
}

// Publish announces a change of kind to the other replicas. It never waits
// for the database: announcements are coalesced and sent by Run's sender,
// and a waiter woken once re-reads the state anyway.
func (c *Coordinator) Publish(kind string) {
	c.mu.Lock()
	c.pending[kind] = true
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run sends what Publish queued and hands other replicas' notifications to
// wake, until ctx ends. After its listening connection is re-established it
// calls wake with kind "" (anything may have changed meanwhile).
func (c *Coordinator) Run(ctx context.Context, wake func(kind string)) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.send(ctx) }()
	go func() { defer wg.Done(); c.listen(ctx, wake) }()
	wg.Wait()
}

func (c *Coordinator) send(ctx context.Context) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		c.mu.Lock()
		kinds := make([]string, 0, len(c.pending))
		for k := range c.pending {
			kinds = append(kinds, k)
		}
		clear(c.pending)
		c.mu.Unlock()
		for _, k := range kinds {
			for attempt := 0; ; attempt++ {
				var err error
				if conn == nil {
					conn, err = pgx.Connect(ctx, c.dsn)
				}
				if err == nil {
					_, err = conn.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, k+" "+c.id)
				}
				if err == nil || ctx.Err() != nil {
					break
				}
				if conn != nil {
					conn.Close(context.Background())
					conn = nil
				}
				if attempt == 2 {
					// Others' backstop timers still find the change.
					c.log.Warn("announce a change to other replicas", "kind", k, "err", err)
					break
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(c.Retry):
				}
			}
		}
	}
}

func (c *Coordinator) listen(ctx context.Context, wake func(kind string)) {
	first := true
	for ctx.Err() == nil {
		err := c.listenOnce(ctx, wake, !first)
		first = false
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("listen for other replicas' changes", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(c.Retry):
		}
	}
}

func (c *Coordinator) listenOnce(ctx context.Context, wake func(kind string), again bool) error {
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	if again {
		wake("")
	}
	c.listening.Store(true)
	defer c.listening.Store(false)
	for {
		// A connection that died without a word (a network cut) is found
		// by a ping after each quiet Retry, so that Listening stops
		// claiming it within about two Retries.
		wctx, cancel := context.WithTimeout(ctx, c.Retry)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			pctx, pcancel := context.WithTimeout(ctx, c.Retry)
			err = conn.Ping(pctx)
			pcancel()
			if err == nil {
				continue
			}
		}
		if err != nil {
			return err
		}
		kind, from, _ := strings.Cut(n.Payload, " ")
		if from == c.id {
			continue // this replica's waiters were woken already
		}
		wake(kind)
	}
}

// mutexKey is the advisory lock of Mutex's name, apart from the singleton
// loops' and the store's own.
func mutexKey(name string) string { return "sluice:mutex:" + name }

// Mutex waits until this replica holds the cross-replica lock called name,
// and returns what releases it. A process-local mutex still orders the
// callers within one replica; this orders the replicas. The lock is a
// session advisory lock on a connection held meanwhile, so a replica that
// dies holding it lets go with its session.
func (c *Coordinator) Mutex(ctx context.Context, name string) (unlock func(), err error) {
	c.poolOnce.Do(func() { c.pool, c.poolErr = pgxpool.New(context.Background(), c.dsn) })
	if c.poolErr != nil {
		return nil, fmt.Errorf("lock %s: %w", name, c.poolErr)
	}
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, mutexKey(name)); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, mutexKey(name)); err != nil {
			// The session may still hold the lock: end it rather than
			// hand a locked connection back to the pool.
			conn.Conn().Close(uctx)
		}
		conn.Release()
	}, nil
}

// Close releases Mutex's connections.
func (c *Coordinator) Close() {
	c.poolOnce.Do(func() {}) // no pool after this
	if c.pool != nil {
		c.pool.Close()
	}
}
