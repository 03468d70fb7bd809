package txgroup

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// memDB is a database of keys in memory, and memTx its transaction. They
// stand in for SQLite and PostgreSQL here because what this package
// decides (which calls share a transaction, what a failure undoes, who
// runs again) is the same over any Tx; the stores' tests run the group
// over their real transactions.
type memDB struct {
	mu      sync.Mutex
	keys    map[string]bool
	begun   int  // transactions begun
	failing bool // every commit fails
	lost    bool // every commit is kept, but its reply lost
}

type memTx struct {
	db     *memDB
	keys   map[string]bool // the transaction's view
	saved  map[string]bool // the view at the open savepoint
	broken bool            // ended behind the group's back
}

func newMemDB() *memDB { return &memDB{keys: map[string]bool{}} }

func (db *memDB) begin() (*memTx, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.begun++
	return &memTx{db: db, keys: maps.Clone(db.keys)}, nil
}

// alone is Options.Alone over db.
func (db *memDB) alone(run func(*memTx) error) error {
	t, _ := db.begin()
	if err := run(t); err != nil {
		return err
	}
	return t.Commit()
}

func (db *memDB) stored() string {
	db.mu.Lock()
	defer db.mu.Unlock()
	return fmt.Sprint(slices.Sorted(maps.Keys(db.keys)))
}

var (
	errBroken = errors.New("transaction is broken")
	errLost   = errors.New("connection lost during commit")
)

func (t *memTx) Savepoint() error {
	if t.broken {
		return errBroken
	}
	t.saved = maps.Clone(t.keys)
	return nil
}

func (t *memTx) Release() error {
	if t.broken {
		return errBroken
	}
	t.saved = nil
	return nil
}

func (t *memTx) Undo() error {
	if t.broken {
		return errBroken
	}
	t.keys, t.saved = t.saved, nil
	return nil
}

func (t *memTx) Commit() error {
	t.db.mu.Lock()
	defer t.db.mu.Unlock()
	if t.broken || t.db.failing {
		return errBroken
	}
	t.db.keys = t.keys
	if t.db.lost {
		return errLost
	}
	return nil
}

func (t *memTx) Rollback() error { return nil }

// put returns a call's function that writes key.
func put(key string) func(*memTx) error {
	return func(t *memTx) error {
		t.keys[key] = true
		return nil
	}
}

// newTestGroup starts a group over a new memDB, closed when t ends.
func newTestGroup(t *testing.T) (*memDB, *Group[*memTx]) {
	db := newMemDB()
	g := Start(Options[*memTx]{Begin: db.begin, Alone: db.alone})
	t.Cleanup(g.Close)
	return db, g
}

// wantStored fails t unless db holds exactly the keys want lists.
func wantStored(t *testing.T, db *memDB, want string) {
	t.Helper()
	if got := db.stored(); got != want {
		t.Errorf("stored %s, want %s", got, want)
	}
}

// runAsGroup runs fns as one group of g, in one transaction, each on a
// goroutine of its own as callers of Do, and returns the error each call
// reported.
func runAsGroup(t *testing.T, g *Group[*memTx], db *memDB, fns ...func(*memTx) error) []error {
	t.Helper()
	tx, _ := db.begin()
	var group []*call[*memTx]
	errs := make([]error, len(fns))
	var callers sync.WaitGroup
	for i, fn := range fns {
		c := newCall(context.Background(), fn)
		group = append(group, c)
		callers.Go(func() { errs[i] = c.await() })
	}
	if left := g.run(tx, group); len(left) > 0 {
		t.Fatalf("the group left %d calls", len(left))
	}
	callers.Wait()
	return errs
}

func TestFailureRollsBackOnlyThatCall(t *testing.T) {
	db, g := newTestGroup(t)
	refused := errors.New("refused")
	errs := runAsGroup(t, g, db,
		put("a"),
		func(t *memTx) error {
			t.keys["b"] = true
			return refused
		},
		put("c"),
	)

	if errs[0] != nil || !errors.Is(errs[1], refused) || errs[2] != nil {
		t.Fatalf("errors = %v, want nil, refused, nil", errs)
	}
	wantStored(t, db, "[a c]")
	if db.begun != 1 {
		t.Errorf("%d transactions, want the group's 1", db.begun)
	}
}

func TestCallsSeeEarlierCallsWrites(t *testing.T) {
	db, g := newTestGroup(t)
	var seen bool
	errs := runAsGroup(t, g, db, put("a"), func(t *memTx) error {
		seen = t.keys["a"]
		return nil
	})

	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors = %v", errs)
	}
	if !seen {
		t.Error("the second call did not see the first call's write")
	}
}

// A call that breaks the shared transaction fails alone; the others are
// run again, each in its own transaction, and stored once.
func TestBrokenGroupRunsTheOthersAlone(t *testing.T) {
	db, g := newTestGroup(t)
	runs := 0
	errs := runAsGroup(t, g, db,
		put("a"),
		func(t *memTx) error {
			runs++
			t.keys["b"] = true
			t.broken = true
			return nil
		},
		put("c"),
	)

	if errs[0] != nil || !errors.Is(errs[1], errBroken) || errs[2] != nil {
		t.Fatalf("errors = %v, want nil, broken, nil", errs)
	}
	if runs != 2 {
		t.Errorf("the breaking call ran %d times, want 2 (in the group, then alone)", runs)
	}
	wantStored(t, db, "[a c]")
}

// A failed commit loses no call: each runs again alone, and each outcome
// is that run's.
func TestFailedCommitRunsEachCallAlone(t *testing.T) {
	db, g := newTestGroup(t)
	db.failing = true
	errs := runAsGroup(t, g, db, put("a"), put("b"))

	if !errors.Is(errs[0], errBroken) || !errors.Is(errs[1], errBroken) {
		t.Fatalf("errors = %v, want the failed commits", errs)
	}
	if db.begun != 3 {
		t.Errorf("%d transactions, want 3 (the group's, then one a call)", db.begun)
	}
}

// A commit whose reply was lost may have kept the group's writes:
// Uncommitted says so, and each call gets the commit's error instead of
// running again, which would store it twice.
func TestLostCommitIsNotRunAgain(t *testing.T) {
	db := newMemDB()
	g := Start(Options[*memTx]{Begin: db.begin, Alone: db.alone,
		Uncommitted: func(err error) bool { return !errors.Is(err, errLost) }})
	t.Cleanup(g.Close)
	db.lost = true
	runs := 0
	errs := runAsGroup(t, g, db, func(t *memTx) error {
		runs++
		t.keys[fmt.Sprint("run", runs)] = true
		return nil
	}, put("b"))

	if !errors.Is(errs[0], errLost) || !errors.Is(errs[1], errLost) {
		t.Fatalf("errors = %v, want the lost commit's", errs)
	}
	if runs != 1 || db.begun != 1 {
		t.Errorf("ran %d times in %d transactions, want 1 and 1", runs, db.begun)
	}
	wantStored(t, db, "[b run1]")
}

// A function that does not return, because it panics (the panic goes on
// up its caller's stack) or ends its goroutine (t.Fatal does), fails its
// call alone: what it wrote is not kept, and the group goes on.
func TestFunctionThatDoesNotReturnSparesOthers(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func()
	}{
		{"panic", func() { panic("boom") }},
		{"Goexit", runtime.Goexit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, g := newTestGroup(t)
			recovered := make(chan any, 1)
			go func() {
				defer func() { recovered <- recover() }()
				g.Do(context.Background(), func(t *memTx) error {
					t.keys["x"] = true
					tc.end()
					return nil
				})
			}()
			if p := <-recovered; tc.name == "panic" && p != "boom" {
				t.Errorf("recovered %v, want boom", p)
			}

			if err := g.Do(context.Background(), put("a")); err != nil {
				t.Fatalf("Do after the call: %v", err)
			}
			wantStored(t, db, "[a]")
		})
	}
}

func TestCancelledCallDoesNotRun(t *testing.T) {
	db, g := newTestGroup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Do(ctx, put("a")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	wantStored(t, db, "[]")
}

// Many concurrent callers, some failing: each success is stored, each
// failure is not, and Close waits for them all.
func TestConcurrentCalls(t *testing.T) {
	db, g := newTestGroup(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = g.Do(context.Background(), func(t *memTx) error {
				t.keys[fmt.Sprintf("k%03d", i)] = true
				if i%7 == 0 {
					return fmt.Errorf("refused %d", i)
				}
				return nil
			})
		})
	}
	wg.Wait()

	var want []string
	for i, err := range errs {
		if (i%7 == 0) != (err != nil) {
			t.Errorf("call %d: err = %v", i, err)
		}
		if i%7 != 0 {
			want = append(want, fmt.Sprintf("k%03d", i))
		}
	}
	wantStored(t, db, fmt.Sprint(want))

	g.Close()
	if err := g.Do(context.Background(), put("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close = %v, want ErrClosed", err)
	}
}

// A group that has run for its budget commits what ran and leaves the
// other calls to the next group, so the first caller is not kept waiting.
func TestGroupCommitsOnceItsBudgetIsSpent(t *testing.T) {
	db := newMemDB()
	const budget = 20 * time.Millisecond
	g := Start(Options[*memTx]{Begin: db.begin, Alone: db.alone, Budget: budget})
	defer g.Close()
	slow := func(t *memTx) error {
		time.Sleep(budget + 10*time.Millisecond)
		t.keys["slow"] = true
		return nil
	}
	var group []*call[*memTx]
	errs := make([]error, 3)
	var callers sync.WaitGroup
	for i, fn := range []func(*memTx) error{slow, put("a"), put("b")} {
		c := newCall(context.Background(), fn)
		group = append(group, c)
		callers.Go(func() { errs[i] = c.await() })
	}

	tx, _ := db.begin()
	left := g.run(tx, group)
	<-group[0].done
	if len(left) != 2 || left[0] != group[1] || left[1] != group[2] {
		t.Fatalf("left %d calls, want the last 2", len(left))
	}
	if got, want := db.stored(), "[slow]"; got != want {
		t.Errorf("after the first group: stored %s, want %s", got, want)
	}

	tx, _ = db.begin()
	if left := g.run(tx, left); len(left) != 0 {
		t.Errorf("second group left %d calls", len(left))
	}
	callers.Wait()
	if fmt.Sprint(errs) != "[<nil> <nil> <nil>]" {
		t.Errorf("errors = %v", errs)
	}
	wantStored(t, db, "[a b slow]")
}
