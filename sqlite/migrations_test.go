package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/hookflow/hookflow"
)

// migrator returns a goose provider of the embedded migrations on db.
func migrator(t *testing.T, db *sql.DB) *goose.Provider {
	t.Helper()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatalf("reading migrations: %v", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatalf("preparing migrations: %v", err)
	}
	return p
}

// eventsIndexes lists the indexes of the events table, automatic ones too.
func eventsIndexes(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM pragma_index_list('events') ORDER BY name`)
	if err != nil {
		t.Fatalf("listing indexes: %v", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("listing indexes: %v", err)
		}
		names = append(names, name)
	}
	return names
}

// eventsAt makes a database at migration version, with the schema before
// migration 6's users and events, and returns its path.
func eventsAt(t *testing.T, version int64) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	db, err := openPool(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := migrator(t, db).UpTo(ctx, 5); err != nil {
		t.Fatalf("migrating to 5: %v", err)
	}
	_, err = db.Exec(`INSERT INTO users (id, external_id, created_at, updated_at)
		VALUES ('u1', 'ext-1', 1, 1), ('u2', 'ext-2', 1, 1);
		INSERT INTO events (id, user_id, name, time, app_id, properties, purchase, received_at)
		VALUES ('e1', 'u1', 'signup', 10, 'app', '{"level":3}', NULL, 11),
		       ('e3', 'u1', 'login', 20, '', NULL, NULL, 21),
		       ('e2', 'u1', 'login', 20, '', NULL, NULL, 22),
		       ('e4', 'u2', 'sku-1', 30, '', NULL, '{"product_id":"sku-1"}', 31)`)
	if err != nil {
		t.Fatalf("inserting rows: %v", err)
	}
	if _, err := migrator(t, db).UpTo(ctx, version); err != nil {
		t.Fatalf("migrating to %d: %v", version, err)
	}
	return path
}

// TestMigrateEventsByUser converts a database of the schema before
// migration 6 that holds events to 6, and back: the rows stay in their
// order, the id index goes, and so does the foreign key to users.
func TestMigrateEventsByUser(t *testing.T) {
	ctx := context.Background()
	db, err := openPool(eventsAt(t, 6), true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := eventsIndexes(t, db); !slices.Equal(got, []string{"events_user_time"}) {
		t.Errorf("indexes of events after migration 6 = %v, want [events_user_time]", got)
	}
	checkStoredIDs(t, db, "u1", "e2", "e3", "e1")
	checkStoredIDs(t, db, "u2", "e4")
	var fks int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_foreign_key_list('events')`).Scan(&fks); err != nil || fks != 0 {
		t.Errorf("foreign keys of events after migration 6 = %d, %v; want none", fks, err)
	}

	if _, err := migrator(t, db).DownTo(ctx, 5); err != nil {
		t.Fatalf("migrating down to 5: %v", err)
	}
	if got := eventsIndexes(t, db); !slices.Equal(got, []string{"events_user_time", "sqlite_autoindex_events_1"}) {
		t.Errorf("indexes of events after migrating down = %v, want the id index back", got)
	}
	checkStoredIDs(t, db, "u1", "e2", "e3", "e1")
	checkStoredIDs(t, db, "u2", "e4")
	if err := db.QueryRow(`SELECT count(*) FROM pragma_foreign_key_list('events')`).Scan(&fks); err != nil || fks != 1 {
		t.Errorf("foreign keys of events after migrating down = %d, %v; want the one to users", fks, err)
	}
}

// TestMigrateEventsBySegment converts a database at migration 6 that holds
// events to 7, and back: the rows keep their order as seq, the store reads
// them by user through the segment index, and going down restores
// events_user_time.
func TestMigrateEventsBySegment(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, eventsAt(t, 6), nil)
	if err != nil {
		t.Fatalf("Open (migrating to 7): %v", err)
	}
	defer s.Close()
	if got := eventsIndexes(t, s.write.DB); !slices.Equal(got, []string{"events_segment_user"}) {
		t.Errorf("indexes of events after migration 7 = %v, want [events_segment_user]", got)
	}
	checkEventIDs(t, s, "u1", "e2", "e3", "e1")
	checkEventIDs(t, s, "u2", "e4")
	evs, err := s.ListEvents(ctx, "u1", 10)
	if err != nil || evs[2].AppID != "app" || evs[2].Properties["level"] == nil || evs[2].ReceivedAt.IsZero() {
		t.Errorf("ListEvents(u1) after migration: %+v, %v; want e1's columns kept", evs, err)
	}

	if _, err := migrator(t, s.write.DB).DownTo(ctx, 6); err != nil {
		t.Fatalf("migrating down to 6: %v", err)
	}
	if got := eventsIndexes(t, s.write.DB); !slices.Equal(got, []string{"events_user_time"}) {
		t.Errorf("indexes of events after migrating down = %v, want [events_user_time]", got)
	}
	checkStoredIDs(t, s.write.DB, "u1", "e2", "e3", "e1")
	checkStoredIDs(t, s.write.DB, "u2", "e4")
}

// checkStoredIDs checks a user's event ids, by time and then newest stored
// first, read with SQL that every version of the schema answers.
func checkStoredIDs(t *testing.T, db *sql.DB, userID string, want ...string) {
	t.Helper()
	rows, err := db.Query(`SELECT id FROM events WHERE user_id = ? ORDER BY time DESC, rowid DESC`, userID)
	if err != nil {
		t.Fatalf("reading events of %s: %v", userID, err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("reading events of %s: %v", userID, err)
		}
		got = append(got, id)
	}
	if !slices.Equal(got, want) {
		t.Errorf("events of %s = %v, want %v", userID, got, want)
	}
}

func checkEventIDs(t *testing.T, s *Store, userID string, want ...string) {
	t.Helper()
	evs, err := s.ListEvents(context.Background(), userID, 10)
	if err != nil {
		t.Fatalf("ListEvents(%s): %v", userID, err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListEvents(%s) ids = %v, want %v", userID, got, want)
	}
}

// TestMigrateDeliveryContent converts a database at migration 7 holding a
// rendered delivery with an attempt and an unrendered one to 8, and back:
// the payloads and requests move to delivery_content, the attempt stays,
// and the store reads them as before.
func TestMigrateDeliveryContent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	db, err := openPool(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator(t, db).UpTo(ctx, 7); err != nil {
		t.Fatalf("migrating to 7: %v", err)
	}
	_, err = db.Exec(`INSERT INTO deliveries (id, origin, campaign_id, user_id, state, payload,
		request_method, request_url, request_headers, request_body, due_at, created_at, updated_at)
		VALUES ('d1', 'campaign', 'c1', 'u1', 'sending', '{"trigger_properties":{"coupon":"X"}}',
		        'POST', 'https://example.com/h', '[{"Name":"X-A","Value":"1"}]', X'7B7D', 1, 1, 1),
		       ('d2', 'campaign', 'c1', 'u2', 'pending', '{}', NULL, NULL, NULL, NULL, 1, 1, 1);
		INSERT INTO attempts (delivery_id, number, started_at, duration_us, status)
		VALUES ('d1', 1, 5, 10, 503)`)
	if err != nil {
		t.Fatalf("inserting rows: %v", err)
	}
	db.Close()

	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open (migrating to 8): %v", err)
	}
	defer s.Close()
	check := func(when string) {
		t.Helper()
		d, as, err := s.GetDelivery(ctx, "d1")
		if err != nil {
			t.Fatalf("%s: GetDelivery(d1): %v", when, err)
		}
		// Dropping the old table with foreign keys on would have deleted
		// the attempts that reference it.
		if len(as) != 1 || as[0].Status != 503 {
			t.Errorf("%s: attempts of d1 = %+v, want the one with status 503", when, as)
		}
		if d.Payload.TriggerProperties["coupon"] != "X" || d.Request == nil ||
			d.Request.URL != "https://example.com/h" || string(d.Request.Body) != "{}" ||
			len(d.Request.Headers) != 1 || d.Request.Headers[0].Value != "1" {
			t.Errorf("%s: d1 = payload %+v, request %+v; want its payload and request kept", when, d.Payload, d.Request)
		}
		d, _, err = s.GetDelivery(ctx, "d2")
		if err != nil || d.Request != nil || d.State != hookflow.StatePending {
			t.Errorf("%s: d2 = %+v, %v; want pending, no request", when, d, err)
		}
	}
	check("after migration 8")

	if _, err := migrator(t, s.write.DB).DownTo(ctx, 7); err != nil {
		t.Fatalf("migrating down to 7: %v", err)
	}
	var payload, url string
	var attempts int
	err = s.write.DB.QueryRow(`SELECT payload, request_url,
		(SELECT count(*) FROM attempts WHERE delivery_id = 'd1') FROM deliveries WHERE id = 'd1'`).Scan(&payload, &url, &attempts)
	if err != nil || payload != `{"trigger_properties":{"coupon":"X"}}` || url != "https://example.com/h" || attempts != 1 {
		t.Errorf("d1 after migrating down = %q, %q, %d attempts, %v; want its columns and attempt back",
			payload, url, attempts, err)
	}
	var fk int
	if err := s.write.DB.QueryRow(`SELECT foreign_keys FROM pragma_foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign keys after the migrations = %d, %v; want on", fk, err)
	}
}
