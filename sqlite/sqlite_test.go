package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/sqlite"
	"github.com/hookflow/hookflow/storetest"
)

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hookflow.Store {
		return openStore(t, filepath.Join(t.TempDir(), "hookflow.db"))
	})
}

func TestOpenCreatesParentDirectory(t *testing.T) {
	openStore(t, filepath.Join(t.TempDir(), "a", "b", "hookflow.db"))
}

func TestReopenKeepsDataAndMigrationIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	s, err := sqlite.Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", ExternalID: "ext-1",
		Attributes: map[string]any{"plan": "gold"}}
	err = s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertUser(u) })
	if err != nil {
		t.Fatalf("InsertUser: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate on a migrated store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, path)
	got, err := s.GetUser(ctx, hookflow.UserRef{ExternalID: "ext-1"})
	if err != nil {
		t.Fatalf("GetUser after reopen: %v", err)
	}
	if got.ID != u.ID || got.Attributes["plan"] != "gold" {
		t.Errorf("after reopen got %+v, want %+v", got, u)
	}
}

// TestFillsDefaults covers what this backend fills in for empty fields.
func TestFillsDefaults(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "hookflow.db"))
	u := &hookflow.User{}
	d := &hookflow.Delivery{Origin: hookflow.OriginAPIMessage, UserID: "u"}
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		return tx.Enqueue([]*hookflow.Delivery{d})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if len(u.ID) != 24 || u.CreatedAt.IsZero() {
		t.Errorf("user ID %q created %v, want 24 hex characters and a time", u.ID, u.CreatedAt)
	}
	if len(d.ID) != 36 || d.State != hookflow.StatePending || d.CreatedAt.IsZero() {
		t.Errorf("delivery ID %q state %q created %v, want a UUID, pending, a time",
			d.ID, d.State, d.CreatedAt)
	}
	got, err := s.Claim(ctx, time.Now(), 10, time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != d.ID {
		t.Errorf("Claim = %v, %v; want the delivery with a zero due time", got, err)
	}
}

// TestReadsDoNotWaitForTheWriter holds a write transaction open and reads
// meanwhile: in WAL mode the read pool sees the last committed state.
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "hookflow.db"))
	u := &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", ExternalID: "ext-1"}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertUser(u) }); err != nil {
		t.Fatalf("InsertUser: %v", err)
	}

	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx hookflow.Tx) error {
			u2 := &hookflow.User{ID: "bbbbbbbbbbbbbbbbbbbbbbbb", ExternalID: "ext-2"}
			if err := tx.InsertUser(u2); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside

	// A generous deadline only turns a hang into a failure.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := s.GetUser(rctx, hookflow.UserRef{ExternalID: "ext-1"})
	if err != nil || got.ID != u.ID {
		t.Errorf("GetUser during a write = %v, %v; want %s", got, err, u.ID)
	}
	if _, err := s.GetUser(rctx, hookflow.UserRef{ExternalID: "ext-2"}); err == nil {
		t.Error("GetUser saw an uncommitted user")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// TestConcurrentWritersQueue runs writers at once: each waits its turn on
// the single write connection rather than failing with SQLITE_BUSY.
func TestConcurrentWritersQueue(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "hookflow.db"))
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Update(ctx, func(tx hookflow.Tx) error {
				return tx.InsertUser(&hookflow.User{ID: fmt.Sprintf("%024x", i)})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}

	n := 0
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		return tx.EachUser(func(*hookflow.User) error { n++; return nil })
	})
	if err != nil || n != writers {
		t.Errorf("stored %d users (%v), want %d", n, err, writers)
	}
}
