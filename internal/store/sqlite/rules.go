package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/store"
)

// Rules implements store.Store.
func (s *Store) Rules(ctx context.Context) ([]store.Rule, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, definition, created_ms, updated_ms, created_seq FROM rules ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	defer rows.Close()
	var out []store.Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRule(sc scanner) (store.Rule, error) {
	var r store.Rule
	var def string
	var created, updated int64
	if err := sc.Scan(&r.Name, &def, &created, &updated, &r.CreatedSeq); err != nil {
		return r, err
	}
	r.Definition, r.Created, r.Updated = []byte(def), fromMS(created), fromMS(updated)
	return r, nil
}

// Rule implements store.Store.
func (s *Store) Rule(ctx context.Context, name string) (store.Rule, error) {
	r, err := scanRule(s.read.QueryRowContext(ctx, `SELECT name, definition, created_ms, updated_ms, created_seq FROM rules WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("rule", name)
	}
	if err != nil {
		return r, fmt.Errorf("get rule %s: %w", name, err)
	}
	return r, nil
}

// PutRule implements store.Store.
func (s *Store) PutRule(ctx context.Context, r store.Rule) error {
	_, err := s.write.ExecContext(ctx, `
		INSERT INTO rules (name, definition, created_ms, updated_ms, created_seq)
		VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) FROM events))
		ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_ms = excluded.updated_ms`,
		r.Name, string(r.Definition), ms(r.Created), ms(r.Updated))
	if err != nil {
		return fmt.Errorf("put rule %s: %w", r.Name, err)
	}
	return nil
}

// DeleteRule implements store.Store. The rule's deliveries stay, dead letters
// included, until they are sent or given up.
func (s *Store) DeleteRule(ctx context.Context, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM rules WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete rule %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("rule", name)
	}
	return nil
}

// NextBuildNumber implements store.Store. Writes go through one connection,
// so the increment and its read are one atomic statement.
func (s *Store) NextBuildNumber(ctx context.Context, project string) (int64, error) {
	var n int64
	err := s.write.QueryRowContext(ctx, `
		INSERT INTO build_numbers (project, last) VALUES (?, 1)
		ON CONFLICT (project) DO UPDATE SET last = build_numbers.last + 1
		RETURNING last`, project).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("next build number of %s: %w", project, err)
	}
	return n, nil
}
