package migrate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/sluice-ci/sluice/internal/store/migrate"
)

func file(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }

func TestLoadRefusesBadSets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"a bad name", fstest.MapFS{"0001_init.sql": file(""), "2_more.sql": file("")}, "2_more.sql: name is not NNNN_what.sql"},
		{"upper case", fstest.MapFS{"0001_Init.sql": file("")}, "0001_Init.sql: name is not"},
		{"a repeat", fstest.MapFS{"0001_init.sql": file(""), "0002_a.sql": file(""), "0002_b.sql": file("")}, "0002_b.sql: version 2 is also 0002_a.sql"},
		{"a gap", fstest.MapFS{"0001_init.sql": file(""), "0003_c.sql": file("")}, "0003_c.sql: version 3, want 2"},
		{"no first", fstest.MapFS{"0002_b.sql": file("")}, "0002_b.sql: version 2, want 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := migrate.Load(tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	ms, err := migrate.Load(fstest.MapFS{"0002_b.sql": file("B"), "0001_a.sql": file("A"), "README": file("not a migration")})
	if err != nil || len(ms) != 2 || ms[0].Version != 1 || ms[0].SQL != "A" || ms[1].Name != "0002_b.sql" {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func versions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestRunAppliesEachOnce(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	files := fstest.MapFS{
		"0001_init.sql": file("CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);"),
		"0002_more.sql": file("INSERT INTO a VALUES (2);"),
	}
	v, err := migrate.Run(ctx, migrate.SQL(db), files, migrate.Options{})
	if err != nil || v != 2 {
		t.Fatalf("Run = %d, %v", v, err)
	}
	// Again, with one more file: only the new one runs.
	files["0003_last.sql"] = file("INSERT INTO a VALUES (3);")
	v, err = migrate.Run(ctx, migrate.SQL(db), files, migrate.Options{})
	if err != nil || v != 3 {
		t.Fatalf("second Run = %d, %v", v, err)
	}
	var n, sum int
	if err := db.QueryRow(`SELECT COUNT(*), SUM(x) FROM a`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 3 || sum != 6 {
		t.Fatalf("rows = %d (sum %d): a migration ran twice or not at all", n, sum)
	}
	if got := versions(t, db); len(got) != 3 || got[2] != 3 {
		t.Fatalf("versions = %v", got)
	}
}

// A failing migration rolls back itself alone: the ones before it stay, and
// the next Run retries it.
func TestRunStopsAtAFailure(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	files := fstest.MapFS{
		"0001_init.sql":   file("CREATE TABLE a (x INTEGER);"),
		"0002_broken.sql": file("INSERT INTO a VALUES (2);\nINSERT INTO nowhere VALUES (1);"),
	}
	v, err := migrate.Run(ctx, migrate.SQL(db), files, migrate.Options{})
	if err == nil || !strings.Contains(err.Error(), "migrate 0002_broken.sql") || v != 1 {
		t.Fatalf("Run = %d, %v; want version 1 and an error naming 0002_broken.sql", v, err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM a`).Scan(&n); err != nil {
		t.Fatalf("0001 was rolled back with 0002: %v", err)
	}
	if n != 0 {
		t.Fatalf("half of 0002 committed: %d rows", n)
	}
	if got := versions(t, db); len(got) != 1 {
		t.Fatalf("versions = %v", got)
	}
	files["0002_broken.sql"] = file("INSERT INTO a VALUES (2);")
	if v, err := migrate.Run(ctx, migrate.SQL(db), files, migrate.Options{}); err != nil || v != 2 {
		t.Fatalf("Run after the fix = %d, %v", v, err)
	}
}

// A database migrated by a newer sluice, with versions beyond the files, is
// left alone.
func TestRunLeavesANewerDatabase(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	files := fstest.MapFS{"0001_init.sql": file("CREATE TABLE a (x INTEGER);"), "0002_b.sql": file("CREATE TABLE b (x INTEGER);")}
	if _, err := migrate.Run(ctx, migrate.SQL(db), files, migrate.Options{}); err != nil {
		t.Fatal(err)
	}
	delete(files, "0002_b.sql")
	v, err := migrate.Run(ctx, migrate.SQL(db), files, migrate.Options{})
	if err != nil || v != 2 {
		t.Fatalf("Run on a newer database = %d, %v", v, err)
	}
}

// Options.Lock runs first in every transaction.
func TestRunTakesTheLock(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	if _, err := db.Exec(`CREATE TABLE locks_taken (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{"0001_a.sql": file("CREATE TABLE a (x INTEGER);"), "0002_b.sql": file("CREATE TABLE b (x INTEGER);")}
	if _, err := migrate.Run(ctx, migrate.SQL(db), files, migrate.Options{Lock: `INSERT INTO locks_taken VALUES (1)`}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM locks_taken`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 { // one per migration, one for the check that finds nothing left
		t.Fatalf("lock taken %d times, want 3", n)
	}
}
