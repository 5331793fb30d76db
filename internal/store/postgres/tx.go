package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-ci/sluice/internal/store"
)

// tx is a store.Tx over one PostgreSQL transaction holding the pipeline's
// advisory lock.
type tx struct {
	q        pgx.Tx
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
	_, err := t.q.Exec(ctx, `
		INSERT INTO pipelines (name, version, declaration, transitions, created_ms, updated_ms, execution_mode, pipeline_type, stage_count)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (name) DO UPDATE SET version = excluded.version, declaration = excluded.declaration,
			transitions = excluded.transitions, updated_ms = excluded.updated_ms, execution_mode = excluded.execution_mode,
			pipeline_type = excluded.pipeline_type, stage_count = excluded.stage_count`,
		p.Name, p.Version, string(p.Declaration), string(p.Transitions), ms(p.Created), ms(p.Updated), p.ExecutionMode, p.PipelineType, p.Stages)
	if err != nil {
		return fmt.Errorf("put pipeline %s: %w", p.Name, err)
	}
	_, err = t.q.Exec(ctx, `
		INSERT INTO pipeline_versions (name, version, declaration, created_ms) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name, version) DO NOTHING`, p.Name, p.Version, string(p.Declaration), ms(p.Updated))
	if err != nil {
		return fmt.Errorf("put pipeline %s version %d: %w", p.Name, p.Version, err)
	}
	return nil
}

func (t *tx) DeletePipeline(ctx context.Context) error {
	if _, err := t.q.Exec(ctx, `DELETE FROM trigger_state WHERE starts_with(key, $1)`, t.pipeline+"/"); err != nil {
		return fmt.Errorf("delete pipeline %s: %w", t.pipeline, err)
	}
	for _, q := range []string{
		`DELETE FROM log_chunks WHERE job_id IN (SELECT id FROM jobs WHERE pipeline = $1)`,
		`DELETE FROM jobs WHERE pipeline = $1`,
		`DELETE FROM executions WHERE pipeline = $1`,
		`DELETE FROM pipeline_versions WHERE name = $1`,
		`DELETE FROM pipelines WHERE name = $1`,
	} {
		if _, err := t.q.Exec(ctx, q, t.pipeline); err != nil {
			return fmt.Errorf("delete pipeline %s: %w", t.pipeline, err)
		}
	}
	return nil
}

func (t *tx) SetTransitions(ctx context.Context, transitions []byte) error {
	tag, err := t.q.Exec(ctx, `UPDATE pipelines SET transitions = $1 WHERE name = $2`, string(transitions), t.pipeline)
	if err != nil {
		return fmt.Errorf("set transitions of %s: %w", t.pipeline, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("pipeline", t.pipeline)
	}
	return nil
}

func (t *tx) SetTriggerNote(ctx context.Context, note []byte) error {
	tag, err := t.q.Exec(ctx, `UPDATE pipelines SET trigger_note = $1 WHERE name = $2`, string(note), t.pipeline)
	if err != nil {
		return fmt.Errorf("set trigger note of %s: %w", t.pipeline, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("pipeline", t.pipeline)
	}
	return nil
}

// UseKey relies on the key's uniqueness: a concurrent transaction (of another
// pipeline) using the same key makes this insert wait for it to end, and then
// do nothing if it committed.
func (t *tx) UseKey(ctx context.Context, key, executionID string, now time.Time) (bool, error) {
	tag, err := t.q.Exec(ctx, `INSERT INTO start_keys (key, execution_id, created_ms) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
		key, executionID, ms(now))
	if err != nil {
		return false, fmt.Errorf("use start key: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *tx) SetTriggerState(ctx context.Context, key, value string, now time.Time) error {
	_, err := t.q.Exec(ctx, `
		INSERT INTO trigger_state (key, value, updated_ms) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms`, key, value, ms(now))
	if err != nil {
		return fmt.Errorf("set trigger state %s: %w", key, err)
	}
	return nil
}

func (t *tx) ActiveExecutions(ctx context.Context) ([]store.Execution, error) {
	return list(ctx, t.q, "executions", scanExecution,
		`SELECT `+executionCols+` FROM executions WHERE pipeline = $1 AND active ORDER BY seq`, t.pipeline)
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
	err := t.q.QueryRow(ctx, `UPDATE pipelines SET next_seq = next_seq + 1 WHERE name = $1 RETURNING next_seq - 1`, t.pipeline).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, notFound("pipeline", t.pipeline)
	}
	if err != nil {
		return 0, fmt.Errorf("next execution number of %s: %w", t.pipeline, err)
	}
	return seq, nil
}

func (t *tx) PutExecution(ctx context.Context, e store.Execution) error {
	_, err := t.q.Exec(ctx, `
		INSERT INTO executions (`+executionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, active = excluded.active,
			trigger_type = excluded.trigger_type, trigger_detail = excluded.trigger_detail,
			document = excluded.document, updated_ms = excluded.updated_ms`,
		e.ID, e.Pipeline, e.Seq, e.Status, e.Active, e.TriggerType, e.TriggerDetail, string(e.Document), ms(e.Started), ms(e.Updated))
	if err != nil {
		return fmt.Errorf("put execution %s: %w", e.ID, err)
	}
	return nil
}

func (t *tx) Job(ctx context.Context, id string) (store.Job, error) {
	return getJob(ctx, t.q, id)
}

func (t *tx) InsertJob(ctx context.Context, j store.Job) error {
	if j.Status == "" {
		j.Status = store.JobQueued
	}
	_, err := t.q.Exec(ctx, `
		INSERT INTO jobs (id, execution_id, pipeline, stage, action, attempt, provider, payload, status, deadline_ms, created_ms, not_before_ms, region)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		j.ID, j.ExecutionID, j.Pipeline, j.Stage, j.Action, j.Attempt, j.Provider, string(j.Payload), string(j.Status),
		ms(j.Deadline), ms(j.Created), ms(j.NotBefore), j.Region)
	if err != nil {
		return fmt.Errorf("insert job %s: %w", j.ID, err)
	}
	return nil
}

func (t *tx) CancelJob(ctx context.Context, id, reason string, now time.Time) error {
	// A running job's worker learns of it at its next heartbeat, which no longer
	// finds the job held, and kills what it runs.
	_, err := t.q.Exec(ctx, `
		UPDATE jobs SET status = 'Cancelled', finished_ms = $1, cancel_reason = $2
		WHERE id = $3 AND status IN ('Queued', 'InProgress')`, ms(now), reason, id)
	if err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	return nil
}

func (t *tx) FinishJob(ctx context.Context, f store.FinishJobParams) error {
	id, status, message, now := f.ID, f.Status, f.Message, f.Now
	_, err := t.q.Exec(ctx, `
		UPDATE jobs SET status = $1, message = $2, finished_ms = $3
		WHERE id = $4 AND status IN ('Queued', 'InProgress')`, string(status), message, ms(now), id)
	if err != nil {
		return fmt.Errorf("finish job %s: %w", id, err)
	}
	return nil
}

func (t *tx) ParkJob(ctx context.Context, id string) error {
	// The lease runs to the deadline, so that only a timeout ends the job now.
	_, err := t.q.Exec(ctx, `UPDATE jobs SET worker = '', lease_ms = deadline_ms WHERE id = $1 AND status = 'InProgress'`, id)
	if err != nil {
		return fmt.Errorf("park job %s: %w", id, err)
	}
	return nil
}

// InsertEvent takes the advisory lock "events" first and holds it to commit:
// transactions writing events commit in the order of their seq numbers, so
// a reader following the log by seq never skips one that commits late.
func (t *tx) InsertEvent(ctx context.Context, e store.Event) error {
	if err := advisoryLock(ctx, t.q, "events"); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	_, err := t.q.Exec(ctx, `INSERT INTO events (time_ms, type, pipeline, execution_id, document) VALUES ($1, $2, $3, $4, $5)`,
		ms(e.Time), e.Type, e.Pipeline, e.ExecutionID, string(e.Document))
	if err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

func (t *tx) AppendLog(ctx context.Context, jobID string, data []byte) error {
	return appendLog(ctx, t.q, jobID, data)
}

// Lock locks the lock's row until the transaction ends, so that decisions of
// different pipelines sharing the lock take turns on it. A lock never taken
// gets a placeholder row (NULL document) to lock.
func (t *tx) Lock(ctx context.Context, name string) ([]byte, error) {
	if _, err := t.q.Exec(ctx, `INSERT INTO locks (name, document, updated_ms) VALUES ($1, NULL, 0) ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return nil, fmt.Errorf("get lock %s: %w", name, err)
	}
	var doc *string
	if err := t.q.QueryRow(ctx, `SELECT document FROM locks WHERE name = $1 FOR UPDATE`, name).Scan(&doc); err != nil {
		return nil, fmt.Errorf("get lock %s: %w", name, err)
	}
	if doc == nil {
		return nil, nil
	}
	return []byte(*doc), nil
}

func (t *tx) PutLock(ctx context.Context, name string, document []byte, now time.Time) error {
	_, err := t.q.Exec(ctx, `
		INSERT INTO locks (name, document, updated_ms) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET document = excluded.document, updated_ms = excluded.updated_ms`,
		name, string(document), ms(now))
	if err != nil {
		return fmt.Errorf("put lock %s: %w", name, err)
	}
	return nil
}

func (t *tx) InsertDelivery(ctx context.Context, d store.Delivery) error {
	return insertDelivery(ctx, t.q, d)
}
