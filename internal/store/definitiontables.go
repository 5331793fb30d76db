package store

import (
	"fmt"
	"time"
)

// DefinitionTable is where both SQL backends keep the definitions of one
// kind (their migrations create the tables alike; TestSchemasAgree checks):
// every such table has the columns name, the document's column, created_ms,
// updated_ms and revision. The SQL it writes has no parameters, or writes
// them as the caller's dialect does, so it serves either dialect.
type DefinitionTable struct {
	Table  string // a constant of this file, never input
	Column string
	// Binary: the document column is a BLOB (BYTEA), not TEXT.
	Binary bool
	// CreatedSeq: the table keeps the sequence of the last event written
	// when a definition was created (rules; see Definition).
	CreatedSeq bool
}

var definitionTables = map[Kind]DefinitionTable{
	KindWebhook:              {Table: "webhooks", Column: "definition"},
	KindProject:              {Table: "projects", Column: "definition"},
	KindFunction:             {Table: "functions", Column: "definition"},
	KindRule:                 {Table: "rules", Column: "definition", CreatedSeq: true},
	KindSecret:               {Table: "secrets", Column: "ciphertext", Binary: true},
	KindPolicy:               {Table: "policies", Column: "definition"},
	KindConnection:           {Table: "connections", Column: "definition"},
	KindAccessKey:            {Table: "access_keys", Column: "sealed", Binary: true},
	KindActionType:           {Table: "action_types", Column: "definition"},
	KindSSHKey:               {Table: "ssh_keys", Column: "definition"},
	KindTags:                 {Table: "resource_tags", Column: "definition"},
	KindDeployGroup:          {Table: "deployment_groups", Column: "definition"},
	KindDeployment:           {Table: "deployments", Column: "definition"},
	KindDeployAgent:          {Table: "deploy_agents", Column: "definition"},
	KindPullRequest:          {Table: "pull_requests", Column: "definition"},
	KindApprovalRuleTemplate: {Table: "approval_rule_templates", Column: "definition"},
}

// DefinitionTableOf returns kind's table, or an error wrapping
// ErrUnknownKind.
func DefinitionTableOf(kind Kind) (DefinitionTable, error) {
	t, ok := definitionTables[kind]
	if !ok {
		return t, fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	return t, nil
}

// SelectCols is the SELECT of a definition's name, document, times,
// created sequence (0 where the table keeps none) and revision, FROM its
// table.
func (t DefinitionTable) SelectCols() string {
	seq := "0"
	if t.CreatedSeq {
		seq = "created_seq"
	}
	return `SELECT name, ` + t.Column + `, created_ms, updated_ms, ` + seq + `, revision FROM ` + t.Table
}

// UpsertSet is the DO UPDATE SET of an unconditional put's ON CONFLICT
// (name): the new document and update time, and one more revision.
func (t DefinitionTable) UpsertSet() string {
	return t.Column + ` = excluded.` + t.Column + `, updated_ms = excluded.updated_ms, revision = ` + t.Table + `.revision + 1`
}

// ConditionalPut is Tx.PutDefinition's statement for d and its arguments,
// in a dialect whose i-th parameter (from 1) is written param(i): with
// d.Revision 0 an insert that does nothing on a taken name, else an update
// of the definition only while it is at d.Revision (and one more revision).
// Either changes no row when its condition fails: ConditionalPutResult
// makes that ErrConflict.
func ConditionalPut(d Definition, param func(i int) string) (query string, args []any, err error) {
	t, err := DefinitionTableOf(d.Kind)
	if err != nil {
		return "", nil, err
	}
	var doc any = string(d.Document)
	if t.Binary {
		doc = d.Document
	}
	if d.Revision == 0 {
		return `INSERT INTO ` + t.Table + ` (` + t.InsertCols() + `) VALUES (` + param(1) + `, ` + param(2) + `, ` + param(3) + `, ` + param(4) + t.SeqValue() + `)
			ON CONFLICT (name) DO NOTHING`, []any{d.Name, doc, millis(d.Created), millis(d.Updated)}, nil
	}
	return `UPDATE ` + t.Table + ` SET ` + t.Column + ` = ` + param(1) + `, updated_ms = ` + param(2) + `, revision = revision + 1
			WHERE name = ` + param(3) + ` AND revision = ` + param(4), []any{doc, millis(d.Updated), d.Name, d.Revision}, nil
}

// ConditionalPutResult is what Tx.PutDefinition of d returns when its
// statement changed rows rows.
func ConditionalPutResult(d Definition, rows int64) error {
	switch {
	case rows > 0:
		return nil
	case d.Revision == 0:
		return fmt.Errorf("create %s %s: %w: it exists", d.Kind, d.Name, ErrConflict)
	}
	return fmt.Errorf("put %s %s: %w: it is no longer at revision %d", d.Kind, d.Name, ErrConflict, d.Revision)
}

// millis is how the tables keep times: milliseconds since 1970, 0 for none.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// SeqValue is what an INSERT adds to its VALUES for created_seq: the
// newest event's sequence, read in the same statement.
func (t DefinitionTable) SeqValue() string {
	if t.CreatedSeq {
		return `, (SELECT COALESCE(MAX(seq), 0) FROM events)`
	}
	return ``
}

// InsertCols are the columns a new definition sets, whose first four values are
// parameters; created_seq (SeqValue) is read from the events.
func (t DefinitionTable) InsertCols() string {
	if t.CreatedSeq {
		return `name, ` + t.Column + `, created_ms, updated_ms, created_seq`
	}
	return `name, ` + t.Column + `, created_ms, updated_ms`
}
