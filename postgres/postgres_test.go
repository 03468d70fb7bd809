package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/postgres"
	"github.com/hookflow/hookflow/storetest"
)

// serverURL is the test server: HOOKFLOW_TEST_DATABASE_URL, or the local
// trust-authenticated database "test".
func serverURL() string {
	if u := os.Getenv("HOOKFLOW_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://127.0.0.1:5432/test"
}

var (
	reachOnce sync.Once
	reachErr  error
)

// requireServer skips the test when no server answers, unless
// HOOKFLOW_REQUIRE_POSTGRES=1 (CI) makes that a failure.
func requireServer(t testing.TB) {
	t.Helper()
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL())
		if err != nil {
			reachErr = err
			return
		}
		reachErr = conn.Ping(ctx)
		conn.Close(ctx)
	})
	if reachErr == nil {
		return
	}
	if os.Getenv("HOOKFLOW_REQUIRE_POSTGRES") == "1" {
		t.Fatalf("postgres at %s: %v", serverURL(), reachErr)
	}
	t.Skipf("postgres at %s not reachable: %v", serverURL(), reachErr)
}

// schemaURL returns the server URL with a search_path naming a fresh schema,
// which Open creates and the test's cleanup drops.
func schemaURL(t testing.TB) string {
	t.Helper()
	requireServer(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "hf_test_" + hex.EncodeToString(b[:])

	u, err := url.Parse(serverURL())
	if err != nil {
		t.Fatalf("parsing %s: %v", serverURL(), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, serverURL())
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return u.String()
}

func openStore(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hookflow.Store {
		return openStore(t, schemaURL(t))
	})
}

func TestReopenKeepsDataAndMigrationIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := schemaURL(t)
	s, err := postgres.Open(ctx, url, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", ExternalID: "ext-1",
		Attributes: map[string]any{"plan": "gold"}}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertUser(u) }); err != nil {
		t.Fatalf("InsertUser: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate on a migrated store: %v", err)
	}
	s.Close()

	s = openStore(t, url)
	got, err := s.GetUser(ctx, hookflow.UserRef{ExternalID: "ext-1"})
	if err != nil {
		t.Fatalf("GetUser after reopen: %v", err)
	}
	if got.ID != u.ID || got.Attributes["plan"] != "gold" {
		t.Errorf("after reopen got %+v, want %+v", got, u)
	}
}

func TestOpenRefusesBadURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://[::1", nil)
	if err == nil {
		t.Fatal("Open(bad url) succeeded")
	}
}

// TestFillsDefaults covers what this backend fills in for empty fields.
func TestFillsDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, schemaURL(t))
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

// TestSchemasAreIsolated opens two stores on two schemas of one database:
// neither sees the other's rows.
func TestSchemasAreIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := openStore(t, schemaURL(t)), openStore(t, schemaURL(t))
	d := &hookflow.Delivery{ID: "d-1", Origin: hookflow.OriginAPIMessage, UserID: "u",
		DueAt: time.Now()}
	err := a.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue([]*hookflow.Delivery{d}) })
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if _, _, err := b.GetDelivery(ctx, "d-1"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("other schema's GetDelivery error = %v, want ErrNotFound", err)
	}
	if _, _, err := a.GetDelivery(ctx, "d-1"); err != nil {
		t.Errorf("own schema's GetDelivery: %v", err)
	}
}
