package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-ci/sluice/internal/store"
)

// scanOf reads a definition of kind from t.
func scanOf(t store.DefinitionTable, kind store.Kind) func(scanner) (store.Definition, error) {
	return func(r scanner) (store.Definition, error) {
		d := store.Definition{Kind: kind}
		var text string
		var created, updated int64
		doc := any(&text)
		if t.Binary {
			doc = &d.Document
		}
		if err := r.Scan(&d.Name, doc, &created, &updated, &d.CreatedSeq, &d.Revision); err != nil {
			return d, err
		}
		if !t.Binary {
			d.Document = []byte(text)
		}
		d.Created, d.Updated = fromMS(created), fromMS(updated)
		return d, nil
	}
}

// Definitions implements store.Store.
func (s *Store) Definitions(ctx context.Context, kind store.Kind) ([]store.Definition, error) {
	t, err := store.DefinitionTableOf(kind)
	if err != nil {
		return nil, err
	}
	return list(ctx, s.read, t.Table, scanOf(t, kind), t.SelectCols()+` ORDER BY name`)
}

// Definition implements store.Store.
func (s *Store) Definition(ctx context.Context, kind store.Kind, name string) (store.Definition, error) {
	return getDefinition(ctx, s.read, kind, name)
}

// Definition implements store.Tx.
func (t *tx) Definition(ctx context.Context, kind store.Kind, name string) (store.Definition, error) {
	return getDefinition(ctx, t.q, kind, name)
}

func getDefinition(ctx context.Context, q querier, kind store.Kind, name string) (store.Definition, error) {
	t, err := store.DefinitionTableOf(kind)
	if err != nil {
		return store.Definition{}, err
	}
	d, err := scanOf(t, kind)(q.QueryRow(ctx, t.SelectCols()+` WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err = s.write.Exec(ctx, `
		INSERT INTO `+t.Table+` (`+t.InsertCols()+`) VALUES ($1, $2, $3, $4`+t.SeqValue()+`)
		ON CONFLICT (name) DO UPDATE SET `+t.UpsertSet(),
		d.Name, doc, ms(d.Created), ms(d.Updated))
	if err != nil {
		return fmt.Errorf("put %s %s: %w", d.Kind, d.Name, err)
	}
	return nil
}

// PutDefinition implements store.Tx: a create that fails on a taken name,
// or a replacement conditional on the revision. The UPDATE's WHERE is
// evaluated on the row's latest committed version (READ COMMITTED waits for
// a concurrent writer and re-checks), so two replicas replacing the same
// revision cannot both succeed.
func (t *tx) PutDefinition(ctx context.Context, d store.Definition) error {
	query, args, err := store.ConditionalPut(d, func(i int) string { return "$" + strconv.Itoa(i) })
	if err != nil {
		return err
	}
	tag, err := t.q.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("put %s %s: %w", d.Kind, d.Name, err)
	}
	return store.ConditionalPutResult(d, tag.RowsAffected())
}

// DeleteDefinition implements store.Store.
func (s *Store) DeleteDefinition(ctx context.Context, kind store.Kind, name string) error {
	t, err := store.DefinitionTableOf(kind)
	if err != nil {
		return err
	}
	return s.deleteNamed(ctx, t.Table, string(kind), name)
}

// NextBuildNumber implements store.Store. The upsert takes the row's lock,
// so concurrent callers on any replica get distinct numbers.
func (s *Store) NextBuildNumber(ctx context.Context, project string) (int64, error) {
	var n int64
	err := s.write.QueryRow(ctx, `
		INSERT INTO build_numbers (project, last) VALUES ($1, 1)
		ON CONFLICT (project) DO UPDATE SET last = build_numbers.last + 1
		RETURNING last`, project).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("next build number of %s: %w", project, err)
	}
	return n, nil
}
