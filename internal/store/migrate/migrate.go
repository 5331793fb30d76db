// Package migrate brings a database's schema up to date from numbered SQL
// files, for both stores: the files are the stores' own, the runner is one.
//
// A migration is a file NNNN_what.sql at the root of an fs.FS; versions run
// 1, 2, 3… without gaps or repeats, so that two branches each adding "the
// next" migration collide loudly instead of one being skipped. The table
// schema_migrations records the versions applied. Each migration runs in its
// own transaction with its record, so a failing one leaves the database at
// the version before it.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// Migration is one file.
type Migration struct {
	Version int
	Name    string // the file's name
	SQL     string
}

var fileName = lazyregexp.New(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// Load reads the migrations at the root of fsys, in order. Every .sql file
// must be named NNNN_what.sql (lower case), and the versions must run from 1
// without gaps or repeats.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var out []Migration
	for _, name := range names {
		m := fileName.FindStringSubmatch(name)
		if m == nil {
			return nil, fmt.Errorf("migration %s: name is not NNNN_what.sql", name)
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if i > 0 && m.Version == out[i-1].Version {
			return nil, fmt.Errorf("migration %s: version %d is also %s", m.Name, m.Version, out[i-1].Name)
		}
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d (versions run 1, 2, 3… without gaps)", m.Name, m.Version, i+1)
		}
	}
	return out, nil
}

// DB is the database to migrate.
type DB interface {
	Begin(ctx context.Context) (Tx, error)
}

// Tx is one transaction of a DB.
type Tx interface {
	// Exec runs query, which may hold several statements.
	Exec(ctx context.Context, query string) error
	// QueryInt runs a query that returns one integer.
	QueryInt(ctx context.Context, query string) (int, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Options tailor Run to a database.
type Options struct {
	// Lock, when set, is run first in every transaction Run begins, and must
	// hold a lock to the transaction's end that every Run on the database
	// takes: PostgreSQL's pg_advisory_xact_lock, so that replicas starting
	// together migrate one after the other and each migration runs once.
	// SQLite's single writer needs none.
	Lock string
}

// Run applies the migrations of fsys that db has not applied, each in its
// own transaction, and returns the version db is at. A database at a version
// beyond the files (written by a newer sluice) is left alone.
func Run(ctx context.Context, db DB, fsys fs.FS, opt Options) (int, error) {
	migrations, err := Load(fsys)
	if err != nil {
		return 0, err
	}
	for {
		v, done, err := step(ctx, db, migrations, opt)
		if err != nil || done {
			return v, err
		}
	}
}

// step applies the first migration db lacks, in one transaction; done when
// there was none.
func step(ctx context.Context, db DB, migrations []Migration, opt Options) (version int, done bool, err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if opt.Lock != "" {
		if err := tx.Exec(ctx, opt.Lock); err != nil {
			return 0, false, fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return 0, false, fmt.Errorf("migrate: %w", err)
	}
	current, err := tx.QueryInt(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	if err != nil {
		return 0, false, fmt.Errorf("migrate: %w", err)
	}
	if current >= len(migrations) {
		return current, true, tx.Commit(ctx)
	}
	m := migrations[current] // versions run from 1 without gaps
	if err := tx.Exec(ctx, m.SQL); err != nil {
		return current, false, fmt.Errorf("migrate %s: %w", m.Name, err)
	}
	// The version is a number of this package's, not input.
	if err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO schema_migrations (version) VALUES (%d)`, m.Version)); err != nil {
		return current, false, fmt.Errorf("migrate %s: %w", m.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return current, false, fmt.Errorf("migrate %s: commit: %w", m.Name, err)
	}
	return m.Version, false, nil
}
