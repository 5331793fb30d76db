package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// OpenPostgres opens the audit trail in the PostgreSQL database at dsn
// (postgres://…), the one the store uses when several server replicas
// share it: every replica appends to one trail, and a query through any
// of them sees every replica's records. The table is made on first use,
// under an advisory lock so that replicas starting together make it once.
//
// Ids come from a sequence: records committed by different replicas may
// take ids slightly out of time order, which the time search (firstAt)
// tolerates up to clockSkew, as it does within one process.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Log, error) {
	opts = withDefaults(opts)
	write, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("audit trail on postgres: %w", err)
	}
	// One connection, as on SQLite: the writer's group commit batches.
	write.SetMaxOpenConns(1)
	read, err := sql.Open("pgx", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("audit trail on postgres: %w", err)
	}
	read.SetMaxOpenConns(2)
	l := newLog(write, read, opts)
	l.pg = true
	if err := l.migratePostgres(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("audit trail on postgres: %w", err)
	}
	go l.writer()
	go l.pruner()
	return l, nil
}

const pgSchema = `
CREATE TABLE IF NOT EXISTS audit_records (
	id          BIGSERIAL PRIMARY KEY,
	time_us     BIGINT NOT NULL,
	request_id  TEXT NOT NULL,
	principal   TEXT NOT NULL,
	source      TEXT NOT NULL,
	user_agent  TEXT NOT NULL,
	operation   TEXT NOT NULL,
	resource    TEXT NOT NULL,
	params      TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	error       TEXT NOT NULL,
	status      INTEGER NOT NULL,
	duration_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_records_denied ON audit_records (id) WHERE outcome = 'denied';
CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS
	'BEGIN RAISE EXCEPTION ''audit records are append-only''; END';
CREATE OR REPLACE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records
	FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
`

func (l *Log) migratePostgres(ctx context.Context) error {
	tx, err := l.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('sluice:audit-migrate', 0))`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, pgSchema); err != nil {
		return err
	}
	return tx.Commit()
}

// sql turns the ? placeholders the queries are written with into
// PostgreSQL's $1, $2, … (no query here has a ? inside a string).
func (l *Log) sql(q string) string {
	if !l.pg {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// insertReturning runs a multi-row INSERT … RETURNING id and gives each
// record its id, in the order of the rows.
func (l *Log) insertReturning(ctx context.Context, stmt *sql.Stmt, args []any, chunk []*pending) error {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		if i >= len(chunk) {
			return fmt.Errorf("insert: more ids than rows")
		}
		if err := rows.Scan(&chunk[i].rec.ID); err != nil {
			return err
		}
		i++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	if i != len(chunk) {
		return fmt.Errorf("insert: %d ids for %d rows", i, len(chunk))
	}
	return nil
}
