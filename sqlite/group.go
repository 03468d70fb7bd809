package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookflow/hookflow"
)

// Group commit. SQLite has one writer, and under load every /users/track
// request used to wait for the write connection, run its own transaction and
// pay its own commit (the WAL frames of every page it touched, written
// again by the next request). Update instead queues its call for one
// goroutine, the committer, which begins a transaction for whatever calls
// are waiting and gives each its turn inside a SAVEPOINT of its own: the
// call's function runs on the caller's goroutine, as before, while the
// committer waits. Then it commits once. A call that fails rolls back to its
// savepoint: the calls before and after it keep their writes. Every caller
// learns its outcome only after the shared commit, so "accepted" still
// means "stored, with its deliveries".
//
// The calls of a group run one after another on the one connection, so each
// sees the writes of those before it, exactly as if they had run in turn in
// transactions of their own.

// groupMax is the most Update calls one transaction carries. It bounds how
// long the first call of a large group waits for the commit; 64 requests of
// 75 events take a few tens of milliseconds.
const groupMax = 64

// groupBudget is how long a group goes on giving calls their turn before it
// commits, leaving the calls still waiting to the next group: the first
// call of a group waits for its commit at most this long, plus the length
// of the call that ran past it.
const groupBudget = 50 * time.Millisecond

// errClosed is what Update returns once Close has begun.
var errClosed = errors.New("sqlite store is closed")

// errAbandoned is the outcome of a call whose function did not return: it
// panicked, or its goroutine exited (t.Fatal in a test).
var errAbandoned = errors.New("update function did not return")

// call is one Update and its exchanges with the committer.
type call struct {
	ctx context.Context
	fn  func(hookflow.Tx) error

	turn     chan *writeTx // the committer: run fn in this transaction now
	returned chan error    // the caller: what fn returned
	done     chan struct{} // the committer: err is final

	err error
	ran bool // fn has had a turn
}

// Update runs fn in a write transaction, possibly shared with other Update
// calls (see the group commit note above); it returns once that transaction
// has committed, or failed. If fn returns an error, nothing it wrote is kept.
// fn must not call Update, or any other method of the store that writes.
//
// The statements fn runs through its Tx ignore ctx: cancelling one call must
// not interrupt a transaction that others share. ctx is checked before fn
// starts; once fn has started, the call completes.
func (s *Store) Update(ctx context.Context, fn func(hookflow.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := newCall(ctx, fn)
	select {
	case s.calls <- c:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return errClosed
	}
	return c.await()
}

// await runs c's function whenever the committer gives it a turn, and
// returns c's outcome once it is final.
func (c *call) await() error {
	for {
		select {
		case t := <-c.turn:
			c.take(t)
		case <-c.done:
			return c.err
		}
	}
}

// take runs c's function in t and hands its result to the committer, which
// waits for it. If the function panics or its goroutine exits, the
// committer is told so before the panic goes on up the caller's stack.
func (c *call) take(t *writeTx) {
	returned := false
	defer func() {
		if !returned {
			c.returned <- errAbandoned
		}
	}()
	err := c.fn(&tx{ctx: groupCtx, q: t})
	returned = true
	c.returned <- err
}

// run gives c a turn in t and returns what its function returned.
func (c *call) run(t *writeTx) error {
	c.ran = true
	c.turn <- t
	return <-c.returned
}

// commit is the committer: it runs groups of waiting calls until Close.
func (s *Store) commit() {
	defer close(s.committed)
	var next []*call // calls a group left for the next one
	for {
		if len(next) == 0 {
			select {
			case first := <-s.calls:
				next = []*call{first}
			case <-s.closing:
				return
			}
		}
		t, err := s.beginGroup()
		if err != nil {
			for _, c := range next {
				c.finish(err)
			}
			next = nil
			continue
		}
		// Gather after BEGIN: the calls that arrived while it waited for
		// the connection join this group.
		next = s.runGroup(t, s.gather(next))
	}
}

// groupCtx is the context of a group's transaction and of the statements
// its calls run. It is not any caller's: database/sql rolls a transaction
// back when its context ends, and the driver interrupts a statement whose
// context ends, which in SQLite can roll back the whole transaction.
var groupCtx = context.Background()

// beginGroup begins the transaction of a group.
func (s *Store) beginGroup() (*writeTx, error) {
	begun, err := s.write.BeginTx(groupCtx, nil)
	if err != nil {
		return nil, fmt.Errorf("beginning write: %w", mapErr(err))
	}
	return newWriteTx(begun, s.write, s.profiles), nil
}

// gather returns group and the calls waiting behind it, at most groupMax.
func (s *Store) gather(group []*call) []*call {
	for len(group) < groupMax {
		select {
		case c := <-s.calls:
			group = append(group, c)
		default:
			return group
		}
	}
	return group
}

// runGroup runs the calls of group in t, each in a savepoint, commits, and
// tells each caller its outcome. Once the group has run for groupBudget it
// commits what has run and returns the calls left, for the next group.
func (s *Store) runGroup(t *writeTx, group []*call) (left []*call) {
	// Once the transaction has ended, and before any caller goes on, keep
	// statements for the texts it prepared (see inWrite).
	ended := func() { s.write.prepare(groupCtx, t.missed) }

	start := time.Now()
	for i, c := range group {
		if i > 0 && time.Since(start) > groupBudget {
			group, left = group[:i], group[i:]
			break
		}
		if err := s.runSaved(t, c); err != nil {
			// The transaction is unusable (SQLite rolled it back, or a
			// savepoint statement failed): no call of the group keeps
			// its writes, so each gets a transaction of its own.
			s.logger.Warn("group transaction failed", "calls", len(group), "err", err)
			if rerr := t.Rollback(); rerr != nil {
				s.logger.Debug("rollback after group failure", "err", rerr)
			}
			ended()
			s.runAlone(group)
			return nil
		}
	}
	if err := t.Commit(); err != nil {
		s.logger.Warn("group commit failed", "calls", len(group), "err", mapErr(err))
		ended()
		s.runAlone(group)
		return left
	}
	ended()
	for _, c := range group {
		c.finish(c.err)
	}
	return left
}

// Savepoint statements. One name serves every call: each savepoint is
// released before the next call begins.
const (
	savepoint   = `SAVEPOINT update_call`
	rollbackTo  = `ROLLBACK TO update_call`
	releaseSave = `RELEASE update_call`
)

// runSaved runs c inside a savepoint of t, recording its outcome in c. It
// returns an error only when t itself can no longer be used.
func (s *Store) runSaved(t *writeTx, c *call) error {
	ctx := groupCtx
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return nil
	}
	if _, err := t.ExecContext(ctx, savepoint); err != nil {
		return fmt.Errorf("beginning savepoint: %w", mapErr(err))
	}
	if c.err = c.run(t); c.err == nil {
		if _, err := t.ExecContext(ctx, releaseSave); err != nil {
			return fmt.Errorf("releasing savepoint: %w", mapErr(err))
		}
		return nil
	}
	// What the call undoes may be in the profile cache.
	t.profiles.reset()
	if _, err := t.ExecContext(ctx, rollbackTo); err != nil {
		return fmt.Errorf("rolling back to savepoint: %w", mapErr(err))
	}
	if _, err := t.ExecContext(ctx, releaseSave); err != nil {
		return fmt.Errorf("releasing savepoint: %w", mapErr(err))
	}
	return nil
}

// runAlone settles the calls of a group whose shared transaction failed. A
// call that failed on its own keeps its error, as it would have alone; every
// other call runs again in a transaction of its own.
func (s *Store) runAlone(group []*call) {
	for _, c := range group {
		if c.ran && c.err != nil {
			c.finish(c.err)
			continue
		}
		s.runOne(c)
	}
}

// runOne runs c alone in a transaction of its own.
func (s *Store) runOne(c *call) {
	if err := c.ctx.Err(); err != nil {
		c.finish(err)
		return
	}
	c.finish(s.inWrite(groupCtx, c.run))
}

func newCall(ctx context.Context, fn func(hookflow.Tx) error) *call {
	return &call{ctx: ctx, fn: fn, turn: make(chan *writeTx),
		returned: make(chan error), done: make(chan struct{})}
}

// finish reports err to c's caller.
func (c *call) finish(err error) {
	c.err = err
	close(c.done)
}
