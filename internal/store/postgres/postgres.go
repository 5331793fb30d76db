// Package postgres is the store on PostgreSQL, through pgx v5 and a pgxpool,
// for replicas of sluice sharing one database. It passes the same conformance
// suite as the SQLite store (storetest) and maps rows the same way: times are
// milliseconds, documents are text.
//
// SQLite had one writer at a time, and the code above the store grew used to
// it. Here writers run side by side, so the pieces shared across pipelines
// are made safe one by one:
//
//   - Update holds a transaction-level advisory lock on "pipeline:NAME", so no
//     two Updates of one pipeline run together, on any replica; UpdateGlobal
//     holds "pipeline:" (the lock of no pipeline).
//   - Tx.Lock locks the lock's row (FOR UPDATE, inserting a placeholder row
//     first when there is none), so two pipelines sharing a lock take turns
//     and neither loses the other's write.
//   - InsertEvent takes the advisory lock "events" before it draws a sequence
//     number, and holds it to commit: transactions that write events commit
//     one after the other, in seq order. A reader following the log by seq
//     (Events with AfterSeq) therefore never sees seq N+1 before N. The cost:
//     decisions that write events serialise from their first event to commit.
//   - Idempotency keys, deliveries and the like rely on unique keys with
//     ON CONFLICT DO NOTHING, which waits for a concurrent insert of the same
//     key to commit or roll back.
//   - ClaimJob picks with FOR UPDATE SKIP LOCKED.
//   - Appends to one job's log serialise on an advisory lock "log:JOB".
//
// What is not handled: two transactions taking row locks (locks, events) in
// opposite orders can deadlock; PostgreSQL then aborts one of them, and its
// Update returns the error (SQLSTATE 40P01) for the caller to retry.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on a PostgreSQL database.
//
// It has two pools, as the SQLite store has. Update's transactions and the
// writes outside them use write; plain reads use read. The service reads
// through the Store while it holds an Update open (whether a lock's holder
// is still alive, say): with one pool, enough concurrent Updates would hold
// every connection and wait for one more for ever. A read never waits for a
// row lock, so the read pool always drains, and Updates always progress.
type Store struct {
	write *pgxpool.Pool
	read  *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (postgres://…) and brings its schema
// up to date. Stores opened at the same time on one database migrate one
// after the other.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	write, err := pgxpool.NewWithConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	read, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s := &Store{write: write, read: read}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pools.
func (s *Store) Close() error {
	s.read.Close()
	s.write.Close()
	return nil
}

// migrateLock serialises migrations across replicas: each migration's
// transaction takes it first, so stores opened together on one database
// migrate one after the other and each migration runs once.
const migrateLock = `SELECT pg_advisory_xact_lock(hashtextextended('sluice:migrate', 0))`

func (s *Store) migrate(ctx context.Context) error {
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	_, err = migrate.Run(ctx, migrateDB{s.write}, files, migrate.Options{Lock: migrateLock})
	return err
}

// migrateDB is a migrate.DB over the pool. Without arguments pgx sends a
// query's text as one simple query, so a migration may hold many statements.
type migrateDB struct{ pool *pgxpool.Pool }

func (d migrateDB) Begin(ctx context.Context) (migrate.Tx, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return migrateTx{tx}, nil
}

type migrateTx struct{ tx pgx.Tx }

func (t migrateTx) Exec(ctx context.Context, query string) error {
	_, err := t.tx.Exec(ctx, query)
	return err
}

func (t migrateTx) QueryInt(ctx context.Context, query string) (int, error) {
	var v int
	err := t.tx.QueryRow(ctx, query).Scan(&v)
	return v, err
}

func (t migrateTx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t migrateTx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func notFound(what, id string) error {
	return fmt.Errorf("%s %s: %w", what, id, store.ErrNotFound)
}

// querier is what queries need of a pool and a transaction alike.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type scanner interface{ Scan(dest ...any) error }

// list runs query and scans every row with scan.
func list[T any](ctx context.Context, q querier, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// sqlLimit is limit as a LIMIT argument: SQLite reads a negative limit as
// none, PostgreSQL refuses it, and takes NULL for none.
func sqlLimit(limit int) any {
	if limit < 0 {
		return nil
	}
	return limit
}

// advisoryLock takes a transaction-level advisory lock on key.
func advisoryLock(ctx context.Context, q querier, key string) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
	return err
}

// UpdateGlobal implements store.Store: it is the Update of the pipeline with
// no name, whose advisory lock "pipeline:" replicas from before UpdateGlobal
// was named took too, so both exclude each other during an upgrade.
func (s *Store) UpdateGlobal(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Update(ctx, "", fn)
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, pipeline string, fn func(tx store.Tx) error) error {
	pgTx, err := s.write.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer pgTx.Rollback(ctx)
	if err := advisoryLock(ctx, pgTx, "pipeline:"+pipeline); err != nil {
		return fmt.Errorf("lock pipeline %s: %w", pipeline, err)
	}
	if err := fn(&tx{q: pgTx, pipeline: pipeline}); err != nil {
		return err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction of its own, for the few writes outside Update
// that need more than one statement.
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) error {
	pgTx, err := s.write.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer pgTx.Rollback(ctx)
	if err := fn(pgTx); err != nil {
		return err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Pipelines implements store.Store.
func (s *Store) Pipelines(ctx context.Context) ([]store.Pipeline, error) {
	return list(ctx, s.read, "pipelines", scanPipeline, `SELECT `+pipelineCols+` FROM pipelines ORDER BY name`)
}

// PipelinePage implements store.Store. Names compare byte by byte (COLLATE
// "C"), as SQLite's do, so that pages follow the same order on both stores.
func (s *Store) PipelinePage(ctx context.Context, after string, limit int) ([]store.Pipeline, error) {
	return list(ctx, s.read, "pipelines", scanPipeline,
		`SELECT `+pipelineSummaryCols+` FROM pipelines WHERE name > $1 COLLATE "C" ORDER BY name COLLATE "C" LIMIT $2`, after, limit)
}

// Pipeline implements store.Store.
func (s *Store) Pipeline(ctx context.Context, name string) (store.Pipeline, error) {
	return getPipeline(ctx, s.read, name)
}

const pipelineCols = `name, version, declaration, transitions, trigger_note, created_ms, updated_ms, execution_mode, pipeline_type, stage_count`

// pipelineSummaryCols are pipelineCols with empty texts for what
// PipelinePage does not read.
const pipelineSummaryCols = `name, version, '', '', '', created_ms, updated_ms, execution_mode, pipeline_type, stage_count`

func scanPipeline(r scanner) (store.Pipeline, error) {
	var p store.Pipeline
	var decl, trans, note string
	var created, updated int64
	if err := r.Scan(&p.Name, &p.Version, &decl, &trans, &note, &created, &updated, &p.ExecutionMode, &p.PipelineType, &p.Stages); err != nil {
		return p, err
	}
	if decl != "" {
		p.Declaration = []byte(decl)
	}
	if trans != "" {
		p.Transitions = []byte(trans)
	}
	if note != "" {
		p.TriggerNote = []byte(note)
	}
	p.Created, p.Updated = fromMS(created), fromMS(updated)
	return p, nil
}

func getPipeline(ctx context.Context, q querier, name string) (store.Pipeline, error) {
	p, err := scanPipeline(q.QueryRow(ctx, `SELECT `+pipelineCols+` FROM pipelines WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, notFound("pipeline", name)
	}
	if err != nil {
		return p, fmt.Errorf("get pipeline %s: %w", name, err)
	}
	return p, nil
}

// PipelineVersion implements store.Store.
func (s *Store) PipelineVersion(ctx context.Context, name string, version int) (store.PipelineVersion, error) {
	v := store.PipelineVersion{Name: name, Version: version}
	var decl string
	var created int64
	err := s.read.QueryRow(ctx, `SELECT declaration, created_ms FROM pipeline_versions WHERE name = $1 AND version = $2`, name, version).Scan(&decl, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, notFound("pipeline version", fmt.Sprintf("%s@%d", name, version))
	}
	if err != nil {
		return v, fmt.Errorf("get pipeline %s version %d: %w", name, version, err)
	}
	v.Declaration, v.Created = []byte(decl), fromMS(created)
	return v, nil
}

const executionCols = `id, pipeline, seq, status, active, trigger_type, trigger_detail, document, started_ms, updated_ms`

func scanExecution(r scanner) (store.Execution, error) {
	var e store.Execution
	var doc string
	var started, updated int64
	if err := r.Scan(&e.ID, &e.Pipeline, &e.Seq, &e.Status, &e.Active, &e.TriggerType, &e.TriggerDetail, &doc, &started, &updated); err != nil {
		return e, err
	}
	if doc != "" {
		e.Document = []byte(doc)
	}
	e.Started, e.Updated = fromMS(started), fromMS(updated)
	return e, nil
}

func getExecution(ctx context.Context, q querier, id string) (store.Execution, error) {
	e, err := scanExecution(q.QueryRow(ctx, `SELECT `+executionCols+` FROM executions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, notFound("execution", id)
	}
	if err != nil {
		return e, fmt.Errorf("get execution %s: %w", id, err)
	}
	return e, nil
}

// Execution implements store.Store.
func (s *Store) Execution(ctx context.Context, id string) (store.Execution, error) {
	return getExecution(ctx, s.read, id)
}

// Executions implements store.Store.
func (s *Store) Executions(ctx context.Context, pipeline string, before int64, limit int) ([]store.Execution, error) {
	if before <= 0 {
		before = 1 << 62
	}
	if limit <= 0 {
		limit = 100
	}
	return list(ctx, s.read, "executions", scanExecution,
		`SELECT `+executionCols+` FROM executions WHERE pipeline = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, pipeline, before, limit)
}

// LatestExecutions implements store.Store: for each name, the newest row
// of executions_by_pipeline, in one query.
func (s *Store) LatestExecutions(ctx context.Context, pipelines []string) ([]store.Execution, error) {
	if len(pipelines) == 0 {
		return nil, nil
	}
	rows, err := list(ctx, s.read, "executions", scanExecution, `
		SELECT e.id, e.pipeline, e.seq, e.status, e.active, e.trigger_type, e.trigger_detail,
			CASE WHEN e.active THEN e.document ELSE '' END, e.started_ms, e.updated_ms
		FROM unnest($1::text[]) AS n(name)
		CROSS JOIN LATERAL (SELECT * FROM executions x WHERE x.pipeline = n.name ORDER BY x.seq DESC LIMIT 1) e`, pipelines)
	if err != nil {
		return nil, err
	}
	return store.InOrder(pipelines, rows), nil
}

const jobCols = `id, execution_id, pipeline, stage, action, attempt, provider, payload, status, worker, lease_ms, deadline_ms, cancel_reason, message, created_ms, claimed_ms, finished_ms, not_before_ms, region`

func scanJob(r scanner) (store.Job, error) {
	var j store.Job
	var payload, status string
	var lease, deadline, created, claimed, finished, notBefore int64
	err := r.Scan(&j.ID, &j.ExecutionID, &j.Pipeline, &j.Stage, &j.Action, &j.Attempt, &j.Provider, &payload, &status,
		&j.Worker, &lease, &deadline, &j.CancelReason, &j.Message, &created, &claimed, &finished, &notBefore, &j.Region)
	if err != nil {
		return j, err
	}
	j.Payload, j.Status = []byte(payload), store.JobStatus(status)
	j.LeaseUntil, j.Deadline = fromMS(lease), fromMS(deadline)
	j.Created, j.Claimed, j.Finished = fromMS(created), fromMS(claimed), fromMS(finished)
	j.NotBefore = fromMS(notBefore)
	return j, nil
}

func listJobs(ctx context.Context, q querier, query string, args ...any) ([]store.Job, error) {
	return list(ctx, q, "jobs", scanJob, query, args...)
}

// Job implements store.Store.
func (s *Store) Job(ctx context.Context, id string) (store.Job, error) {
	return getJob(ctx, s.read, id)
}

func getJob(ctx context.Context, q querier, id string) (store.Job, error) {
	j, err := scanJob(q.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, notFound("job", id)
	}
	if err != nil {
		return j, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// ClaimJob implements store.Store.
func (s *Store) ClaimJob(ctx context.Context, c store.ClaimJobParams) (store.Job, error) {
	return claimJob(ctx, s.write, c)
}

// ClaimJob implements store.Tx.
func (t *tx) ClaimJob(ctx context.Context, c store.ClaimJobParams) (store.Job, error) {
	return claimJob(ctx, t.q, c)
}

func claimJob(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, c store.ClaimJobParams) (store.Job, error) {
	worker, providers, now, leaseUntil := c.Worker, c.Providers, c.Now, c.LeaseUntil
	if len(providers) == 0 {
		return store.Job{}, notFound("job", "for no provider")
	}
	// SKIP LOCKED: claimers racing for the oldest job each take a different one.
	j, err := scanJob(q.QueryRow(ctx, `
		UPDATE jobs SET status = 'InProgress', worker = $1, lease_ms = $2, claimed_ms = $3
		WHERE id = (SELECT id FROM jobs WHERE status = 'Queued' AND provider = ANY($4) AND not_before_ms <= $3 AND region = $5
		            ORDER BY created_ms, rn LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobCols, worker, ms(leaseUntil), ms(now), providers, c.Region))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, notFound("job", "queued")
	}
	if err != nil {
		return j, fmt.Errorf("claim job: %w", err)
	}
	return j, nil
}

// Heartbeat implements store.Store.
func (s *Store) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) (store.Job, error) {
	j, err := scanJob(s.write.QueryRow(ctx, `
		UPDATE jobs SET lease_ms = $1 WHERE id = $2 AND worker = $3 AND status = 'InProgress'
		RETURNING `+jobCols, ms(leaseUntil), id, worker))
	if errors.Is(err, pgx.ErrNoRows) {
		return j, fmt.Errorf("job %s is not held by worker %s: %w", id, worker, store.ErrConflict)
	}
	if err != nil {
		return j, fmt.Errorf("heartbeat job %s: %w", id, err)
	}
	return j, nil
}

// ExpiredJobs implements store.Store.
func (s *Store) ExpiredJobs(ctx context.Context, now time.Time, limit int) ([]store.Job, error) {
	return listJobs(ctx, s.read, `
		SELECT `+jobCols+` FROM jobs
		WHERE (status = 'InProgress' AND lease_ms < $1) OR (status IN ('Queued', 'InProgress') AND deadline_ms < $1)
		ORDER BY created_ms, rn LIMIT $2`, ms(now), sqlLimit(limit))
}

// JobsOfAction implements store.Store.
func (s *Store) JobsOfAction(ctx context.Context, executionID, stage, action string) ([]store.Job, error) {
	return listJobs(ctx, s.read, `SELECT `+jobCols+` FROM jobs WHERE execution_id = $1 AND stage = $2 AND action = $3 ORDER BY created_ms, rn`,
		executionID, stage, action)
}

// QueuedJobs implements store.Store.
func (s *Store) QueuedJobs(ctx context.Context, providers []string) ([]store.Job, error) {
	if len(providers) == 0 {
		return nil, nil
	}
	return listJobs(ctx, s.read, `SELECT `+jobCols+` FROM jobs WHERE status = 'Queued' AND provider = ANY($1) ORDER BY created_ms, rn`, providers)
}

// AppendLog implements store.Store.
func (s *Store) AppendLog(ctx context.Context, jobID string, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	return s.inTx(ctx, func(q querier) error { return appendLog(ctx, q, jobID, data) })
}

// appendLog must run in a transaction: the advisory lock makes appends to one
// job's log take turns, so that two never compute the same position.
func appendLog(ctx context.Context, q querier, jobID string, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if err := advisoryLock(ctx, q, "log:"+jobID); err != nil {
		return fmt.Errorf("append log of job %s: %w", jobID, err)
	}
	_, err := q.Exec(ctx, `
		INSERT INTO log_chunks (job_id, pos, data)
		VALUES ($1, (SELECT COALESCE(MAX(pos + octet_length(data)), 0) FROM log_chunks WHERE job_id = $1), $2)`,
		jobID, data)
	if err != nil {
		return fmt.Errorf("append log of job %s: %w", jobID, err)
	}
	return nil
}

// Log implements store.Store.
func (s *Store) Log(ctx context.Context, jobID string, offset int64) ([]byte, error) {
	rows, err := s.read.Query(ctx, `
		SELECT pos, data FROM log_chunks WHERE job_id = $1 AND pos + octet_length(data) > $2 ORDER BY pos`, jobID, offset)
	if err != nil {
		return nil, fmt.Errorf("read log of job %s: %w", jobID, err)
	}
	defer rows.Close()
	var out []byte
	for rows.Next() {
		var off int64
		var data []byte
		if err := rows.Scan(&off, &data); err != nil {
			return nil, fmt.Errorf("read log of job %s: %w", jobID, err)
		}
		if off < offset {
			data = data[offset-off:]
		}
		out = append(out, data...)
		if len(out) >= store.MaxLogRead {
			break // the reader asks again from where this ends
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log of job %s: %w", jobID, err)
	}
	return out, nil
}

// Events implements store.Store. Since InsertEvent serialises the
// transactions that write events, what is visible is a prefix of the log in
// seq order: no reader sees seq N+1 while N is still to commit. (A rolled
// back transaction leaves a gap in seq, never a late arrival.)
func (s *Store) Events(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	q := `SELECT seq, time_ms, type, pipeline, execution_id, document FROM events WHERE seq > $1`
	args := []any{f.AfterSeq}
	if f.Pipeline != "" {
		args = append(args, f.Pipeline)
		q += fmt.Sprintf(` AND pipeline = $%d`, len(args))
	}
	if f.Type != "" {
		args = append(args, f.Type)
		q += fmt.Sprintf(` AND type = $%d`, len(args))
	}
	if len(f.Types) > 0 {
		args = append(args, f.Types)
		q += fmt.Sprintf(` AND type = ANY($%d)`, len(args))
	}
	if f.UpToSeq > 0 {
		args = append(args, f.UpToSeq)
		q += fmt.Sprintf(` AND seq <= $%d`, len(args))
	}
	if !f.Since.IsZero() {
		args = append(args, ms(f.Since))
		q += fmt.Sprintf(` AND time_ms >= $%d`, len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	if f.Newest {
		q = fmt.Sprintf(`SELECT * FROM (%s ORDER BY seq DESC LIMIT $%d) AS newest ORDER BY seq`, q, len(args))
	} else {
		q += fmt.Sprintf(` ORDER BY seq LIMIT $%d`, len(args))
	}
	return list(ctx, s.read, "events", func(r scanner) (store.Event, error) {
		var e store.Event
		var t int64
		var doc string
		if err := r.Scan(&e.Seq, &t, &e.Type, &e.Pipeline, &e.ExecutionID, &doc); err != nil {
			return e, err
		}
		e.Time, e.Document = fromMS(t), []byte(doc)
		return e, nil
	}, q, args...)
}

// PruneEvents implements store.Store.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	// Events no reader has passed yet stay, however old: a rule or the reactor
	// must see every event once.
	tag, err := s.write.Exec(ctx, `
		DELETE FROM events WHERE seq IN (
			SELECT seq FROM events
			WHERE time_ms < $1 AND seq <= COALESCE((SELECT MIN(seq) FROM cursors), 0)
			ORDER BY seq LIMIT $2)`, ms(before), sqlLimit(limit))
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Token implements store.Store.
func (s *Store) Token(ctx context.Context, hash string) (store.Token, error) {
	t := store.Token{Hash: hash}
	var created, expires int64
	err := s.read.QueryRow(ctx, `SELECT name, policy, policy_document, created_ms, expires_ms FROM tokens WHERE hash = $1`, hash).
		Scan(&t.Name, &t.Policy, &t.PolicyDocument, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, notFound("token", "")
	}
	if err != nil {
		return t, fmt.Errorf("get token: %w", err)
	}
	t.Created, t.Expires = fromMS(created), fromMS(expires)
	return t, nil
}

// PutToken implements store.Store.
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	_, err := s.write.Exec(ctx, `
		INSERT INTO tokens (hash, name, policy, policy_document, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, policy = excluded.policy,
			policy_document = excluded.policy_document, created_ms = excluded.created_ms, expires_ms = excluded.expires_ms`,
		t.Hash, t.Name, t.Policy, t.PolicyDocument, ms(t.Created), ms(t.Expires))
	if err != nil {
		return fmt.Errorf("put token %s: %w", t.Name, err)
	}
	return nil
}

// Tokens implements store.Store; hashes are left out.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	return list(ctx, s.read, "tokens", func(r scanner) (store.Token, error) {
		var t store.Token
		var created, expires int64
		if err := r.Scan(&t.Name, &t.Policy, &t.PolicyDocument, &created, &expires); err != nil {
			return t, err
		}
		t.Created, t.Expires = fromMS(created), fromMS(expires)
		return t, nil
	}, `SELECT name, policy, policy_document, created_ms, expires_ms FROM tokens ORDER BY name`)
}

// DeleteToken implements store.Store.
func (s *Store) DeleteToken(ctx context.Context, name string) error {
	return s.deleteNamed(ctx, "tokens", "token", name)
}

// deleteNamed deletes the row called name from table, ErrNotFound when
// there is none. table and what are constants of this package.
func (s *Store) deleteNamed(ctx context.Context, table, what, name string) error {
	tag, err := s.write.Exec(ctx, `DELETE FROM `+table+` WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", what, name, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(what, name)
	}
	return nil
}

// TriggerState implements store.Store.
func (s *Store) TriggerState(ctx context.Context, key string) (string, error) {
	var v string
	err := s.read.QueryRow(ctx, `SELECT value FROM trigger_state WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get trigger state %s: %w", key, err)
	}
	return v, nil
}

// PutReport implements store.Store.
func (s *Store) PutReport(ctx context.Context, r store.Report) error {
	_, err := s.write.Exec(ctx, `
		INSERT INTO reports (job_id, grp, execution_id, stage, action, document, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (job_id, grp) DO UPDATE SET document = excluded.document, created_ms = excluded.created_ms`,
		r.JobID, r.Group, r.ExecutionID, r.Stage, r.Action, string(r.Document), ms(r.Created))
	if err != nil {
		return fmt.Errorf("put report %s of job %s: %w", r.Group, r.JobID, err)
	}
	return nil
}

// Reports implements store.Store.
func (s *Store) Reports(ctx context.Context, executionID string) ([]store.Report, error) {
	return list(ctx, s.read, "reports", func(sc scanner) (store.Report, error) {
		var r store.Report
		var doc string
		var created int64
		if err := sc.Scan(&r.JobID, &r.Group, &r.ExecutionID, &r.Stage, &r.Action, &doc, &created); err != nil {
			return r, err
		}
		r.Document, r.Created = []byte(doc), fromMS(created)
		return r, nil
	}, `SELECT job_id, grp, execution_id, stage, action, document, created_ms FROM reports
		WHERE execution_id = $1 ORDER BY created_ms, rn`, executionID)
}

// Locks implements store.Store. Placeholder rows (see Tx.Lock) are locks
// never taken, and are left out.
func (s *Store) Locks(ctx context.Context) ([]store.Lock, error) {
	return list(ctx, s.read, "locks", func(r scanner) (store.Lock, error) {
		var l store.Lock
		var doc string
		var updated int64
		if err := r.Scan(&l.Name, &doc, &updated); err != nil {
			return l, err
		}
		l.Document, l.Updated = []byte(doc), fromMS(updated)
		return l, nil
	}, `SELECT name, document, updated_ms FROM locks WHERE document IS NOT NULL ORDER BY name`)
}

// Cursor implements store.Store.
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := s.read.QueryRow(ctx, `SELECT seq FROM cursors WHERE name = $1`, name).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get cursor %s: %w", name, err)
	}
	return seq, nil
}

// SetCursor implements store.Store.
func (s *Store) SetCursor(ctx context.Context, name string, seq int64, now time.Time) error {
	_, err := s.write.Exec(ctx, `
		INSERT INTO cursors (name, seq, updated_ms) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_ms = excluded.updated_ms`, name, seq, ms(now))
	if err != nil {
		return fmt.Errorf("set cursor %s: %w", name, err)
	}
	return nil
}

const deliveryCols = `id, kind, source, target, payload, status, attempts, next_ms, last_error, created_ms, updated_ms`

func insertDelivery(ctx context.Context, q querier, d store.Delivery) error {
	if d.Status == "" {
		d.Status = store.DeliveryPending
	}
	_, err := q.Exec(ctx, `INSERT INTO deliveries (`+deliveryCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Kind, d.Source, string(d.Target), string(d.Payload), d.Status, d.Attempts, ms(d.Next), d.LastError, ms(d.Created), ms(d.Updated))
	if err != nil {
		return fmt.Errorf("insert delivery %s: %w", d.ID, err)
	}
	return nil
}

// InsertDelivery implements store.Store.
func (s *Store) InsertDelivery(ctx context.Context, d store.Delivery) error {
	return insertDelivery(ctx, s.write, d)
}

func scanDelivery(r scanner) (store.Delivery, error) {
	var d store.Delivery
	var target, payload string
	var next, created, updated int64
	if err := r.Scan(&d.ID, &d.Kind, &d.Source, &target, &payload, &d.Status, &d.Attempts, &next, &d.LastError, &created, &updated); err != nil {
		return d, err
	}
	d.Target, d.Payload = []byte(target), []byte(payload)
	d.Next, d.Created, d.Updated = fromMS(next), fromMS(created), fromMS(updated)
	return d, nil
}

// DueDeliveries implements store.Store.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error) {
	return list(ctx, s.read, "deliveries", scanDelivery,
		`SELECT `+deliveryCols+` FROM deliveries WHERE status = 'Pending' AND next_ms <= $1 ORDER BY next_ms LIMIT $2`, ms(now), sqlLimit(limit))
}

// UpdateDelivery implements store.Store.
func (s *Store) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	tag, err := s.write.Exec(ctx, `UPDATE deliveries SET status = $1, attempts = $2, next_ms = $3, last_error = $4, updated_ms = $5 WHERE id = $6`,
		d.Status, d.Attempts, ms(d.Next), d.LastError, ms(d.Updated), d.ID)
	if err != nil {
		return fmt.Errorf("update delivery %s: %w", d.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delivery", d.ID)
	}
	return nil
}

// Deliveries implements store.Store.
func (s *Store) Deliveries(ctx context.Context, source string, limit int) ([]store.Delivery, error) {
	return list(ctx, s.read, "deliveries", scanDelivery,
		`SELECT `+deliveryCols+` FROM deliveries WHERE source = $1 ORDER BY created_ms DESC, rn DESC LIMIT $2`, source, sqlLimit(limit))
}

// DeliveriesIn implements store.Store.
func (s *Store) DeliveriesIn(ctx context.Context, source, status string, limit int) ([]store.Delivery, error) {
	return list(ctx, s.read, "deliveries", scanDelivery,
		`SELECT `+deliveryCols+` FROM deliveries WHERE source = $1 AND status = $2 ORDER BY created_ms DESC, rn DESC LIMIT $3`,
		source, status, sqlLimit(limit))
}

// PruneDeliveries implements store.Store.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.write.Exec(ctx, `DELETE FROM deliveries WHERE id IN (
		SELECT id FROM deliveries WHERE status = 'Delivered' AND updated_ms < $1 LIMIT $2)`, ms(before), sqlLimit(limit))
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Ping checks that the database answers (the readiness probe).
func (s *Store) Ping(ctx context.Context) error { return s.read.Ping(ctx) }
