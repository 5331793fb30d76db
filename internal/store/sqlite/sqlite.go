// Package sqlite is the embedded store: one SQLite database file in WAL mode,
// through the pure-Go modernc.org/sqlite driver.
//
// SQLite has one writer at a time. Every write goes through a pool of one
// connection whose transactions begin IMMEDIATE, so writers queue in Go instead of
// failing with SQLITE_BUSY, and Update's per-pipeline lock is the database's own
// write lock. Reads use a separate pool and see the last committed state.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on one SQLite file.
type Store struct {
	write  *sql.DB
	readDB *sql.DB
	read   *stmtCache // over readDB
	writes *stmtCache // over write: the statements of write transactions and claims
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return openAt(ctx, path, files)
}

// openAt opens the database at path and applies the migrations of files.
func openAt(ctx context.Context, path string, files fs.FS) (*Store, error) {
	dsn := func(txlock string) string {
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "foreign_keys(1)"} {
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
	// Idle connections are kept: opening one costs more than most reads.
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	read.SetConnMaxIdleTime(0)
	s := &Store{write: write, readDB: read, read: newStmtCache(read), writes: newStmtCache(write)}
	// The write pool's one connection begins IMMEDIATE: one migrator at a time.
	if _, err := migrate.Run(ctx, migrate.SQL(s.write), files, migrate.Options{}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.read.close()
	s.writes.close()
	return errors.Join(s.readDB.Close(), s.write.Close())
}

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

// queryer is what reads need from *sql.DB and *sql.Tx alike.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// UpdateGlobal implements store.Store: the one writer is the global lock.
func (s *Store) UpdateGlobal(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Update(ctx, "", fn)
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, pipeline string, fn func(tx store.Tx) error) error {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer sqlTx.Rollback()
	ptx := &preparedTx{tx: sqlTx, cache: s.writes}
	if err := fn(&tx{q: ptx, pipeline: pipeline}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if len(ptx.missed) > 0 {
		s.writes.prepare(ctx, ptx.missed)
	}
	return nil
}

// Pipelines implements store.Store.
func (s *Store) Pipelines(ctx context.Context) ([]store.Pipeline, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+pipelineCols+` FROM pipelines ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list pipelines: %w", err)
	}
	defer rows.Close()
	var out []store.Pipeline
	for rows.Next() {
		p, err := scanPipeline(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PipelinePage implements store.Store.
func (s *Store) PipelinePage(ctx context.Context, after string, limit int) ([]store.Pipeline, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+pipelineSummaryCols+` FROM pipelines WHERE name > ? ORDER BY name LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list pipelines: %w", err)
	}
	defer rows.Close()
	var out []store.Pipeline
	for rows.Next() {
		p, err := scanPipeline(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Pipeline implements store.Store.
func (s *Store) Pipeline(ctx context.Context, name string) (store.Pipeline, error) {
	return getPipeline(ctx, s.read, name)
}

const pipelineCols = `name, version, declaration, transitions, trigger_note, created_ms, updated_ms, execution_mode, pipeline_type, stage_count`

// pipelineSummaryCols are pipelineCols with empty texts for what
// PipelinePage does not read.
const pipelineSummaryCols = `name, version, '', '', '', created_ms, updated_ms, execution_mode, pipeline_type, stage_count`

type scanner interface{ Scan(dest ...any) error }

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

func getPipeline(ctx context.Context, q queryer, name string) (store.Pipeline, error) {
	p, err := scanPipeline(q.QueryRowContext(ctx, `SELECT `+pipelineCols+` FROM pipelines WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
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
	err := s.read.QueryRowContext(ctx, `SELECT declaration, created_ms FROM pipeline_versions WHERE name = ? AND version = ?`, name, version).Scan(&decl, &created)
	if errors.Is(err, sql.ErrNoRows) {
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

func getExecution(ctx context.Context, q queryer, id string) (store.Execution, error) {
	e, err := scanExecution(q.QueryRowContext(ctx, `SELECT `+executionCols+` FROM executions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, notFound("execution", id)
	}
	if err != nil {
		return e, fmt.Errorf("get execution %s: %w", id, err)
	}
	return e, nil
}

func listExecutions(ctx context.Context, q queryer, query string, args ...any) ([]store.Execution, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	defer rows.Close()
	var out []store.Execution
	for rows.Next() {
		e, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
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
	return listExecutions(ctx, s.read, `SELECT `+executionCols+` FROM executions WHERE pipeline = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, pipeline, before, limit)
}

// LatestExecutions implements store.Store. The names go in as one JSON
// array rather than a list of placeholders, so that the query's text, and
// the statement prepared for it, is the same for any number of them; for
// each, the newest seq is one look into executions_by_pipeline.
func (s *Store) LatestExecutions(ctx context.Context, pipelines []string) ([]store.Execution, error) {
	if len(pipelines) == 0 {
		return nil, nil
	}
	names, err := json.Marshal(pipelines)
	if err != nil {
		return nil, err
	}
	rows, err := listExecutions(ctx, s.read, `
		SELECT e.id, e.pipeline, e.seq, e.status, e.active, e.trigger_type, e.trigger_detail,
			CASE WHEN e.active THEN e.document ELSE '' END, e.started_ms, e.updated_ms
		FROM json_each(?) AS n
		JOIN executions e ON e.pipeline = n.value AND e.seq = (SELECT MAX(seq) FROM executions x WHERE x.pipeline = n.value)`, string(names))
	if err != nil {
		return nil, err
	}
	return store.InOrder(pipelines, rows), nil
}

const jobCols = `id, execution_id, pipeline, stage, action, attempt, provider, payload, status, worker, lease_ms, deadline_ms, cancel_reason, message, created_ms, claimed_ms, finished_ms, not_before_ms, region`

func scanJob(r scanner) (store.Job, error) {
	var j store.Job
	var payload string
	var lease, deadline, created, claimed, finished, notBefore int64
	err := r.Scan(&j.ID, &j.ExecutionID, &j.Pipeline, &j.Stage, &j.Action, &j.Attempt, &j.Provider, &payload, &j.Status,
		&j.Worker, &lease, &deadline, &j.CancelReason, &j.Message, &created, &claimed, &finished, &notBefore, &j.Region)
	if err != nil {
		return j, err
	}
	j.Payload = []byte(payload)
	j.LeaseUntil, j.Deadline = fromMS(lease), fromMS(deadline)
	j.Created, j.Claimed, j.Finished = fromMS(created), fromMS(claimed), fromMS(finished)
	j.NotBefore = fromMS(notBefore)
	return j, nil
}

func listJobs(ctx context.Context, q queryer, query string, args ...any) ([]store.Job, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []store.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Job implements store.Store.
func (s *Store) Job(ctx context.Context, id string) (store.Job, error) {
	return getJob(ctx, s.read, id)
}

func (t *tx) Job(ctx context.Context, id string) (store.Job, error) {
	return getJob(ctx, t.q, id)
}

func getJob(ctx context.Context, q queryer, id string) (store.Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return j, notFound("job", id)
	}
	if err != nil {
		return j, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// ClaimJob implements store.Store.
func (s *Store) ClaimJob(ctx context.Context, c store.ClaimJobParams) (store.Job, error) {
	return claimJob(ctx, s.writes, c)
}

// ClaimJob implements store.Tx.
func (t *tx) ClaimJob(ctx context.Context, c store.ClaimJobParams) (store.Job, error) {
	return claimJob(ctx, t.q, c)
}

func claimJob(ctx context.Context, q queryer, c store.ClaimJobParams) (store.Job, error) {
	worker, providers, now, leaseUntil := c.Worker, c.Providers, c.Now, c.LeaseUntil
	if len(providers) == 0 {
		return store.Job{}, notFound("job", "for no provider")
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(providers)), ",")
	args := []any{worker, ms(leaseUntil), ms(now)}
	for _, p := range providers {
		args = append(args, p)
	}
	args = append(args, ms(now), c.Region)
	// One writer at a time makes the pick-and-mark atomic without row locks.
	j, err := scanJob(q.QueryRowContext(ctx, `
		UPDATE jobs SET status = 'InProgress', worker = ?, lease_ms = ?, claimed_ms = ?
		WHERE id = (SELECT id FROM jobs WHERE status = 'Queued' AND provider IN (`+marks+`) AND not_before_ms <= ? AND region = ?
		            ORDER BY created_ms, rowid LIMIT 1)
		RETURNING `+jobCols, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return j, notFound("job", "queued")
	}
	if err != nil {
		return j, fmt.Errorf("claim job: %w", err)
	}
	return j, nil
}

// Heartbeat implements store.Store.
func (s *Store) Heartbeat(ctx context.Context, id, worker string, leaseUntil time.Time) (store.Job, error) {
	j, err := scanJob(s.writes.QueryRowContext(ctx, `
		UPDATE jobs SET lease_ms = ? WHERE id = ? AND worker = ? AND status = 'InProgress'
		RETURNING `+jobCols, ms(leaseUntil), id, worker))
	if errors.Is(err, sql.ErrNoRows) {
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
		WHERE (status = 'InProgress' AND lease_ms < ?) OR (status IN ('Queued', 'InProgress') AND deadline_ms < ?)
		ORDER BY created_ms LIMIT ?`, ms(now), ms(now), limit)
}

// JobsOfAction implements store.Store.
func (s *Store) JobsOfAction(ctx context.Context, executionID, stage, action string) ([]store.Job, error) {
	return listJobs(ctx, s.read, `SELECT `+jobCols+` FROM jobs WHERE execution_id = ? AND stage = ? AND action = ? ORDER BY created_ms, rowid`,
		executionID, stage, action)
}

// AppendLog implements store.Store.
func (s *Store) AppendLog(ctx context.Context, jobID string, data []byte) error {
	return appendLog(ctx, s.write, jobID, data)
}

func (t *tx) AppendLog(ctx context.Context, jobID string, data []byte) error {
	return appendLog(ctx, t.q, jobID, data)
}

func appendLog(ctx context.Context, q queryer, jobID string, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO log_chunks (job_id, pos, data)
		VALUES (?, (SELECT COALESCE(MAX(pos + length(data)), 0) FROM log_chunks WHERE job_id = ?), ?)`,
		jobID, jobID, data)
	if err != nil {
		return fmt.Errorf("append log of job %s: %w", jobID, err)
	}
	return nil
}

// Log implements store.Store.
func (s *Store) Log(ctx context.Context, jobID string, offset int64) ([]byte, error) {
	rows, err := s.read.QueryContext(ctx, `
		SELECT pos, data FROM log_chunks WHERE job_id = ? AND pos + length(data) > ? ORDER BY pos`, jobID, offset)
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
	return out, rows.Err()
}

// Events implements store.Store.
func (s *Store) Events(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	q := `SELECT seq, time_ms, type, pipeline, execution_id, document FROM events WHERE seq > ?`
	args := []any{f.AfterSeq}
	if f.Pipeline != "" {
		q += ` AND pipeline = ?`
		args = append(args, f.Pipeline)
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, f.Type)
	}
	if len(f.Types) > 0 {
		q += ` AND type IN (?` + strings.Repeat(`, ?`, len(f.Types)-1) + `)`
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	if f.UpToSeq > 0 {
		q += ` AND seq <= ?`
		args = append(args, f.UpToSeq)
	}
	if !f.Since.IsZero() {
		q += ` AND time_ms >= ?`
		args = append(args, ms(f.Since))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	if f.Newest {
		q = `SELECT * FROM (` + q + ` ORDER BY seq DESC LIMIT ?) ORDER BY seq`
	} else {
		q += ` ORDER BY seq LIMIT ?`
	}
	args = append(args, limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var t int64
		var doc string
		if err := rows.Scan(&e.Seq, &t, &e.Type, &e.Pipeline, &e.ExecutionID, &doc); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		e.Time, e.Document = fromMS(t), []byte(doc)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Token implements store.Store.
func (s *Store) Token(ctx context.Context, hash string) (store.Token, error) {
	t := store.Token{Hash: hash}
	var created, expires int64
	err := s.read.QueryRowContext(ctx, `SELECT name, policy, policy_document, created_ms, expires_ms FROM tokens WHERE hash = ?`, hash).
		Scan(&t.Name, &t.Policy, &t.PolicyDocument, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
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
	_, err := s.write.ExecContext(ctx, `
		INSERT INTO tokens (hash, name, policy, policy_document, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?, ?)
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
	rows, err := s.read.QueryContext(ctx, `SELECT name, policy, policy_document, created_ms, expires_ms FROM tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		var t store.Token
		var created, expires int64
		if err := rows.Scan(&t.Name, &t.Policy, &t.PolicyDocument, &created, &expires); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.Created, t.Expires = fromMS(created), fromMS(expires)
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteToken implements store.Store.
func (s *Store) DeleteToken(ctx context.Context, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM tokens WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete token %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("token", name)
	}
	return nil
}

// tx is a store.Tx over one SQLite write transaction.
type tx struct {
	q        queryer
	pipeline string
}

func (t *tx) Pipeline(ctx context.Context) (store.Pipeline, error) {
	return getPipeline(ctx, t.q, t.pipeline)
}

func (t *tx) PutPipeline(ctx context.Context, p store.Pipeline) error {
	if p.Name != t.pipeline {
		return fmt.Errorf("put pipeline %s in a transaction on %s", p.Name, t.pipeline)
	}
	if p.Transitions == nil {
		p.Transitions = []byte("{}")
	}
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO pipelines (name, version, declaration, transitions, created_ms, updated_ms, execution_mode, pipeline_type, stage_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET version = excluded.version, declaration = excluded.declaration,
			transitions = excluded.transitions, updated_ms = excluded.updated_ms, execution_mode = excluded.execution_mode,
			pipeline_type = excluded.pipeline_type, stage_count = excluded.stage_count`,
		p.Name, p.Version, string(p.Declaration), string(p.Transitions), ms(p.Created), ms(p.Updated), p.ExecutionMode, p.PipelineType, p.Stages)
	if err != nil {
		return fmt.Errorf("put pipeline %s: %w", p.Name, err)
	}
	_, err = t.q.ExecContext(ctx, `
		INSERT INTO pipeline_versions (name, version, declaration, created_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (name, version) DO NOTHING`, p.Name, p.Version, string(p.Declaration), ms(p.Updated))
	if err != nil {
		return fmt.Errorf("put pipeline %s version %d: %w", p.Name, p.Version, err)
	}
	return nil
}

func (t *tx) DeletePipeline(ctx context.Context) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM trigger_state WHERE key LIKE ? ESCAPE '\'`, likePrefix(t.pipeline+"/")); err != nil {
		return fmt.Errorf("delete pipeline %s: %w", t.pipeline, err)
	}
	for _, q := range []string{
		`DELETE FROM log_chunks WHERE job_id IN (SELECT id FROM jobs WHERE pipeline = ?)`,
		`DELETE FROM jobs WHERE pipeline = ?`,
		`DELETE FROM executions WHERE pipeline = ?`,
		`DELETE FROM pipeline_versions WHERE name = ?`,
		`DELETE FROM pipelines WHERE name = ?`,
	} {
		if _, err := t.q.ExecContext(ctx, q, t.pipeline); err != nil {
			return fmt.Errorf("delete pipeline %s: %w", t.pipeline, err)
		}
	}
	return nil
}

func (t *tx) SetTransitions(ctx context.Context, transitions []byte) error {
	res, err := t.q.ExecContext(ctx, `UPDATE pipelines SET transitions = ? WHERE name = ?`, string(transitions), t.pipeline)
	if err != nil {
		return fmt.Errorf("set transitions of %s: %w", t.pipeline, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("pipeline", t.pipeline)
	}
	return nil
}

func (t *tx) ActiveExecutions(ctx context.Context) ([]store.Execution, error) {
	return listExecutions(ctx, t.q, `SELECT `+executionCols+` FROM executions WHERE pipeline = ? AND active = 1 ORDER BY seq`, t.pipeline)
}

func (t *tx) Execution(ctx context.Context, id string) (store.Execution, error) {
	e, err := getExecution(ctx, t.q, id)
	if err == nil && e.Pipeline != t.pipeline {
		return store.Execution{}, notFound("execution", id)
	}
	return e, err
}

func (t *tx) NextSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := t.q.QueryRowContext(ctx, `UPDATE pipelines SET next_seq = next_seq + 1 WHERE name = ? RETURNING next_seq - 1`, t.pipeline).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("pipeline", t.pipeline)
	}
	if err != nil {
		return 0, fmt.Errorf("next execution number of %s: %w", t.pipeline, err)
	}
	return seq, nil
}

func (t *tx) PutExecution(ctx context.Context, e store.Execution) error {
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO executions (`+executionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, active = excluded.active,
			trigger_type = excluded.trigger_type, trigger_detail = excluded.trigger_detail,
			document = excluded.document, updated_ms = excluded.updated_ms`,
		e.ID, e.Pipeline, e.Seq, e.Status, e.Active, e.TriggerType, e.TriggerDetail, string(e.Document), ms(e.Started), ms(e.Updated))
	if err != nil {
		return fmt.Errorf("put execution %s: %w", e.ID, err)
	}
	return nil
}

func (t *tx) InsertJob(ctx context.Context, j store.Job) error {
	if j.Status == "" {
		j.Status = store.JobQueued
	}
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO jobs (id, execution_id, pipeline, stage, action, attempt, provider, payload, status, deadline_ms, created_ms, not_before_ms, region)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.ExecutionID, j.Pipeline, j.Stage, j.Action, j.Attempt, j.Provider, string(j.Payload), j.Status, ms(j.Deadline), ms(j.Created), ms(j.NotBefore), j.Region)
	if err != nil {
		return fmt.Errorf("insert job %s: %w", j.ID, err)
	}
	return nil
}

func (t *tx) CancelJob(ctx context.Context, id, reason string, now time.Time) error {
	// A running job's worker learns of it at its next heartbeat, which no longer
	// finds the job held, and kills what it runs.
	_, err := t.q.ExecContext(ctx, `
		UPDATE jobs SET status = 'Cancelled', finished_ms = ?, cancel_reason = ?
		WHERE id = ? AND status IN ('Queued', 'InProgress')`, ms(now), reason, id)
	if err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	return nil
}

func (t *tx) FinishJob(ctx context.Context, f store.FinishJobParams) error {
	id, status, message, now := f.ID, f.Status, f.Message, f.Now
	_, err := t.q.ExecContext(ctx, `
		UPDATE jobs SET status = ?, message = ?, finished_ms = ?
		WHERE id = ? AND status IN ('Queued', 'InProgress')`, status, message, ms(now), id)
	if err != nil {
		return fmt.Errorf("finish job %s: %w", id, err)
	}
	return nil
}

func (t *tx) InsertEvent(ctx context.Context, e store.Event) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO events (time_ms, type, pipeline, execution_id, document) VALUES (?, ?, ?, ?, ?)`,
		ms(e.Time), e.Type, e.Pipeline, e.ExecutionID, string(e.Document))
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

// likePrefix makes a LIKE pattern matching strings that start with prefix.
func likePrefix(prefix string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(prefix) + "%"
}

func (t *tx) SetTriggerNote(ctx context.Context, note []byte) error {
	res, err := t.q.ExecContext(ctx, `UPDATE pipelines SET trigger_note = ? WHERE name = ?`, string(note), t.pipeline)
	if err != nil {
		return fmt.Errorf("set trigger note of %s: %w", t.pipeline, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("pipeline", t.pipeline)
	}
	return nil
}

func (t *tx) UseKey(ctx context.Context, key, executionID string, now time.Time) (bool, error) {
	res, err := t.q.ExecContext(ctx, `INSERT INTO start_keys (key, execution_id, created_ms) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		key, executionID, ms(now))
	if err != nil {
		return false, fmt.Errorf("use start key: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (t *tx) SetTriggerState(ctx context.Context, key, value string, now time.Time) error {
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO trigger_state (key, value, updated_ms) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms`, key, value, ms(now))
	if err != nil {
		return fmt.Errorf("set trigger state %s: %w", key, err)
	}
	return nil
}

// TriggerState implements store.Store.
func (s *Store) TriggerState(ctx context.Context, key string) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM trigger_state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get trigger state %s: %w", key, err)
	}
	return v, nil
}

// PutReport implements store.Store.
func (s *Store) PutReport(ctx context.Context, r store.Report) error {
	_, err := s.write.ExecContext(ctx, `
		INSERT INTO reports (job_id, grp, execution_id, stage, action, document, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id, grp) DO UPDATE SET document = excluded.document, created_ms = excluded.created_ms`,
		r.JobID, r.Group, r.ExecutionID, r.Stage, r.Action, string(r.Document), ms(r.Created))
	if err != nil {
		return fmt.Errorf("put report %s of job %s: %w", r.Group, r.JobID, err)
	}
	return nil
}

// Reports implements store.Store.
func (s *Store) Reports(ctx context.Context, executionID string) ([]store.Report, error) {
	rows, err := s.read.QueryContext(ctx, `
		SELECT job_id, grp, execution_id, stage, action, document, created_ms FROM reports
		WHERE execution_id = ? ORDER BY created_ms, rowid`, executionID)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	defer rows.Close()
	var out []store.Report
	for rows.Next() {
		var r store.Report
		var doc string
		var created int64
		if err := rows.Scan(&r.JobID, &r.Group, &r.ExecutionID, &r.Stage, &r.Action, &doc, &created); err != nil {
			return nil, fmt.Errorf("list reports: %w", err)
		}
		r.Document, r.Created = []byte(doc), fromMS(created)
		out = append(out, r)
	}
	return out, rows.Err()
}
