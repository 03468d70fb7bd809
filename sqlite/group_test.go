package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// insertUser returns an Update function that stores user id.
func insertUser(id string) func(hookflow.Tx) error {
	return func(tx hookflow.Tx) error {
		return tx.InsertUser(&hookflow.User{ID: id, ExternalID: "ext-" + id})
	}
}

// userIDs returns the ids of the stored users, in order.
func userIDs(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), `SELECT id FROM users ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// runAsGroup runs fns one after another in one group transaction, each in
// its savepoint as the committer runs them (package txgroup tests the
// committer itself), commits, and returns the error each call returned.
func runAsGroup(t *testing.T, s *Store, fns ...func(hookflow.Tx) error) []error {
	t.Helper()
	gt, err := s.beginGroup()
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, len(fns))
	for i, fn := range fns {
		if err := gt.Savepoint(); err != nil {
			t.Fatal(err)
		}
		if errs[i] = fn(&tx{ctx: groupCtx, q: gt.writeTx}); errs[i] == nil {
			err = gt.Release()
		} else {
			err = gt.Undo()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := gt.Commit(); err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestGroupFailureRollsBackOnlyThatCall(t *testing.T) {
	s := openInternal(t)
	refused := errors.New("refused")
	errs := runAsGroup(t, s,
		insertUser("a"),
		func(tx hookflow.Tx) error {
			if err := tx.InsertUser(&hookflow.User{ID: "b"}); err != nil {
				return err
			}
			return refused
		},
		insertUser("c"),
	)

	if errs[0] != nil || !errors.Is(errs[1], refused) || errs[2] != nil {
		t.Fatalf("errors = %v, want nil, refused, nil", errs)
	}
	if got, want := fmt.Sprint(userIDs(t, s)), "[a c]"; got != want {
		t.Errorf("users = %s, want %s", got, want)
	}
}

func TestGroupCallsSeeEarlierCallsWrites(t *testing.T) {
	s := openInternal(t)
	var seen *hookflow.User
	errs := runAsGroup(t, s,
		insertUser("a"),
		func(tx hookflow.Tx) error {
			var err error
			seen, err = tx.FindUser(hookflow.UserRef{ExternalID: "ext-a"})
			return err
		},
		// A conflict with the first call's user fails this call alone.
		insertUser("a"),
	)

	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], hookflow.ErrConflict) {
		t.Fatalf("errors = %v, want nil, nil, a conflict", errs)
	}
	if seen == nil || seen.ID != "a" {
		t.Errorf("second call found %+v, want user a", seen)
	}
	if got, want := fmt.Sprint(userIDs(t, s)), "[a]"; got != want {
		t.Errorf("users = %s, want %s", got, want)
	}
}

// A call that ends the shared transaction (here by rolling it back behind
// the store's back) breaks the savepoint that follows; the committer then
// runs each call alone (package txgroup), so this one fails on its own and
// the store goes on.
func TestBrokenGroupTransaction(t *testing.T) {
	s := openInternal(t)
	gt, err := s.beginGroup()
	if err != nil {
		t.Fatal(err)
	}
	if err := gt.Savepoint(); err != nil {
		t.Fatal(err)
	}
	if _, err := gt.Tx.ExecContext(groupCtx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if err := gt.Release(); err == nil {
		t.Error("releasing a savepoint of a rolled-back transaction succeeded")
	}
	gt.Rollback()

	err = s.Update(context.Background(), func(htx hookflow.Tx) error {
		if err := htx.InsertUser(&hookflow.User{ID: "b"}); err != nil {
			return err
		}
		_, err := htx.(*tx).q.Tx.ExecContext(groupCtx, `ROLLBACK`)
		return err
	})
	if err == nil {
		t.Error("Update that rolled back its transaction succeeded")
	}
	if err := s.Update(context.Background(), insertUser("c")); err != nil {
		t.Fatalf("Update after a broken one: %v", err)
	}
	if got, want := fmt.Sprint(userIDs(t, s)), "[c]"; got != want {
		t.Errorf("users = %s, want %s", got, want)
	}
}

func TestUpdatePanicReachesTheCallerAndSparesOthers(t *testing.T) {
	s := openInternal(t)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want boom", p)
			}
		}()
		s.Update(context.Background(), func(tx hookflow.Tx) error {
			if err := tx.InsertUser(&hookflow.User{ID: "p"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()

	if err := s.Update(context.Background(), insertUser("a")); err != nil {
		t.Fatalf("Update after a panic: %v", err)
	}
	if got, want := fmt.Sprint(userIDs(t, s)), "[a]"; got != want {
		t.Errorf("users = %s, want %s", got, want)
	}
}

// A function that ends its goroutine (t.Fatal does) fails its call alone.
func TestUpdateGoexitSparesOthers(t *testing.T) {
	s := openInternal(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Update(context.Background(), func(tx hookflow.Tx) error {
			if err := tx.InsertUser(&hookflow.User{ID: "x"}); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		})
	}()
	<-done

	if err := s.Update(context.Background(), insertUser("a")); err != nil {
		t.Fatalf("Update after a Goexit: %v", err)
	}
	if got, want := fmt.Sprint(userIDs(t, s)), "[a]"; got != want {
		t.Errorf("users = %s, want %s", got, want)
	}
}

func TestUpdateCancelledBeforeItRuns(t *testing.T) {
	s := openInternal(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Update(ctx, insertUser("a"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update = %v, want context.Canceled", err)
	}

	if err := s.Update(context.Background(), insertUser("b")); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(userIDs(t, s)), "[b]"; got != want {
		t.Errorf("users = %s, want %s", got, want)
	}
}

// Close waits for the committer, and an Update after it is refused.
func TestUpdateAfterClose(t *testing.T) {
	s := openInternal(t)
	if err := s.Update(context.Background(), insertUser("a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), insertUser("late")); !errors.Is(err, errClosed) {
		t.Errorf("Update after Close = %v, want errClosed", err)
	}
}

// A multi-row statement that fails part way (OR FAIL, batch.go) keeps the
// rows it wrote before the failure only until its call rolls back to its
// savepoint: nothing of it survives, and the calls around it keep theirs.
func TestFailedBatchLeavesNoRows(t *testing.T) {
	s := openInternal(t)
	now := time.Now()
	d := func(id string) *hookflow.Delivery {
		return &hookflow.Delivery{ID: id, Origin: hookflow.OriginCampaign, CampaignID: "c1",
			UserID: "a", DueAt: now}
	}
	errs := runAsGroup(t, s,
		insertUser("a"),
		func(tx hookflow.Tx) error {
			return tx.Enqueue([]*hookflow.Delivery{d("d1"), d("d2"), d("d1")})
		},
		insertUser("c"),
	)

	if errs[0] != nil || !errors.Is(errs[1], hookflow.ErrConflict) || errs[2] != nil {
		t.Fatalf("errors = %v, want nil, a conflict, nil", errs)
	}
	var n int
	if err := s.read.QueryRow(`SELECT
		(SELECT COUNT(*) FROM deliveries) + (SELECT COUNT(*) FROM delivery_content)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows of deliveries and their content kept, want 0", n)
	}
	if got, want := fmt.Sprint(userIDs(t, s)), "[a c]"; got != want {
		t.Errorf("users = %s, want %s", got, want)
	}
}
