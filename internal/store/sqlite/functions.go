package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/store"
)

// Functions implements store.Store.
func (s *Store) Functions(ctx context.Context) ([]store.Function, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, definition, created_ms, updated_ms FROM functions ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	defer rows.Close()
	var out []store.Function
	for rows.Next() {
		f, err := scanFunction(rows)
		if err != nil {
			return nil, fmt.Errorf("list functions: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func scanFunction(r scanner) (store.Function, error) {
	var f store.Function
	var def string
	var created, updated int64
	if err := r.Scan(&f.Name, &def, &created, &updated); err != nil {
		return f, err
	}
	f.Definition, f.Created, f.Updated = []byte(def), fromMS(created), fromMS(updated)
	return f, nil
}

// Function implements store.Store.
func (s *Store) Function(ctx context.Context, name string) (store.Function, error) {
	f, err := scanFunction(s.read.QueryRowContext(ctx, `SELECT name, definition, created_ms, updated_ms FROM functions WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return f, notFound("function", name)
	}
	if err != nil {
		return f, fmt.Errorf("get function %s: %w", name, err)
	}
	return f, nil
}

// PutFunction implements store.Store.
func (s *Store) PutFunction(ctx context.Context, f store.Function) error {
	_, err := s.write.ExecContext(ctx, `
		INSERT INTO functions (name, definition, created_ms, updated_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_ms = excluded.updated_ms`,
		f.Name, string(f.Definition), ms(f.Created), ms(f.Updated))
	if err != nil {
		return fmt.Errorf("put function %s: %w", f.Name, err)
	}
	return nil
}

// DeleteFunction implements store.Store.
func (s *Store) DeleteFunction(ctx context.Context, name string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM functions WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete function %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("function", name)
	}
	return nil
}
