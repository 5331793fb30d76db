package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-ci/sluice/internal/store/postgres"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
)

// column is a column as both schemas can say it: a normalised type and
// whether it may hold NULL.
type column struct {
	typ     string // text, integer, blob, boolean
	notNull bool
}

// schema is table → column → column.
type schema map[string]map[string]column

// normalType maps both databases' names of a type to one.
func normalType(t string) string {
	switch strings.ToLower(t) {
	case "text", "character varying":
		return "text"
	case "integer", "bigint", "smallint", "int":
		return "integer"
	case "blob", "bytea":
		return "blob"
	case "boolean":
		return "boolean"
	}
	return "?" + t
}

// schemaDifferences are the differences between the stores' schemas that are
// meant, each with why. A new one belongs here only with its reason.
var schemaDifferences = map[string]string{
	// SQLite's queries break ties by rowid, which PostgreSQL lacks.
	"jobs.rn": "PostgreSQL only: stands for SQLite's rowid", "reports.rn": "PostgreSQL only: stands for SQLite's rowid",
	"deliveries.rn":     "PostgreSQL only: stands for SQLite's rowid",
	"executions.active": "SQLite has no boolean: INTEGER 0/1 there",
	"locks.document":    "NULL in PostgreSQL marks the placeholder row Tx.Lock locks FOR UPDATE",
}

// diffSchemas lists how a (SQLite's) and b (PostgreSQL's) differ, leaving
// out the columns of except.
func diffSchemas(a, b schema, except map[string]string) []string {
	var out []string
	for table, cols := range a {
		bcols, ok := b[table]
		if !ok {
			out = append(out, fmt.Sprintf("table %s: only in SQLite", table))
			continue
		}
		for name, c := range cols {
			key := table + "." + name
			if _, ok := except[key]; ok {
				continue
			}
			bc, ok := bcols[name]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("column %s: only in SQLite", key))
			case c != bc:
				out = append(out, fmt.Sprintf("column %s: SQLite %+v, PostgreSQL %+v", key, c, bc))
			}
		}
		for name := range bcols {
			if _, ok := except[table+"."+name]; ok {
				continue
			}
			if _, ok := cols[name]; !ok {
				out = append(out, fmt.Sprintf("column %s.%s: only in PostgreSQL", table, name))
			}
		}
	}
	for table := range b {
		if _, ok := a[table]; !ok {
			out = append(out, fmt.Sprintf("table %s: only in PostgreSQL", table))
		}
	}
	sort.Strings(out)
	return out
}

func sqliteSchema(t *testing.T) schema {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "schema.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Read it back through a plain connection (the sqlite package registered
	// the driver): the store keeps its own to itself.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT m.name, p.name, p.type, p."notnull", p.pk
		FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := schema{}
	for rows.Next() {
		var table, name, typ string
		var notNull, pk int
		if err := rows.Scan(&table, &name, &typ, &notNull, &pk); err != nil {
			t.Fatal(err)
		}
		if out[table] == nil {
			out[table] = map[string]column{}
		}
		// PostgreSQL's primary keys are NOT NULL; SQLite's are too in effect.
		out[table][name] = column{typ: normalType(typ), notNull: notNull == 1 || pk > 0}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func postgresSchema(t *testing.T) schema {
	t.Helper()
	ctx := context.Background()
	dsn := freshDSN(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name, column_name, data_type, is_nullable
		FROM information_schema.columns WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := schema{}
	for rows.Next() {
		var table, name, typ, nullable string
		if err := rows.Scan(&table, &name, &typ, &nullable); err != nil {
			t.Fatal(err)
		}
		if out[table] == nil {
			out[table] = map[string]column{}
		}
		out[table][name] = column{typ: normalType(typ), notNull: nullable == "NO"}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The two stores' migrations make the same tables with the same columns, of
// the same types, NULL allowed in the same places: a migration added to one
// store and not the other fails here. It needs a PostgreSQL server, and
// skips, saying why, without one.
func TestSchemasAgree(t *testing.T) {
	pg := postgresSchema(t) // skips first when there is no server
	lite := sqliteSchema(t)
	if len(lite) < 10 || len(pg) < 10 {
		t.Fatalf("read %d SQLite tables and %d PostgreSQL tables: the schema queries are broken", len(lite), len(pg))
	}
	for _, d := range diffSchemas(lite, pg, schemaDifferences) {
		t.Error(d)
	}
	// Every listed difference is still one: a fixed one leaves the list.
	for key := range schemaDifferences {
		table, name, _ := strings.Cut(key, ".")
		if lite[table][name] == pg[table][name] {
			t.Errorf("%s is listed in schemaDifferences but agrees now", key)
		}
	}
}

// diffSchemas finds each way two schemas can differ.
func TestDiffSchemas(t *testing.T) {
	text, integer := column{typ: "text", notNull: true}, column{typ: "integer", notNull: true}
	a := schema{"t": {"a": text, "b": text, "c": text, "x": text}, "onlya": {"a": text}}
	b := schema{"t": {"a": text, "b": integer, "c": {typ: "text"}, "d": text, "y": integer}, "onlyb": {"a": text}}
	got := diffSchemas(a, b, map[string]string{"t.x": "", "t.y": ""})
	want := []string{
		"column t.b: SQLite {typ:text notNull:true}, PostgreSQL {typ:integer notNull:true}",
		"column t.c: SQLite {typ:text notNull:true}, PostgreSQL {typ:text notNull:false}",
		"column t.d: only in PostgreSQL",
		"table onlya: only in SQLite",
		"table onlyb: only in PostgreSQL",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diffSchemas =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
