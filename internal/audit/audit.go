// Package audit is sluice's audit trail: one record per API call, git request
// and webhook delivery, kept append-only in a SQLite database of its own
// (DATA/audit.db), apart from the pipeline store so that audit writes never
// queue behind the store's writer, nor the store's behind them.
//
// # Group commit
//
// Append hands a record to one writer goroutine and waits until the
// transaction holding it has committed (WAL with synchronous=NORMAL, as the
// pipeline store: a commit survives sluice crashing; only the machine losing
// power may lose the last ones). The writer takes every record waiting when
// it starts a transaction; those that arrive while it commits join the next
// one. Under load one commit carries many records, so the trail costs one
// write per batch, not per request, and a caller that got its answer knows
// its record survives a crash.
//
// Submit hands a record over without waiting for its commit. The API uses it
// for reads that were allowed and succeeded, which change nothing: a crash can
// lose the last batch of those, never a change, a denial or a failure.
//
// # Append-only
//
// Nothing updates a record (a trigger refuses it); only the pruner deletes,
// records older than the retention, oldest first and in small batches.
//
// The package imports nothing of sluice's.
package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Outcomes of a call.
const (
	Allowed = "allowed" // the call was let through and succeeded
	Denied  = "denied"  // authentication or the permission check refused it
	Failed  = "failed"  // it was let through and failed (an error was answered)
	// Challenge is a request that carried no credentials answered with 401
	// and WWW-Authenticate, as git's first anonymous try of every push and
	// fetch is: not a refusal, so not among the denied.
	Challenge = "challenge"
)

// Record is one audited request.
type Record struct {
	ID        int64 // assigned when written; increasing
	Time      time.Time
	RequestID string
	Principal string // the token's name; webhook/NAME for a delivery; "" unauthenticated
	Source    string // the client's address (no port)
	UserAgent string
	Operation string // StartPipelineExecution, GitPush, DeliverWebhook, …
	Resource  string // pipeline/NAME, repository/NAME, …; "*" for lists
	Params    map[string]string
	Outcome   string // Allowed, Denied, Failed or Challenge
	Error     string // the error answered, if any
	Status    int    // the HTTP status answered
	Duration  time.Duration
}

// Filter selects records, newest first.
type Filter struct {
	Principal string
	Operation string
	Denied    bool      // only denied calls
	Since     time.Time // only records at or after this time
	Before    int64     // only records with an ID below this (paging); 0: no bound
	Limit     int       // at most this many; 0 means DefaultLimit, capped at MaxLimit
}

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ErrClosed is returned by Append once Close has begun.
var ErrClosed = errors.New("audit trail closed")

// Options configure a Log.
type Options struct {
	// Retention is how long records are kept; 0 or less keeps them forever.
	Retention time.Duration
	// PruneInterval is how often old records are looked for (default 1 hour;
	// the first look is right after Open).
	PruneInterval time.Duration
	// PruneBatch is how many records one pruning transaction deletes (default 1000).
	PruneBatch int
	Logger     *slog.Logger
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

// Log is an open audit trail. Append, Query and Prune may be called from many
// goroutines at once.
type Log struct {
	write *sql.DB // one connection: the writer goroutine's and the pruner's
	read  *sql.DB
	opts  Options
	pg    bool // on PostgreSQL (OpenPostgres): $n placeholders, ids by RETURNING

	in chan *pending

	mu     sync.RWMutex // held for reading while sending on in; for writing by Close
	closed bool

	writerDone chan struct{}
	stopPrune  chan struct{}
	pruneDone  chan struct{}
	closeOnce  sync.Once
	closeErr   error

	statsMu sync.Mutex
	stats   Stats

	inserts map[int]*sql.Stmt // INSERTs of n rows, prepared once; the writer's alone
}

// Stats count what the writer did.
type Stats struct {
	Records int64 // records written
	Commits int64 // transactions committed
}

type pending struct {
	rec  *Record
	done chan error // buffered: the writer never waits for the caller
	wait bool       // a caller waits for the commit (Append, not Submit)
}

// maxBatch bounds one transaction, so a burst is not one huge commit.
const maxBatch = 512

// Open opens (creating if needed) the audit database at path and starts its
// writer and pruner. Close stops them.
func Open(ctx context.Context, path string, opts Options) (*Log, error) {
	opts = withDefaults(opts)
	dsn := func(txlock string) string {
		q := url.Values{}
		// FULL: a committed record is on disk, not only in the page cache.
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
			q.Add("_pragma", p)
		}
		if txlock != "" {
			q.Set("_txlock", txlock)
		}
		return "file:" + path + "?" + q.Encode()
	}
	write, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)
	read, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(2)
	l := newLog(write, read, opts)
	if err := l.migrate(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("audit database %s: %w", path, err)
	}
	go l.writer()
	go l.pruner()
	return l, nil
}

func withDefaults(opts Options) Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = time.Hour
	}
	if opts.PruneBatch <= 0 {
		opts.PruneBatch = 1000
	}
	return opts
}

func newLog(write, read *sql.DB, opts Options) *Log {
	return &Log{
		write: write, read: read, opts: opts,
		in:         make(chan *pending, 4*maxBatch),
		inserts:    make(map[int]*sql.Stmt),
		writerDone: make(chan struct{}),
		stopPrune:  make(chan struct{}),
		pruneDone:  make(chan struct{}),
	}
}

const schema = `
CREATE TABLE audit_records (
	id          INTEGER PRIMARY KEY, -- the pruner never deletes the newest, so ids are never reused
	time_us     INTEGER NOT NULL,
	request_id  TEXT NOT NULL,
	principal   TEXT NOT NULL,
	source      TEXT NOT NULL,
	user_agent  TEXT NOT NULL,
	operation   TEXT NOT NULL,
	resource    TEXT NOT NULL,
	params      TEXT NOT NULL, -- a JSON object of strings, secrets already removed
	outcome     TEXT NOT NULL,
	error       TEXT NOT NULL,
	status      INTEGER NOT NULL,
	duration_us INTEGER NOT NULL
);
-- No index on time: records are appended in the order they complete, so time
-- follows the rowid, and a time is found by binary search on it (firstAt).
-- Queries read newest first along the rowid and filter; each index was a few
-- percent of an API read's cost (go run ./bench audit).
CREATE INDEX audit_records_denied ON audit_records (id) WHERE outcome = 'denied';
CREATE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records
BEGIN
	SELECT RAISE(ABORT, 'audit records are append-only');
END;
`

func (l *Log) migrate(ctx context.Context) error {
	tx, err := l.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	switch version {
	case 0:
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `PRAGMA user_version = 1`); err != nil {
			return err
		}
	case 1:
	default:
		return fmt.Errorf("schema version %d is newer than this sluice knows (1)", version)
	}
	return tx.Commit()
}

// Append writes rec and returns once the transaction holding it has
// committed. A zero Time is set to now. Secrets in Params are redacted here
// too (see SecretKey), whatever the caller did. The wait ends early when ctx
// does, but the record is written all the same.
func (l *Log) Append(ctx context.Context, rec Record) error {
	if rec.Time.IsZero() {
		rec.Time = l.opts.Now()
	}
	rec.Params = RedactParams(rec.Params)
	p := &pending{rec: &rec, done: make(chan error, 1), wait: true}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	select {
	case l.in <- p:
	case <-ctx.Done():
		l.mu.RUnlock()
		return ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush returns once every record handed over before it (by Submit too) is
// committed.
func (l *Log) Flush(ctx context.Context) error {
	p := &pending{done: make(chan error, 1), wait: true}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	select {
	case l.in <- p:
	case <-ctx.Done():
		l.mu.RUnlock()
		return ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Submit hands rec to the writer and returns without waiting for its commit;
// see the package comment for when that is enough.
func (l *Log) Submit(rec Record) error {
	if rec.Time.IsZero() {
		rec.Time = l.opts.Now()
	}
	rec.Params = RedactParams(rec.Params)
	p := &pending{rec: &rec, done: make(chan error, 1)}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	l.in <- p
	return nil
}

// writer commits what is waiting, batch after batch, until in is closed.
func (l *Log) writer() {
	defer close(l.writerDone)
	batch := make([]*pending, 0, maxBatch)
	for {
		p, ok := <-l.in
		if !ok {
			return
		}
		batch = append(batch[:0], p)
		// Let the goroutines that are runnable now, requests about to
		// append among them, run first: on a busy server that gathers a
		// batch worth one commit instead of committing record by record; on
		// an idle one it returns at once.
		runtime.Gosched()
		open := true
		// When nobody waits for this batch (reads, handed over by Submit), it
		// lingers a moment for more: a transaction's begin and commit cost
		// more than the rows in it. A record someone waits for ends the linger.
		var linger <-chan time.Time
		var lingerTimer *time.Timer
		if !p.wait {
			lingerTimer = time.NewTimer(submitLinger)
			linger = lingerTimer.C
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case p, ok := <-l.in:
				if !ok {
					open = false
					break drain
				}
				batch = append(batch, p)
				if p.wait {
					linger = nil
				}
			default:
				if linger == nil {
					break drain
				}
				select {
				case p, ok := <-l.in:
					if !ok {
						open = false
						break drain
					}
					batch = append(batch, p)
					if p.wait {
						linger = nil
					}
				case <-linger:
					break drain
				}
			}
		}
		if lingerTimer != nil {
			lingerTimer.Stop()
		}
		err := l.commit(batch)
		if err != nil {
			l.opts.Logger.Error("audit trail: write failed", "records", len(batch), "err", err)
		} else {
			l.statsMu.Lock()
			l.stats.Records += int64(len(batch))
			l.stats.Commits++
			l.statsMu.Unlock()
		}
		for _, p := range batch {
			p.done <- err
		}
		if !open {
			return
		}
	}
}

const insertCols = `time_us, request_id, principal, source, user_agent, operation, resource, params, outcome, error, status, duration_us`

// rowsPerInsert bounds one multi-row INSERT (13 columns: well under SQLite's
// limit on bound parameters).
const rowsPerInsert = 64

func (l *Log) commit(batch []*pending) error {
	ctx := context.Background() // a record is written whoever stopped waiting for it
	live := batch[:0:0]
	for _, p := range batch {
		if p.rec != nil { // nil: a Flush marker
			live = append(live, p)
		}
	}
	if batch = live; len(batch) == 0 {
		return nil
	}
	// Prepared before the transaction, which holds the only connection.
	for start := 0; start < len(batch); start += rowsPerInsert {
		if _, err := l.insert(ctx, min(rowsPerInsert, len(batch)-start)); err != nil {
			return err
		}
	}
	tx, err := l.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	args := make([]any, 0, 12*rowsPerInsert)
	for start := 0; start < len(batch); start += rowsPerInsert {
		chunk := batch[start:min(start+rowsPerInsert, len(batch))]
		stmt := l.inserts[len(chunk)]
		args = args[:0]
		for _, p := range chunk {
			r := p.rec
			params := "{}"
			if len(r.Params) > 0 {
				raw, err := json.Marshal(r.Params)
				if err != nil {
					return err
				}
				params = string(raw)
			}
			args = append(args, r.Time.UnixMicro(), r.RequestID, r.Principal, r.Source, r.UserAgent, r.Operation,
				r.Resource, params, r.Outcome, r.Error, r.Status, r.Duration.Microseconds())
		}
		if l.pg {
			// PostgreSQL returns the ids in the order of the VALUES rows.
			if err := l.insertReturning(ctx, tx.StmtContext(ctx, stmt), args, chunk); err != nil {
				return err
			}
			continue
		}
		res, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		// Rows of one INSERT get consecutive ids ending at the last one.
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for i, p := range chunk {
			p.rec.ID = last - int64(len(chunk)-1-i)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// insert returns the prepared INSERT of n rows. Call it outside a
// transaction.
func (l *Log) insert(ctx context.Context, n int) (*sql.Stmt, error) {
	if st, ok := l.inserts[n]; ok {
		return st, nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_records (` + insertCols + `) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?,?,?,?,?,?,?,?,?,?,?,?)`)
	}
	if l.pg {
		q.WriteString(` RETURNING id`)
	}
	st, err := l.write.PrepareContext(ctx, l.sql(q.String()))
	if err != nil {
		return nil, fmt.Errorf("prepare insert: %w", err)
	}
	l.inserts[n] = st
	return st, nil
}

// Stats returns what the writer did so far.
func (l *Log) Stats() Stats {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	return l.stats
}

// submitLinger is how long a batch nobody waits for gathers more records.
const submitLinger = 2 * time.Millisecond

// clockSkew bounds how far apart in time two records can be written out of
// order: a record's time is when its request completed, taken just before it
// is handed to the writer, so only goroutine scheduling separates the two.
const clockSkew = time.Minute

// firstAt returns the id of the first record whose time is t or later (one
// past the last id when there is none), by binary search over the rowid: time
// grows with it, to within clockSkew.
func (l *Log) firstAt(ctx context.Context, t time.Time) (int64, error) {
	var lo, hi int64
	if err := l.read.QueryRowContext(ctx, `SELECT COALESCE(MIN(id), 1), COALESCE(MAX(id), 0) + 1 FROM audit_records`).Scan(&lo, &hi); err != nil {
		return 0, fmt.Errorf("audit records: %w", err)
	}
	want := t.UnixMicro()
	for lo < hi {
		mid := lo + (hi-lo)/2
		var id, at int64
		err := l.read.QueryRowContext(ctx, l.sql(`SELECT id, time_us FROM audit_records WHERE id >= ? ORDER BY id LIMIT 1`), mid).Scan(&id, &at)
		if errors.Is(err, sql.ErrNoRows) {
			hi = mid
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("audit records: %w", err)
		}
		if at < want {
			lo = id + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// Query returns the records f selects, newest first.
func (l *Log) Query(ctx context.Context, f Filter) ([]Record, error) {
	var where []string
	var args []any
	if f.Principal != "" {
		where = append(where, "principal = ?")
		args = append(args, f.Principal)
	}
	if f.Operation != "" {
		where = append(where, "operation = ?")
		args = append(args, f.Operation)
	}
	if f.Denied {
		where = append(where, "outcome = 'denied'")
	}
	if !f.Since.IsZero() {
		from, err := l.firstAt(ctx, f.Since.Add(-clockSkew))
		if err != nil {
			return nil, err
		}
		where = append(where, "id >= ?", "time_us >= ?")
		args = append(args, from, f.Since.UnixMicro())
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	q := `SELECT id, ` + insertCols + ` FROM audit_records`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT " + strconv.Itoa(limit)
	rows, err := l.read.QueryContext(ctx, l.sql(q), args...)
	if err != nil {
		return nil, fmt.Errorf("query audit records: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		var r Record
		var t, d int64
		var params string
		if err := rows.Scan(&r.ID, &t, &r.RequestID, &r.Principal, &r.Source, &r.UserAgent, &r.Operation, &r.Resource,
			&params, &r.Outcome, &r.Error, &r.Status, &d); err != nil {
			return nil, err
		}
		r.Time, r.Duration = time.UnixMicro(t).UTC(), time.Duration(d)*time.Microsecond
		if params != "{}" {
			if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
				return nil, fmt.Errorf("audit record %d: params: %w", r.ID, err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Prune deletes the records older than before, oldest first, in transactions
// of Options.PruneBatch records, and returns how many it deleted.
func (l *Log) Prune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		// Never the newest record: the next id is one more than the largest
		// left, so keeping it keeps ids from being handed out twice.
		// Records before the first one at before-clockSkew are surely older
		// than before; the few within the skew wait for the next prune.
		upto, err := l.firstAt(ctx, before.Add(-clockSkew))
		if err != nil {
			return total, err
		}
		res, err := l.write.ExecContext(ctx, l.sql(`DELETE FROM audit_records WHERE id IN
			(SELECT id FROM audit_records WHERE id < ? ORDER BY id LIMIT ?)
			AND id < (SELECT MAX(id) FROM audit_records)`), upto, l.opts.PruneBatch)
		if err != nil {
			return total, fmt.Errorf("prune audit records: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(l.opts.PruneBatch) {
			return total, nil
		}
		// Between batches, let waiting appends have the writer connection.
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// pruner applies the retention every PruneInterval until Close.
func (l *Log) pruner() {
	defer close(l.pruneDone)
	if l.opts.Retention <= 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.stopPrune
		cancel()
	}()
	t := time.NewTicker(l.opts.PruneInterval)
	defer t.Stop()
	for {
		n, err := l.Prune(ctx, l.opts.Now().Add(-l.opts.Retention))
		switch {
		case err != nil && ctx.Err() == nil:
			l.opts.Logger.Warn("audit trail: prune", "err", err)
		case n > 0:
			l.opts.Logger.Info("audit trail: pruned old records", "records", n, "retention", l.opts.Retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close writes every record handed to Append before it, stops the writer and
// the pruner, and closes the database. Append called after it returns
// ErrClosed. Close may be called more than once.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.in) // no sender is inside Append's send: they hold mu for reading
		l.mu.Unlock()
		<-l.writerDone
		close(l.stopPrune)
		<-l.pruneDone
		for _, st := range l.inserts {
			st.Close()
		}
		l.closeErr = errors.Join(l.read.Close(), l.write.Close())
	})
	return l.closeErr
}

// Redacted replaces a value whose key names a secret.
const Redacted = "[redacted]"

var secretKey = lazyregexp.New(`(?i)token|secret|passw|credential|authorization|api[-_]?key|cookie|signature|private[-_]?key`)

// SecretKey reports whether a parameter named key may hold a secret, whose
// value is therefore never recorded.
func SecretKey(key string) bool {
	// Every audited call asks this of each of its parameters' names,
	// which are few and always the same: the answers are remembered (the
	// regular expression was 2% of a job call's CPU), for at most
	// maxSecretKeys names, since names come from requests.
	if v, ok := secretKeys.Load(key); ok {
		return v.(bool)
	}
	secret := secretKey.MatchString(key)
	if secretKeysN.Load() < maxSecretKeys {
		if _, had := secretKeys.LoadOrStore(key, secret); !had {
			secretKeysN.Add(1)
		}
	}
	return secret
}

var (
	secretKeys  sync.Map // name → SecretKey's answer
	secretKeysN atomic.Int64
)

const maxSecretKeys = 1024

// maxParamValue bounds a recorded parameter value.
const maxParamValue = 256

// RedactParams returns a copy of p with the values of secret keys replaced by
// Redacted and long values cut.
func RedactParams(p map[string]string) map[string]string {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]string, len(p))
	for k, v := range p {
		switch {
		case SecretKey(k):
			v = Redacted
		case len(v) > maxParamValue:
			v = v[:maxParamValue] + "…"
		}
		out[k] = v
	}
	return out
}

// ParseAge reads a time span as Go writes durations (90m, 36h) or in days
// (90d).
func ParseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err == nil && n >= 0 {
			return time.Duration(n * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 90d, 36h or 15m", s)
	}
	return d, nil
}
