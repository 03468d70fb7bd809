package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/txgroup"
)

// Group commit (package txgroup). A node's Update calls share
// transactions, one call after another, each in a savepoint: calls naming
// the same users no longer wait for one another's row locks (the group's
// transaction holds them all), and a group pays one commit. Measured with
// the bench's intake (16 clients, 75 events of 10,000 users a call): 4,700
// events/s with four transactions of one call each at once; see
// BENCHMARKS.md for the grouped figure.
//
// Transactions of other nodes still lock against a group: a deadlock
// between two groups fails the one call whose statement PostgreSQL picked,
// which rolls back to its savepoint and is reported as ErrConflict (the API
// runs it again); the rest of its group goes on.

// groupMax is the most Update calls one transaction carries. Each call's
// savepoint becomes a subtransaction with an id of its own once it writes
// or locks a row, and a transaction with more than 64 of them overflows
// the cache every other session's snapshot consults, slowing the whole
// server; 32 stays well under that.
const groupMax = 32

// groupTimeout bounds a group's transaction, so that a database that stops
// answering fails the calls waiting instead of holding them forever.
const groupTimeout = time.Minute

// Update runs fn in one transaction, possibly shared with other Update calls
// of this store (see the group commit note above), and returns once that
// transaction has committed, or failed. If fn returns an error, nothing it
// wrote is kept. If any call of the transaction enqueued deliveries, it
// also notifies listeners, once, and PostgreSQL delivers that notification
// on commit.
//
// The statements fn runs through its Tx ignore ctx: cancelling one call
// must not interrupt a transaction that others share. ctx is checked
// before fn starts; once fn has started, the call completes.
func (s *Store) Update(ctx context.Context, fn func(hookflow.Tx) error) error {
	err := s.group.Do(ctx, func(g *groupTx) error {
		t := &tx{ctx: g.ctx, q: &pipe{Tx: g.Tx}}
		if err := fn(t); err != nil {
			return err
		}
		if err := t.q.flush(g.ctx); err != nil {
			return err
		}
		g.enqueued = g.enqueued || t.enqueued
		return nil
	})
	return lostRace(err)
}

// startGroup starts the committer of s's Update calls.
func (s *Store) startGroup() {
	s.group = txgroup.Start(txgroup.Options[*groupTx]{
		Begin: s.beginGroup,
		Alone: func(run func(*groupTx) error) error {
			g, err := s.beginGroup()
			if err != nil {
				return err
			}
			if err := run(g); err != nil {
				if rerr := g.Rollback(); rerr != nil {
					s.logger.Warn("rollback failed", "err", rerr)
				}
				return err
			}
			return g.Commit()
		},
		Max:    groupMax,
		Logger: s.logger,
	})
}

// groupTx is a group's transaction.
type groupTx struct {
	pgx.Tx
	s *Store
	// ctx is the transaction's own, never a caller's: pgx ends a
	// connection's transaction when a statement's context is cancelled.
	ctx    context.Context
	cancel context.CancelFunc
	// enqueued records that a call enqueued deliveries.
	enqueued bool
}

// beginGroup begins the transaction of a group.
func (s *Store) beginGroup() (*groupTx, error) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	t, err := s.pool.Begin(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("beginning transaction: %w", mapErr(err))
	}
	return &groupTx{Tx: t, s: s, ctx: ctx, cancel: cancel}, nil
}

func (g *groupTx) Savepoint() error {
	return g.exec(`SAVEPOINT update_call`, "beginning savepoint")
}

func (g *groupTx) Release() error {
	return g.exec(`RELEASE SAVEPOINT update_call`, "releasing savepoint")
}

// Undo rolls back to the savepoint, which also ends an error state the
// call's failed statement left the transaction in.
func (g *groupTx) Undo() error {
	if err := g.exec(`ROLLBACK TO SAVEPOINT update_call`, "rolling back to savepoint"); err != nil {
		return err
	}
	return g.Release()
}

// Commit notifies listeners if a call enqueued, and commits.
func (g *groupTx) Commit() error {
	defer g.cancel()
	if g.enqueued {
		if err := g.s.notify(g.ctx, g.Tx); err != nil {
			g.rollback()
			return fmt.Errorf("notifying listeners: %w", err)
		}
	}
	if err := g.Tx.Commit(g.ctx); err != nil {
		return fmt.Errorf("committing: %w", mapErr(err))
	}
	return nil
}

func (g *groupTx) Rollback() error {
	defer g.cancel()
	return g.rollback()
}

func (g *groupTx) rollback() error {
	err := g.Tx.Rollback(g.ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}

func (g *groupTx) exec(stmt, doing string) error {
	if _, err := g.Tx.Exec(g.ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", doing, mapErr(err))
	}
	return nil
}
