// Package txgroup commits concurrent writes together: group commit.
//
// Under load every /users/track request used to run a transaction of its
// own. On SQLite, with its one writer, each waited for the connection and
// paid its own commit, writing again the pages the one before had written.
// On PostgreSQL, requests naming the same users waited for one another's
// row locks, connections held, and lost races to deadlocks.
//
// A Group instead queues each call for one goroutine, the committer, which
// begins a transaction for whatever calls are waiting and gives each its
// turn inside a savepoint of its own. The call's function runs on the
// caller's goroutine, as it would without the group, while the committer
// waits; then the committer commits once. A call that fails rolls back to
// its savepoint: the calls before and after it keep their writes. Every
// caller learns its outcome only after the shared commit, so a call that
// returns nil is stored.
//
// A transaction may keep no savepoints (PostgreSQL's does not, see
// ErrCannotUndo): a call that fails then rolls back the whole group, and
// the other calls run again, each in a transaction of its own. So does a
// group whose commit failed, unless Options.Uncommitted says the commit
// may have been kept: then every call gets the commit's error, and none
// runs twice.
//
// The calls of a group run one after another in one transaction, so each
// sees the writes of those before it, exactly as if they had run in turn
// in transactions of their own; and calls in one group never wait for one
// another's locks.
package txgroup

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Tx is the transaction the calls of a group share. One savepoint at a
// time is open: each is released or undone before the next call begins.
type Tx interface {
	// Savepoint opens a savepoint for the next call.
	Savepoint() error
	// Release keeps what the call wrote and closes its savepoint.
	Release() error
	// Undo rolls back what the call wrote and closes its savepoint. A
	// transaction that keeps no savepoints (Savepoint and Release do
	// nothing) returns ErrCannotUndo: the group is then rolled back and
	// its other calls run alone.
	Undo() error
	Commit() error
	Rollback() error
}

// Options configure a Group.
type Options[T Tx] struct {
	// Begin begins the transaction of a group.
	Begin func() (T, error)
	// Alone runs one call in a transaction of its own, committing it if
	// run returns nil. A group whose transaction failed (a commit that
	// failed, a savepoint statement that failed) settles its calls so.
	Alone func(run func(T) error) error
	// Uncommitted reports whether a failed Commit surely kept nothing, so
	// that the group's calls may run again alone. When it says no (the
	// connection was lost with the commit on its way), every call of the
	// group gets the commit's error, as a transaction of its own would
	// have: running them again could store them twice. Default: every
	// failed commit kept nothing.
	Uncommitted func(error) bool
	// Max is the most calls one transaction carries; it bounds how long
	// the first call of a large group waits for the commit. Default 64.
	Max int
	// Budget is how long a group goes on giving calls their turn before it
	// commits, leaving the calls still waiting to the next group: the
	// first call of a group waits for its commit at most this long, plus
	// the length of the call that ran past it. Default 50 ms.
	Budget time.Duration
	// Logger receives the failures of group transactions. Default none.
	Logger *slog.Logger
}

// ErrClosed is what Do returns once Close has begun.
var ErrClosed = errors.New("group commit is closed")

// ErrCannotUndo is what Undo returns when the transaction keeps no
// savepoints.
var ErrCannotUndo = errors.New("transaction keeps no savepoints")

// errAbandoned is the outcome of a call whose function did not return: it
// panicked, or its goroutine exited (t.Fatal in a test).
var errAbandoned = errors.New("update function did not return")

// Group runs calls in shared transactions; see the package doc.
type Group[T Tx] struct {
	opts      Options[T]
	calls     chan *call[T]
	closing   chan struct{}
	closeOnce sync.Once
	stopped   chan struct{}
}

// Start starts the committer of a new Group.
func Start[T Tx](opts Options[T]) *Group[T] {
	if opts.Max <= 0 {
		opts.Max = 64
	}
	if opts.Budget <= 0 {
		opts.Budget = 50 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Group[T]{opts: opts, calls: make(chan *call[T]),
		closing: make(chan struct{}), stopped: make(chan struct{})}
	go g.commit()
	return g
}

// Do runs fn in a transaction, possibly shared with other calls; it
// returns once that transaction has committed, or failed. If fn returns an
// error, nothing it wrote is kept. fn must not call Do.
//
// ctx is checked before fn starts; once fn has started, the call completes.
// fn's statements must not run under ctx: a statement interrupted by one
// caller's context can roll back a transaction that others share.
func (g *Group[T]) Do(ctx context.Context, fn func(T) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := newCall(ctx, fn)
	select {
	case g.calls <- c:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.closing:
		return ErrClosed
	}
	return c.await()
}

// Close waits for the group being written, and for the calls already
// accepted, and refuses calls that arrive after it.
func (g *Group[T]) Close() {
	g.closeOnce.Do(func() { close(g.closing) })
	<-g.stopped
}

// commit is the committer: it runs groups of waiting calls until Close.
func (g *Group[T]) commit() {
	defer close(g.stopped)
	var next []*call[T] // calls a group left for the next one
	for {
		if len(next) == 0 {
			select {
			case first := <-g.calls:
				next = []*call[T]{first}
			case <-g.closing:
				return
			}
		}
		t, err := g.opts.Begin()
		if err != nil {
			for _, c := range next {
				c.finish(err)
			}
			next = nil
			continue
		}
		// Gather after beginning: the calls that arrived while Begin
		// waited for a connection join this group.
		next = g.run(t, g.gather(next))
	}
}

// gather returns group and the calls waiting behind it, at most Max.
func (g *Group[T]) gather(group []*call[T]) []*call[T] {
	for len(group) < g.opts.Max {
		select {
		case c := <-g.calls:
			group = append(group, c)
		default:
			return group
		}
	}
	return group
}

// run runs the calls of group in t, each in a savepoint, commits, and
// tells each caller its outcome. Once the group has run for Budget it
// commits what has run and returns the calls left, for the next group.
func (g *Group[T]) run(t T, group []*call[T]) (left []*call[T]) {
	start := time.Now()
	for i, c := range group {
		if i > 0 && time.Since(start) > g.opts.Budget {
			group, left = group[:i], group[i:]
			break
		}
		if err := g.runSaved(t, c); err != nil {
			// The transaction is unusable (the database rolled it back,
			// a savepoint statement failed, or it keeps no savepoints
			// and a call failed): no call of the group keeps its
			// writes, so each gets a transaction of its own.
			if errors.Is(err, ErrCannotUndo) {
				g.opts.Logger.Debug("call failed in a group; the others run alone", "calls", len(group))
			} else {
				g.opts.Logger.Warn("group transaction failed", "calls", len(group), "err", err)
			}
			if rerr := t.Rollback(); rerr != nil {
				g.opts.Logger.Debug("rollback after group failure", "err", rerr)
			}
			g.runAlone(group)
			return left
		}
	}
	if err := t.Commit(); err != nil {
		g.opts.Logger.Warn("group commit failed", "calls", len(group), "err", err)
		if g.opts.Uncommitted != nil && !g.opts.Uncommitted(err) {
			for _, c := range group {
				if c.err == nil {
					c.err = err
				}
				c.finish(c.err)
			}
			return left
		}
		g.runAlone(group)
		return left
	}
	for _, c := range group {
		c.finish(c.err)
	}
	return left
}

// runSaved runs c inside a savepoint of t, recording its outcome in c. It
// returns an error only when t itself can no longer be used.
func (g *Group[T]) runSaved(t T, c *call[T]) error {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return nil
	}
	if err := t.Savepoint(); err != nil {
		return err
	}
	if c.err = c.run(t); c.err == nil {
		return t.Release()
	}
	return t.Undo()
}

// runAlone settles the calls of a group whose shared transaction failed. A
// call that failed on its own keeps its error, as it would have alone;
// every other call runs again in a transaction of its own.
func (g *Group[T]) runAlone(group []*call[T]) {
	for _, c := range group {
		if c.ran && c.err != nil {
			c.finish(c.err)
			continue
		}
		if err := c.ctx.Err(); err != nil {
			c.finish(err)
			continue
		}
		c.finish(g.opts.Alone(c.run))
	}
}

// call is one Do and its exchanges with the committer.
type call[T Tx] struct {
	ctx context.Context
	fn  func(T) error

	turn     chan T        // the committer: run fn in this transaction now
	returned chan error    // the caller: what fn returned
	done     chan struct{} // the committer: err is final

	err error
	ran bool // fn has had a turn
}

func newCall[T Tx](ctx context.Context, fn func(T) error) *call[T] {
	return &call[T]{ctx: ctx, fn: fn, turn: make(chan T),
		returned: make(chan error), done: make(chan struct{})}
}

// await runs c's function whenever the committer gives it a turn, and
// returns c's outcome once it is final.
func (c *call[T]) await() error {
	for {
		select {
		case t := <-c.turn:
			c.take(t)
		case <-c.done:
			return c.err
		}
	}
}

// take runs c's function in t and hands its result to the committer,
// which waits for it. If the function panics or its goroutine exits, the
// committer is told so before the panic goes on up the caller's stack.
func (c *call[T]) take(t T) {
	returned := false
	defer func() {
		if !returned {
			c.returned <- errAbandoned
		}
	}()
	err := c.fn(t)
	returned = true
	c.returned <- err
}

// run gives c a turn in t and returns what its function returned.
func (c *call[T]) run(t T) error {
	c.ran = true
	c.turn <- t
	return <-c.returned
}

// finish reports err to c's caller.
func (c *call[T]) finish(err error) {
	c.err = err
	close(c.done)
}
