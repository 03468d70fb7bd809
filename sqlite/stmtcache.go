package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Profiles of the server under load showed a third of its CPU in SQLite
// parsing the same SQL text again: database/sql prepares, runs and finalizes
// a statement for every ExecContext or QueryContext given a string. The types
// here prepare each distinct text once per pool and keep the statement; the
// driver keeps the parsed statement on each connection it has run on.
//
// Nearly every text a call site passes is a constant or one of a few shapes
// (batch statements for 1 to batchRows rows, filters of a list). A few are
// not bounded (an IN list as long as the caller's IDs), so a pool keeps at
// most maxKept statements and runs further texts unprepared, as before.

// maxKept is how many statements a pool keeps: room for every constant
// text, every batch shape (7 statements of up to batchRows sizes) and the
// list filters, with a margin.
const maxKept = 512

// pool is a connection pool that runs each SQL text through a statement it
// prepared once and keeps until Close.
type pool struct {
	*sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newPool(db *sql.DB) *pool {
	return &pool{DB: db, stmts: make(map[string]*sql.Stmt)}
}

// cached returns the statement kept for query, or nil.
func (p *pool) cached(query string) *sql.Stmt {
	st, _ := p.lookup(query)
	return st
}

// lookup returns the statement kept for query, or nil and whether the pool
// is full.
func (p *pool) lookup(query string) (st *sql.Stmt, full bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st = p.stmts[query]
	return st, st == nil && len(p.stmts) >= maxKept
}

// stmt returns the statement for query, preparing and keeping it on a miss.
// It returns nil and no error when the pool keeps maxKept statements already
// and query is not one of them. It must not be called on the write pool inside a write transaction: the
// prepare would wait for the pool's only connection, which the transaction
// holds.
func (p *pool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, full := p.lookup(query); st != nil || full {
		return st, nil
	}
	// Prepare without the lock so that one slow prepare does not hold up
	// every other query; if two goroutines race, the first one kept wins.
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if kept, ok := p.stmts[query]; ok {
		st.Close()
		return kept, nil
	}
	if len(p.stmts) >= maxKept {
		st.Close()
		return nil, nil
	}
	p.stmts[query] = st
	return st, nil
}

// ExecContext runs query through its kept statement. If the pool is full, or
// preparing fails, it runs query unprepared: that reports the same error, and
// a Row cannot be made to carry one otherwise.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.stmt(ctx, query)
	if err != nil || st == nil {
		return p.DB.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs query through its kept statement.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil || st == nil {
		return p.DB.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs query through its kept statement.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil || st == nil {
		return p.DB.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// prepare keeps a statement for each of queries not kept yet. Errors are
// dropped: the next use of the text prepares it again and reports them.
func (p *pool) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		p.stmt(ctx, q)
	}
}

// Close closes the kept statements, then the pool.
func (p *pool) Close() error {
	p.mu.Lock()
	var errs []error
	for q, st := range p.stmts {
		errs = append(errs, st.Close())
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	errs = append(errs, p.DB.Close())
	return errors.Join(errs...)
}

// writeTx is a write transaction that runs each SQL text through the write
// pool's kept statement, bound to the transaction's connection. A text the
// pool does not keep yet is prepared on the transaction, reused for the rest
// of it, and noted in missed, for inWrite to prepare on the pool once the
// transaction has released the connection.
type writeTx struct {
	*sql.Tx
	pool *pool
	// profiles is the writer's profile cache (profiles.go), which a
	// rollback resets.
	profiles *profileCache

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	missed []string
}

func newWriteTx(t *sql.Tx, p *pool, profiles *profileCache) *writeTx {
	return &writeTx{Tx: t, pool: p, profiles: profiles, stmts: make(map[string]*sql.Stmt)}
}

// Commit commits the transaction. A commit that fails rolls back, and the
// profile cache may hold what it undid.
func (t *writeTx) Commit() error {
	err := t.Tx.Commit()
	if err != nil {
		t.profiles.reset()
	}
	return err
}

// Rollback rolls the transaction back and resets the profile cache, which
// may hold what it undid.
func (t *writeTx) Rollback() error {
	t.profiles.reset()
	return t.Tx.Rollback()
}

// stmt returns the transaction's statement for query.
func (t *writeTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}

	var st *sql.Stmt
	if kept, full := t.pool.lookup(query); kept != nil {
		// On the writer's one connection this reuses the driver
		// statement prepared when the text was first kept.
		st = t.Tx.StmtContext(ctx, kept)
	} else {
		var err error
		if st, err = t.Tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		if !full {
			t.missed = append(t.missed, query)
		}
	}
	t.stmts[query] = st
	return st, nil
}

// ExecContext runs query through the transaction's statement for it.
func (t *writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs query through the transaction's statement for it.
func (t *writeTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs query through the transaction's statement for it. If
// preparing fails it runs query unprepared, which yields a Row carrying the
// same error.
func (t *writeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
