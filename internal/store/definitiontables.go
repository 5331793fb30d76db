package store

import "fmt"

// DefinitionTable is where both SQL backends keep the definitions of one
// kind (their migrations create the tables alike; TestSchemasAgree checks):
// every such table has the columns name, the document's column, created_ms,
// updated_ms and revision. The SQL it writes has no parameters, so it serves either
// dialect.
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

// ReplaceSet is the SET of a conditional replacement (Tx.PutDefinition),
// whose WHERE names the definition and the revision it must still be at:
// UPDATE t.Table SET ReplaceSet(doc, updated) WHERE name = … AND revision = ….
// doc and updated are the dialect's parameters.
func (t DefinitionTable) ReplaceSet(doc, updated string) string {
	return t.Column + ` = ` + doc + `, updated_ms = ` + updated + `, revision = revision + 1`
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
