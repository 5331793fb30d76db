package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache runs read queries through statements prepared once. SQLite
// compiles every statement it is given, and for the short reads behind most
// API calls compiling costs more than running (a quarter of a read call's CPU
// before this cache, by profile); database/sql re-prepares a cached statement
// on each pooled connection it meets, once.
type stmtCache struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache: queries are a fixed set of texts, but a
// bug building texts from values must not grow it without end.
const maxCachedStmts = 256

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}}
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.stmts[query]
	full := len(c.stmts) >= maxCachedStmts
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	if full {
		return nil, nil
	}
	// Prepared without the lock: preparing waits for a connection, and on
	// the write pool its one connection may be held by a transaction that
	// looks statements up here.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok || c.stmts == nil {
		st.Close()
		return prev, nil
	}
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil || st == nil {
		return c.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil || st == nil {
		return c.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (c *stmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.db.ExecContext(ctx, query, args...)
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

// lookup returns the statement prepared for query, or nil, preparing
// nothing: inside a write transaction the write pool's one connection is
// taken, and preparing on the pool would wait for it forever.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// prepare prepares each of queries not prepared yet; errors are left for the
// statement's next unprepared run to report.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		_, _ = c.stmt(ctx, q)
	}
}

// preparedTx runs a write transaction's statements through the write pool's
// prepared statements (the claim, the result and the engine's writes repeat a
// fixed set of texts), so SQLite does not compile each of them anew in every
// transaction. A text met for the first time runs unprepared and is prepared
// after the commit, when the connection is free again.
type preparedTx struct {
	tx     *sql.Tx
	cache  *stmtCache
	missed []string
}

func (p *preparedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := p.cache.lookup(query); st != nil {
		return p.tx.StmtContext(ctx, st)
	}
	p.missed = append(p.missed, query)
	return nil
}

func (p *preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.tx.QueryContext(ctx, query, args...)
}

func (p *preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.tx.QueryRowContext(ctx, query, args...)
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.tx.ExecContext(ctx, query, args...)
}
