package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/handoff"
	"github.com/hookflow/hookflow/txgroup"
)

// Group commit (package txgroup). SQLite has one writer: under load every
// /users/track request used to wait for the write connection, run its own
// transaction and pay its own commit, the WAL frames of every page it
// touched written again by the next request. Update calls instead share
// transactions, each call in a savepoint, and the sender's SaveAndClaim
// joins them.

// groupMax is the most Update calls one transaction carries: 64 requests
// of 75 events take a few tens of milliseconds.
const groupMax = 64

// Update is the contract's (hookflow.Store), its calls grouped as the note
// above says. fn must not call any other method of the store that writes
// either: the write connection is the group's. fn's statements ignore ctx,
// which is checked before fn starts: a cancelled statement could roll back
// a transaction that others share.
func (s *Store) Update(ctx context.Context, fn func(hookflow.Tx) error) error {
	// fn may run more than once (a group's commit failed, and each call
	// runs again alone); only the last run's deliveries were committed.
	// Settled in a defer: a call that panics must give back its places.
	var runs []*handoff.Run
	committed := false
	defer func() { s.handoff.Updated(s, s.logger, runs, committed) }()
	err := s.group.Do(ctx, func(t *groupTx) error {
		runs = append(runs, s.handoff.NewRun())
		return fn(&tx{ctx: groupCtx, q: t.writeTx, run: runs[len(runs)-1]})
	})
	committed = err == nil
	if errors.Is(err, txgroup.ErrClosed) {
		return errClosed
	}
	return err
}

// errClosed is what Update returns once Close has begun.
var errClosed = fmt.Errorf("sqlite store is closed: %w", txgroup.ErrClosed)

// groupCtx is the context of a group's transaction and of the statements
// its calls run. It is not any caller's: database/sql rolls a transaction
// back when its context ends, and the driver interrupts a statement whose
// context ends, which in SQLite can roll back the whole transaction.
var groupCtx = context.Background()

// startGroup starts the committer of s's Update calls.
func (s *Store) startGroup() {
	s.group = txgroup.Start(txgroup.Options[*groupTx]{
		Begin: s.beginGroup,
		Alone: func(run func(*groupTx) error) error {
			return s.inWrite(groupCtx, func(t *writeTx) error {
				return run(&groupTx{writeTx: t, s: s})
			})
		},
		Max:    groupMax,
		Logger: s.logger,
	})
}

// groupTx is a group's transaction on the write connection.
type groupTx struct {
	*writeTx
	s *Store
}

// beginGroup begins the transaction of a group.
func (s *Store) beginGroup() (*groupTx, error) {
	begun, err := s.write.BeginTx(groupCtx, nil)
	if err != nil {
		return nil, fmt.Errorf("beginning write: %w", mapErr(err))
	}
	return &groupTx{writeTx: newWriteTx(begun, s.write, s.profiles), s: s}, nil
}

// Savepoint statements. One name serves every call: each savepoint is
// released before the next call begins.
const (
	savepoint   = `SAVEPOINT update_call`
	rollbackTo  = `ROLLBACK TO update_call`
	releaseSave = `RELEASE update_call`
)

func (t *groupTx) Savepoint() error { return t.exec(savepoint, "beginning savepoint") }

func (t *groupTx) Release() error { return t.exec(releaseSave, "releasing savepoint") }

// Undo rolls back to the savepoint; what it undoes may be in the profile
// cache, so the cache is reset.
func (t *groupTx) Undo() error {
	t.profiles.reset()
	if err := t.exec(rollbackTo, "rolling back to savepoint"); err != nil {
		return err
	}
	return t.Release()
}

// Commit commits, then keeps statements for the texts the transaction
// prepared (see inWrite), before any caller goes on.
func (t *groupTx) Commit() error {
	defer t.prepareMissed()
	if err := t.writeTx.Commit(); err != nil {
		return mapErr(err)
	}
	return nil
}

// Rollback rolls back, then keeps statements as Commit does.
func (t *groupTx) Rollback() error {
	defer t.prepareMissed()
	return t.writeTx.Rollback()
}

func (t *groupTx) prepareMissed() { t.s.write.prepare(groupCtx, t.missed) }

func (t *groupTx) exec(stmt, doing string) error {
	if _, err := t.ExecContext(groupCtx, stmt); err != nil {
		return fmt.Errorf("%s: %w", doing, mapErr(err))
	}
	return nil
}
