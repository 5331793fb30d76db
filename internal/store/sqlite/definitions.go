package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sluice-ci/sluice/internal/store"
)

// definitionTable is where the definitions of one kind are kept: every such
// table has the columns name, the document's column, created_ms and updated_ms.
type definitionTable struct {
	table  string // constants of this package, never input
	column string
	binary bool
	// createdSeq: the table keeps the sequence of the last event written
	// when a definition was created (rules; see store.Definition).
	createdSeq bool // the document column is a BLOB, not TEXT
}

var definitionTables = map[store.Kind]definitionTable{
	store.KindWebhook:              {table: "webhooks", column: "definition"},
	store.KindProject:              {table: "projects", column: "definition"},
	store.KindFunction:             {table: "functions", column: "definition"},
	store.KindRule:                 {table: "rules", column: "definition", createdSeq: true},
	store.KindSecret:               {table: "secrets", column: "ciphertext", binary: true},
	store.KindPolicy:               {table: "policies", column: "definition"},
	store.KindConnection:           {table: "connections", column: "definition"},
	store.KindAccessKey:            {table: "access_keys", column: "sealed", binary: true},
	store.KindActionType:           {table: "action_types", column: "definition"},
	store.KindSSHKey:               {table: "ssh_keys", column: "definition"},
	store.KindTags:                 {table: "resource_tags", column: "definition"},
	store.KindDeployGroup:          {table: "deployment_groups", column: "definition"},
	store.KindDeployment:           {table: "deployments", column: "definition"},
	store.KindDeployAgent:          {table: "deploy_agents", column: "definition"},
	store.KindPullRequest:          {table: "pull_requests", column: "definition"},
	store.KindApprovalRuleTemplate: {table: "approval_rule_templates", column: "definition"},
}

func tableOf(kind store.Kind) (definitionTable, error) {
	t, ok := definitionTables[kind]
	if !ok {
		return t, fmt.Errorf("%w %q", store.ErrUnknownKind, kind)
	}
	return t, nil
}

func (t definitionTable) selectCols() string {
	seq := "0"
	if t.createdSeq {
		seq = "created_seq"
	}
	return `SELECT name, ` + t.column + `, created_ms, updated_ms, ` + seq + ` FROM ` + t.table
}

func (t definitionTable) seqValue() string {
	if t.createdSeq {
		return `, (SELECT COALESCE(MAX(seq), 0) FROM events)`
	}
	return ``
}

// insertCols and insertValues are the columns a new definition sets, and
// their values: the first four are parameters, created_seq is read from the
// events in the same statement.
func (t definitionTable) insertCols() string {
	if t.createdSeq {
		return `name, ` + t.column + `, created_ms, updated_ms, created_seq`
	}
	return `name, ` + t.column + `, created_ms, updated_ms`
}

func scanDefinition(r scanner, kind store.Kind) (store.Definition, error) {
	d := store.Definition{Kind: kind}
	var created, updated int64
	if err := r.Scan(&d.Name, &d.Document, &created, &updated, &d.CreatedSeq); err != nil {
		return d, err
	}
	d.Created, d.Updated = fromMS(created), fromMS(updated)
	return d, nil
}

// Definitions implements store.Store.
func (s *Store) Definitions(ctx context.Context, kind store.Kind) ([]store.Definition, error) {
	t, err := tableOf(kind)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, t.selectCols()+` ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t.table, err)
	}
	defer rows.Close()
	var out []store.Definition
	for rows.Next() {
		d, err := scanDefinition(rows, kind)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", t.table, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Definition implements store.Store.
func (s *Store) Definition(ctx context.Context, kind store.Kind, name string) (store.Definition, error) {
	t, err := tableOf(kind)
	if err != nil {
		return store.Definition{}, err
	}
	d, err := scanDefinition(s.read.QueryRowContext(ctx, t.selectCols()+` WHERE name = ?`, name), kind)
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
	t, err := tableOf(d.Kind)
	if err != nil {
		return err
	}
	var doc any = string(d.Document)
	if t.binary {
		doc = d.Document
	}
	_, err = s.write.ExecContext(ctx, `
		INSERT INTO `+t.table+` (`+t.insertCols()+`) VALUES (?, ?, ?, ?`+t.seqValue()+`)
		ON CONFLICT (name) DO UPDATE SET `+t.column+` = excluded.`+t.column+`, updated_ms = excluded.updated_ms`,
		d.Name, doc, ms(d.Created), ms(d.Updated))
	if err != nil {
		return fmt.Errorf("put %s %s: %w", d.Kind, d.Name, err)
	}
	return nil
}

// DeleteDefinition implements store.Store.
func (s *Store) DeleteDefinition(ctx context.Context, kind store.Kind, name string) error {
	t, err := tableOf(kind)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE name = ?`, name)
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
