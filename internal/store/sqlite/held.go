package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/store"
)

// QueuedJobs implements store.Store.
func (s *Store) QueuedJobs(ctx context.Context, providers []string) ([]store.Job, error) {
	if len(providers) == 0 {
		return nil, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(providers)), ",")
	args := make([]any, len(providers))
	for i, p := range providers {
		args[i] = p
	}
	return listJobs(ctx, s.read, `SELECT `+jobCols+` FROM jobs WHERE status = 'Queued' AND provider IN (`+marks+`) ORDER BY created_ms, rowid`, args...)
}

func (t *tx) ParkJob(ctx context.Context, id string) error {
	// The lease runs to the deadline, so that only a timeout ends the job now.
	_, err := t.q.ExecContext(ctx, `UPDATE jobs SET worker = '', lease_ms = deadline_ms WHERE id = ? AND status = 'InProgress'`, id)
	if err != nil {
		return fmt.Errorf("park job %s: %w", id, err)
	}
	return nil
}

func (t *tx) Lock(ctx context.Context, name string) ([]byte, error) {
	var doc string
	err := t.q.QueryRowContext(ctx, `SELECT document FROM locks WHERE name = ?`, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get lock %s: %w", name, err)
	}
	return []byte(doc), nil
}

func (t *tx) PutLock(ctx context.Context, name string, document []byte, now time.Time) error {
	_, err := t.q.ExecContext(ctx, `
		INSERT INTO locks (name, document, updated_ms) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET document = excluded.document, updated_ms = excluded.updated_ms`,
		name, string(document), ms(now))
	if err != nil {
		return fmt.Errorf("put lock %s: %w", name, err)
	}
	return nil
}

// Locks implements store.Store.
func (s *Store) Locks(ctx context.Context) ([]store.Lock, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, document, updated_ms FROM locks ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	defer rows.Close()
	var out []store.Lock
	for rows.Next() {
		var l store.Lock
		var doc string
		var updated int64
		if err := rows.Scan(&l.Name, &doc, &updated); err != nil {
			return nil, fmt.Errorf("list locks: %w", err)
		}
		l.Document, l.Updated = []byte(doc), fromMS(updated)
		out = append(out, l)
	}
	return out, rows.Err()
}

// Cursor implements store.Store.
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := s.read.QueryRowContext(ctx, `SELECT seq FROM cursors WHERE name = ?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("get cursor %s: %w", name, err)
	}
	return seq, nil
}

// SetCursor implements store.Store.
func (s *Store) SetCursor(ctx context.Context, name string, seq int64, now time.Time) error {
	_, err := s.write.ExecContext(ctx, `
		INSERT INTO cursors (name, seq, updated_ms) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_ms = excluded.updated_ms`, name, seq, ms(now))
	if err != nil {
		return fmt.Errorf("set cursor %s: %w", name, err)
	}
	return nil
}

const deliveryCols = `id, kind, source, target, payload, status, attempts, next_ms, last_error, created_ms, updated_ms`

func insertDelivery(ctx context.Context, q queryer, d store.Delivery) error {
	if d.Status == "" {
		d.Status = store.DeliveryPending
	}
	_, err := q.ExecContext(ctx, `INSERT INTO deliveries (`+deliveryCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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

func (t *tx) InsertDelivery(ctx context.Context, d store.Delivery) error {
	return insertDelivery(ctx, t.q, d)
}

func listDeliveries(ctx context.Context, q queryer, query string, args ...any) ([]store.Delivery, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		var d store.Delivery
		var target, payload string
		var next, created, updated int64
		if err := rows.Scan(&d.ID, &d.Kind, &d.Source, &target, &payload, &d.Status, &d.Attempts, &next, &d.LastError, &created, &updated); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		d.Target, d.Payload = []byte(target), []byte(payload)
		d.Next, d.Created, d.Updated = fromMS(next), fromMS(created), fromMS(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DueDeliveries implements store.Store.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error) {
	return listDeliveries(ctx, s.read, `SELECT `+deliveryCols+` FROM deliveries WHERE status = 'Pending' AND next_ms <= ? ORDER BY next_ms LIMIT ?`, ms(now), limit)
}

// UpdateDelivery implements store.Store.
func (s *Store) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	res, err := s.write.ExecContext(ctx, `UPDATE deliveries SET status = ?, attempts = ?, next_ms = ?, last_error = ?, updated_ms = ? WHERE id = ?`,
		d.Status, d.Attempts, ms(d.Next), d.LastError, ms(d.Updated), d.ID)
	if err != nil {
		return fmt.Errorf("update delivery %s: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("delivery", d.ID)
	}
	return nil
}

// Deliveries implements store.Store.
func (s *Store) Deliveries(ctx context.Context, source string, limit int) ([]store.Delivery, error) {
	return listDeliveries(ctx, s.read, `SELECT `+deliveryCols+` FROM deliveries WHERE source = ? ORDER BY created_ms DESC, rowid DESC LIMIT ?`, source, limit)
}

// PruneEvents implements store.Store.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	// Events no reader has passed yet stay, however old: a rule or the reactor
	// must see every event once.
	res, err := s.write.ExecContext(ctx, `
		DELETE FROM events WHERE seq IN (
			SELECT seq FROM events
			WHERE time_ms < ? AND seq <= COALESCE((SELECT MIN(seq) FROM cursors), 0)
			ORDER BY seq LIMIT ?)`, ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return res.RowsAffected()
}

// DeliveriesIn implements store.Store.
func (s *Store) DeliveriesIn(ctx context.Context, source, status string, limit int) ([]store.Delivery, error) {
	return listDeliveries(ctx, s.read, `SELECT `+deliveryCols+` FROM deliveries WHERE source = ? AND status = ? ORDER BY created_ms DESC, rowid DESC LIMIT ?`,
		source, status, limit)
}

// PruneDeliveries implements store.Store.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM deliveries WHERE rowid IN (
		SELECT rowid FROM deliveries WHERE status = 'Delivered' AND updated_ms < ? LIMIT ?)`, ms(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return res.RowsAffected()
}
