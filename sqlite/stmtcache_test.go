package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hookflow/hookflow"
)

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookflow.db"), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestWriteStatementKeptAfterTransaction(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)
	const query = `SELECT COUNT(*) FROM users WHERE external_id = ?`

	count := func(tx *writeTx) int {
		var n int
		if err := tx.QueryRowContext(ctx, query, "nobody").Scan(&n); err != nil {
			t.Fatalf("query: %v", err)
		}
		return n
	}

	err := s.inWrite(ctx, func(tx *writeTx) error {
		if s.write.cached(query) != nil {
			t.Errorf("statement kept before its first transaction ended")
		}
		count(tx)
		first := tx.stmts[query]
		count(tx)
		if tx.stmts[query] != first {
			t.Errorf("second run in one transaction prepared again")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("first Update: %v", err)
	}
	kept := s.write.cached(query)
	if kept == nil {
		t.Fatalf("statement not kept after the transaction")
	}

	err = s.inWrite(ctx, func(tx *writeTx) error {
		if got := count(tx); got != 0 {
			t.Errorf("count = %d, want 0", got)
		}
		if len(tx.missed) != 0 {
			t.Errorf("missed = %q, want none: the kept statement should serve", tx.missed)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("second Update: %v", err)
	}
	if s.write.cached(query) != kept {
		t.Errorf("kept statement replaced")
	}
}

func TestReadStatementKeptAndReused(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)
	ref := hookflow.UserRef{ExternalID: "nobody"}

	for i := range 3 {
		if _, err := s.GetUser(ctx, ref); !errors.Is(err, hookflow.ErrNotFound) {
			t.Fatalf("GetUser %d: err = %v, want ErrNotFound", i, err)
		}
	}
	if n := len(s.read.stmts); n != 1 {
		t.Errorf("read pool keeps %d statements after one query shape, want 1", n)
	}
}

func TestBadQueryReportsErrorAndIsNotKept(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)
	const bad = `SELECT nonsense FROM nowhere`

	if _, err := s.read.QueryContext(ctx, bad); err == nil {
		t.Errorf("read pool: no error for a bad query")
	}
	if err := s.read.QueryRowContext(ctx, bad).Scan(new(int)); err == nil {
		t.Errorf("read pool QueryRow: no error for a bad query")
	}
	err := s.inWrite(ctx, func(tx *writeTx) error {
		_, err := tx.ExecContext(ctx, bad)
		return err
	})
	if err == nil {
		t.Errorf("write: no error for a bad query")
	}
	if s.read.cached(bad) != nil || s.write.cached(bad) != nil {
		t.Errorf("bad query kept")
	}
}

func TestBatchTextsStayFew(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)
	u := &hookflow.User{ExternalID: "u1"}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertUser(u) }); err != nil {
		t.Fatalf("InsertUser: %v", err)
	}
	before := len(s.write.stmts)

	// Every size from 1 to three full chunks plus one: the texts kept are
	// one per chunk size at most.
	for n := 1; n <= 3*batchRows+1; n++ {
		evs := make([]*hookflow.Event, n)
		for i := range evs {
			evs[i] = &hookflow.Event{UserID: u.ID, Name: "e"}
		}
		err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertEvents(evs) })
		if err != nil {
			t.Fatalf("InsertEvents(%d): %v", n, err)
		}
	}
	if n := len(s.write.stmts) - before; n != batchRows {
		t.Errorf("InsertEvents left %d statements kept, want %d: one per chunk size", n, batchRows)
	}
}

func TestCloseClosesKeptStatements(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hookflow.db"), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.GetUser(ctx, hookflow.UserRef{ExternalID: "x"}); !errors.Is(err, hookflow.ErrNotFound) {
		t.Fatalf("GetUser: %v", err)
	}
	var kept *sql.Stmt
	for _, st := range s.read.stmts {
		kept = st
	}
	if kept == nil {
		t.Fatalf("no statement kept after a read")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if len(s.read.stmts) != 0 || len(s.write.stmts) != 0 {
		t.Errorf("statements still kept after Close")
	}
	if _, err := kept.QueryContext(ctx, "x"); err == nil {
		t.Errorf("kept statement still usable after Close")
	}
}

func TestFullPoolRunsUnprepared(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)

	for i := range maxKept + 10 {
		var got int
		if err := s.read.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&got); err != nil {
			t.Fatalf("SELECT %d: %v", i, err)
		}
		if got != i {
			t.Fatalf("SELECT %d = %d", i, got)
		}
	}
	if n := len(s.read.stmts); n != maxKept {
		t.Errorf("read pool keeps %d statements, want %d", n, maxKept)
	}
	err := s.inWrite(ctx, func(tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, "x")
		return err
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
}
