package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/store"
)

func scanDefinition(r scanner, kind store.Kind) (store.Definition, error) {
	d := store.Definition{Kind: kind}
	var created, updated int64
	if err := r.Scan(&d.Name, &d.Document, &created, &updated, &d.CreatedSeq, &d.Revision); err != nil {
		return d, err
	}
	d.Created, d.Updated = fromMS(created), fromMS(updated)
	return d, nil
}

// Definitions implements store.Store.
func (s *Store) Definitions(ctx context.Context, kind store.Kind) ([]store.Definition, error) {
	t, err := store.DefinitionTableOf(kind)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, t.SelectCols()+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t.Table, err)
	}
	defer rows.Close()
	var out []store.Definition
	for rows.Next() {
		d, err := scanDefinition(rows, kind)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", t.Table, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Definition implements store.Store.
func (s *Store) Definition(ctx context.Context, kind store.Kind, name string) (store.Definition, error) {
	return getDefinition(ctx, s.read, kind, name)
}

// Definition implements store.Tx.
func (t *tx) Definition(ctx context.Context, kind store.Kind, name string) (store.Definition, error) {
	return getDefinition(ctx, t.q, kind, name)
}

func getDefinition(ctx context.Context, q queryer, kind store.Kind, name string) (store.Definition, error) {
	t, err := store.DefinitionTableOf(kind)
	if err != nil {
		return store.Definition{}, err
	}
	d, err := scanDefinition(q.QueryRowContext(ctx, t.SelectCols()+` WHERE name = ?`, name), kind)
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound(string(kind), name)
	}
	if err != nil {
		return d, fmt.Errorf("get %s %s: %w", kind, name, err)
	}
	return d, nil
}

// PutDefinition implements store.Store.
func (s *Store) PutDefinition(ctx context.Context, d store.Definition) error {
	t, err := store.DefinitionTableOf(d.Kind)
	if err != nil {
		return err
	}
	var doc any = string(d.Document)
	if t.Binary {
		doc = d.Document
	}
	_, err = s.write.ExecContext(ctx, `
		INSERT INTO `+t.Table+` (`+t.InsertCols()+`) VALUES (?, ?, ?, ?`+t.SeqValue()+`)
		ON CONFLICT (name) DO UPDATE SET `+t.UpsertSet(),
		d.Name, doc, ms(d.Created), ms(d.Updated))
	if err != nil {
		return fmt.Errorf("put %s %s: %w", d.Kind, d.Name, err)
	}
	return nil
}

// PutDefinition implements store.Tx: a create that fails on a taken name,
// or a replacement conditional on the revision.
func (t *tx) PutDefinition(ctx context.Context, d store.Definition) error {
	query, args, err := store.ConditionalPut(d, func(int) string { return "?" })
	if err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("put %s %s: %w", d.Kind, d.Name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("put %s %s: %w", d.Kind, d.Name, err)
	}
	return store.ConditionalPutResult(d, n)
}

// DeleteDefinition implements store.Store.
func (s *Store) DeleteDefinition(ctx context.Context, kind store.Kind, name string) error {
	t, err := store.DefinitionTableOf(kind)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `DELETE FROM `+t.Table+` WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", kind, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(string(kind), name)
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
