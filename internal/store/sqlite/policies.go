package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/store"
)

// Policies implements store.Store.
func (s *Store) Policies(ctx context.Context) ([]store.Policy, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, definition, created_ms, updated_ms FROM policies ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []store.Policy
	for rows.Next() {
		r, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanPolicy(sc scanner) (store.Policy, error) {
	var r store.Policy
	var def string
	var created, updated int64
	if err := sc.Scan(&r.Name, &def, &created, &updated); err != nil {
		return r, err
	}
	r.Definition, r.Created, r.Updated = []byte(def), fromMS(created), fromMS(updated)
	return r, nil
}

// Policy implements store.Store.
func (s *Store) Policy(ctx context.Context, name string) (store.Policy, error) {
	r, err := scanPolicy(s.read.QueryRowContext(ctx, `SELECT name, definition, created_ms, updated_ms FROM policies WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("policy", name)
	}
	if err != nil {
		return r, fmt.Errorf("get policy %s: %w", name, err)
	}
	return r, nil
}

// PutPolicy implements store.Store.
func (s *Store) PutPolicy(ctx context.Context, r store.Policy) error {
	_, err := s.write.ExecContext(ctx, `
		INSERT INTO policies (name, definition, created_ms, updated_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_ms = excluded.updated_ms`,
		r.Name, string(r.Definition), ms(r.Created), ms(r.Updated))
	if err != nil {
		return fmt.Errorf("put policy %s: %w", r.Name, err)
	}
	return nil
}

// DeletePolicy implements store.Store.
func (s *Store) DeletePolicy(ctx context.Context, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM policies WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete policy %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("policy", name)
	}
	return nil
}
