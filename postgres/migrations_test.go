package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/postgres"
)

// openAt makes the schema of u (a schemaURL) and migrates it to version,
// returning the database and its migrations.
func openAt(t *testing.T, u string, version int64) (*sql.DB, *goose.Provider) {
	t.Helper()
	ctx := context.Background()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	schema := pgx.Identifier{parsed.Query().Get("search_path")}.Sanitize()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	p, err := postgres.Migrator(db)
	if err != nil {
		t.Fatalf("preparing migrations: %v", err)
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		t.Fatalf("migrating to %d: %v", version, err)
	}
	return db, p
}

// TestMigrateDeliveryContent converts a database at migration 5 holding a
// rendered delivery with an attempt and an unrendered one to 6, and back:
// the payloads and requests move to delivery_content and back, byte for
// byte, the attempt stays, and the store reads, claims and renders them as
// before.
func TestMigrateDeliveryContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := schemaURL(t)
	db, migrations := openAt(t, u, 5)
	_, err := db.ExecContext(ctx, `INSERT INTO deliveries (id, origin, campaign_id, user_id,
		state, payload, request_method, request_url, request_headers, request_body,
		due_at, created_at, updated_at)
		VALUES ('d1', 'campaign', 'c1', 'u1', 'failed', '{"trigger_properties":{"coupon":"X"}}',
		        'POST', 'https://example.com/h', '[{"Name":"X-A","Value":"1"}]', '\x7b00ff7d',
		        '2026-03-01Z', '2026-03-01Z', '2026-03-01Z'),
		       ('d2', 'campaign', 'c1', 'u2', 'pending', '{"context":{"step":2}}',
		        NULL, NULL, NULL, NULL, '2026-03-01Z', '2026-03-01Z', '2026-03-01Z');
		INSERT INTO attempts (delivery_id, number, started_at, duration_us, status)
		VALUES ('d1', 1, '2026-03-01Z', 10, 503)`)
	if err != nil {
		t.Fatalf("inserting rows: %v", err)
	}

	s := openStore(t, u)
	d, as, err := s.GetDelivery(ctx, "d1")
	if err != nil {
		t.Fatalf("GetDelivery(d1): %v", err)
	}
	if len(as) != 1 || as[0].Status != 503 {
		t.Errorf("attempts of d1 = %+v, want the one with status 503", as)
	}
	if d.Payload.TriggerProperties["coupon"] != "X" || d.Request == nil ||
		d.Request.URL != "https://example.com/h" || string(d.Request.Body) != "{\x00\xff}" ||
		len(d.Request.Headers) != 1 || d.Request.Headers[0].Value != "1" {
		t.Errorf("d1 = payload %+v, request %+v; want its payload and request kept", d.Payload, d.Request)
	}
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	ds, err := s.Claim(ctx, at, 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].ID != "d2" || ds[0].Request != nil ||
		ds[0].Payload.Context["step"] != int64(2) {
		t.Fatalf("Claim = %+v, %v; want d2 with its payload and no request", ds, err)
	}
	err = s.SaveRendered(ctx, at, []hookflow.RenderResult{{DeliveryID: "d2",
		Request: &hookflow.Request{Method: "PUT", URL: "https://example.com/2"}}})
	if err != nil {
		t.Fatalf("SaveRendered(d2): %v", err)
	}
	s.Close()

	if _, err := migrations.DownTo(ctx, 5); err != nil {
		t.Fatalf("migrating down to 5: %v", err)
	}
	want := map[string][2]string{
		"d1": {`{"trigger_properties":{"coupon":"X"}}`, "https://example.com/h"},
		"d2": {`{"context":{"step":2}}`, "https://example.com/2"},
	}
	for id, w := range want {
		var payload, url string
		err := db.QueryRowContext(ctx, `SELECT payload, convert_from(request_url, 'UTF8')
			FROM deliveries WHERE id = $1`, id).Scan(&payload, &url)
		if err != nil || payload != w[0] || url != w[1] {
			t.Errorf("%s after migrating down = %q, %q, %v; want %q, %q", id, payload, url, err, w[0], w[1])
		}
	}
	var body []byte
	err = db.QueryRowContext(ctx, `SELECT request_body FROM deliveries WHERE id = 'd1'`).Scan(&body)
	if err != nil || string(body) != "{\x00\xff}" {
		t.Errorf("d1's body after migrating down = %q, %v; want its bytes", body, err)
	}
}

// TestMigrateDeliveryContentWaitsForWriters migrates to 6 while a node of
// the version before has a delivery enqueued and not yet committed: the
// migration waits for it, and its payload reaches delivery_content rather
// than being dropped with the old columns.
func TestMigrateDeliveryContentWaitsForWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := schemaURL(t)
	db, migrations := openAt(t, u, 5)

	old, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close(ctx)
	tx, err := old.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO deliveries (id, origin, campaign_id, user_id,
		state, payload, due_at, created_at, updated_at)
		VALUES ('late', 'campaign', 'c1', 'u1', 'pending', '{"trigger_properties":{"coupon":"X"}}',
		        '2026-03-01Z', '2026-03-01Z', '2026-03-01Z')`)
	if err != nil {
		t.Fatal(err)
	}

	migrated := make(chan error, 1)
	go func() {
		_, err := migrations.UpTo(ctx, 6)
		migrated <- err
	}()
	waitBlockedBy(t, db, old.PgConn().PID())
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatalf("migrating to 6: %v", err)
	}

	s := openStore(t, u)
	d, _, err := s.GetDelivery(ctx, "late")
	if err != nil {
		t.Fatalf("GetDelivery: %v", err)
	}
	if got := d.Payload.TriggerProperties["coupon"]; got != "X" {
		t.Errorf("payload after the migration = %+v, want the coupon X it was enqueued with", d.Payload)
	}
}

// waitBlockedBy waits until a session of db waits for a lock that the
// backend pid holds.
func waitBlockedBy(t *testing.T, db *sql.DB, pid uint32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid))`, int64(pid)).Scan(&n)
		if err != nil {
			t.Fatalf("reading blocked sessions: %v", err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session waited for backend %d within 10 s", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMigrateEventsWithoutUserKey takes a database at migration 6 to 7 and
// back: events keep their rows, DeleteUser still deletes a user's events
// without the key's cascade, and the way back deletes the events whose
// user is gone before it restores the key.
func TestMigrateEventsWithoutUserKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := schemaURL(t)
	db, migrations := openAt(t, u, 6)
	_, err := db.ExecContext(ctx, `INSERT INTO users (id, external_id, created_at, updated_at)
		VALUES ('u1', 'ext-1', now(), now()), ('u2', 'ext-2', now(), now());
		INSERT INTO events (id, user_id, name, time, received_at)
		VALUES ('e1', 'u1', 'played', now(), now()), ('e2', 'u2', 'played', now(), now())`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.UpTo(ctx, 7); err != nil {
		t.Fatalf("migrating to 7: %v", err)
	}

	s := openStore(t, u)
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.DeleteUser("u1") }); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	countEvents := func() (n int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := countEvents(); n != 1 {
		t.Fatalf("%d events after deleting u1, want 1 (u2's)", n)
	}
	s.Close()

	// A user deleted by a node of the version before, through the key's
	// cascade, leaves its events behind while both versions run.
	if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE id = 'u2'`); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.DownTo(ctx, 6); err != nil {
		t.Fatalf("migrating down to 6: %v", err)
	}
	if n := countEvents(); n != 0 {
		t.Fatalf("%d events after the way back, want 0: u2 is gone", n)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO events (id, user_id, name, time, received_at)
		VALUES ('e3', 'nobody', 'played', now(), now())`)
	if err == nil {
		t.Fatal("an event of no user was stored at migration 6: the key is not back")
	}
}
