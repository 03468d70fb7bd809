package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookflow/hookflow"
)

// pipe is an Update's transaction with a queue: the statements queue is
// given wait until the call's next statement of any kind, or the end of
// the call, and then go to the server together, in one round trip (a pgx
// batch). A /users/track batch that creates 50 profiles used to wait for
// 50 round trips; it now waits for one. Only statements whose result
// nothing reads before the next statement may be queued: the profile
// inserts and updates, with their aliases.
//
// Exec, Query, QueryRow and CopyFrom send the queue first; the store's
// transactions use no other method of pgx.Tx that runs statements.
//
// A queued statement's error (a profile another node created meanwhile,
// an update of a profile that is gone) fails the call, with that error,
// as it would have by itself (Update returns failed). The statement that
// sent it, and every one after it, fails with errEarlierWrite instead,
// which is no domain error: a FindUser that sent the queue must not report
// the update's ErrNotFound as its own, or its caller would create a second
// profile.
type pipe struct {
	pgx.Tx
	queued pgx.Batch
	checks []check // one per queued statement
	failed error   // the first queued statement's error, once sent
}

// errEarlierWrite is what statements get once a queued write has failed.
var errEarlierWrite = errors.New("an earlier write of this call failed")

// check is what a queued statement does, for its error, and whether it
// must change a row.
type check struct {
	what       string
	mustChange bool
}

// queue holds sql back until the next statement; what says what it does.
func (p *pipe) queue(what, sql string, args ...any) {
	p.queued.Queue(sql, args...)
	p.checks = append(p.checks, check{what: what})
}

// queueChange is queue for a statement that fails with ErrNotFound when
// it changes no row.
func (p *pipe) queueChange(what, sql string, args ...any) {
	p.queued.Queue(sql, args...)
	p.checks = append(p.checks, check{what: what, mustChange: true})
}

// flush sends the queued statements; errEarlierWrite, with failed set, if
// one failed.
func (p *pipe) flush(ctx context.Context) error {
	if p.failed != nil {
		return errEarlierWrite
	}
	if len(p.checks) == 0 {
		return nil
	}
	b, checks := p.queued, p.checks
	p.queued, p.checks = pgx.Batch{}, nil
	res := p.Tx.SendBatch(ctx, &b)
	for _, c := range checks {
		tag, err := res.Exec()
		if err == nil && c.mustChange && tag.RowsAffected() == 0 {
			err = hookflow.ErrNotFound
		}
		if err != nil {
			res.Close()
			p.failed = fmt.Errorf("%s: %w", c.what, mapErr(err))
			return errEarlierWrite
		}
	}
	if err := res.Close(); err != nil {
		p.failed = fmt.Errorf("sending queued writes: %w", mapErr(err))
		return errEarlierWrite
	}
	return nil
}

func (p *pipe) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := p.flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return p.Tx.Exec(ctx, sql, args...)
}

func (p *pipe) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := p.flush(ctx); err != nil {
		return nil, err
	}
	return p.Tx.Query(ctx, sql, args...)
}

func (p *pipe) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := p.flush(ctx); err != nil {
		return errRow{err}
	}
	return p.Tx.QueryRow(ctx, sql, args...)
}

func (p *pipe) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string,
	src pgx.CopyFromSource) (int64, error) {
	if err := p.flush(ctx); err != nil {
		return 0, err
	}
	return p.Tx.CopyFrom(ctx, table, columns, src)
}

// errRow is a row whose statement never ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
