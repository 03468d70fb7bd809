package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/handoff"
	"github.com/hookflow/hookflow/txgroup"
)

// Group commit (package txgroup). A node's Update calls share
// transactions, one call after another: calls naming the same users no
// longer wait for one another's row locks (the group's transaction holds
// them all), and a group pays one commit. The bench's intake (16 clients,
// 75 events of 10,000 users a call) went from 3,900-4,700 events/s, with at
// most four transactions of one call each at once, to 13,300-14,300 with
// the round trips of pipe.go (BENCHMARKS.md).
//
// The calls share one transaction, not a savepoint each: a row that one
// call locked and the next updated, in subtransactions of their own, got
// a MultiXact (pgrowlocks showed both), and hot profiles are exactly what
// calls of a group share. Without savepoints a call that fails cannot be
// undone alone, so the group is rolled back and its other calls run
// again, each in a transaction of its own (txgroup.ErrCannotUndo): a
// failure costs what the old one transaction a call did, never more.
//
// Transactions of other nodes still lock against a group. A deadlock
// between two groups fails the call whose statement PostgreSQL picked
// (ErrConflict, which the API runs again), and the rest of its group
// runs alone.
//
// A node's Update calls wait for one another: a broadcast that enqueues a
// million deliveries in its call holds the node's other writes for as long
// as it runs, as on SQLite.

// groupMax is the most Update calls one transaction carries: a failed call
// runs the others alone, one transaction each, so a group stays small
// enough that this stays short.
const groupMax = 32

// Update is the contract's (hookflow.Store), its calls grouped as the note
// above says. A group that enqueued deliveries notifies listeners once,
// delivered by PostgreSQL on commit. fn's statements ignore ctx, which is
// checked before fn starts: pgx ends the transaction of a statement whose
// context is cancelled, and the transaction is the group's.
func (s *Store) Update(ctx context.Context, fn func(hookflow.Tx) error) error {
	// fn may run more than once (a group rolled back, and each call runs
	// again alone); only the last run's deliveries can have committed.
	// Settled in a defer: a call that panics must give back its places.
	var runs []*handoff.Run
	committed := false
	defer func() { s.handoff.Updated(s, s.logger, runs, committed) }()
	err := s.group.Do(ctx, func(g *groupTx) error {
		runs = append(runs, s.handoff.NewRun())
		t := &tx{ctx: g.ctx, q: &pipe{Tx: g.Tx}, run: runs[len(runs)-1]}
		err := fn(t)
		if err == nil {
			err = t.q.flush(g.ctx)
		}
		if t.q.failed != nil {
			// A queued write failed: that, not what a later statement
			// made of it, is the call's outcome.
			return t.q.failed
		}
		if err == nil {
			g.enqueued = g.enqueued || t.enqueued
		}
		return err
	})
	committed = err == nil
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
		Uncommitted: func(err error) bool { return errors.Is(err, errNotCommitted) },
		Max:         groupMax,
		Logger:      s.logger,
	})
}

// groupTx is a group's transaction.
type groupTx struct {
	pgx.Tx
	s *Store
	// ctx is the transaction's own, never a caller's: pgx ends a
	// connection's transaction when a statement's context is cancelled.
	// It has no deadline: a broadcast's call may rightly run for minutes.
	ctx context.Context
	// enqueued records that a call enqueued deliveries.
	enqueued bool
}

// beginGroup begins the transaction of a group.
func (s *Store) beginGroup() (*groupTx, error) {
	ctx := context.Background()
	t, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("beginning transaction: %w", mapErr(err))
	}
	return &groupTx{Tx: t, s: s, ctx: ctx}, nil
}

// Savepoint does nothing: the calls share one transaction (see above).
func (g *groupTx) Savepoint() error { return nil }

// Release keeps the call's writes, unless a statement of the call failed
// and the call went on regardless: PostgreSQL has aborted the transaction
// then, and the group cannot go on.
func (g *groupTx) Release() error {
	if g.Conn().PgConn().TxStatus() == 'E' {
		return errors.New("a statement failed and its call went on: the transaction is aborted")
	}
	return nil
}

// Undo cannot undo one call; see txgroup.ErrCannotUndo.
func (g *groupTx) Undo() error { return txgroup.ErrCannotUndo }

// errNotCommitted marks a failed Commit that surely kept nothing: the
// server refused the commit, or it was never sent.
var errNotCommitted = errors.New("not committed")

// Commit notifies listeners if a call enqueued, and commits. A commit whose
// reply was lost may have been kept, and says nothing more.
func (g *groupTx) Commit() error {
	if g.enqueued {
		if err := g.s.notify(g.ctx, g.Tx); err != nil {
			g.rollback()
			return fmt.Errorf("notifying listeners: %w (%w)", err, errNotCommitted)
		}
	}
	err := g.Tx.Commit(g.ctx)
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe), errors.Is(err, pgx.ErrTxCommitRollback), pgconn.SafeToRetry(err):
		return fmt.Errorf("committing: %w (%w)", mapErr(err), errNotCommitted)
	}
	return fmt.Errorf("committing: %w", mapErr(err))
}

func (g *groupTx) Rollback() error { return g.rollback() }

func (g *groupTx) rollback() error {
	err := g.Tx.Rollback(g.ctx)
	if errors.Is(err, pgx.ErrTxClosed) {
		return nil
	}
	return err
}
