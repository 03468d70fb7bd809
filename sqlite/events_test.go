package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// TestEventsAcrossSegments stores a user's events in segments 0, 1, 3 and 6
// of events_segment_user, with 2, 4 and 5 empty, and checks that every
// read and write by user finds all of them and none of another user's.
func TestEventsAcrossSegments(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	_, err := s.write.DB.Exec(`INSERT INTO users (id, external_id, created_at, updated_at)
		VALUES ('u1', 'ext-1', 1, 1), ('u2', 'ext-2', 1, 1), ('u3', 'ext-3', 1, 1);
		INSERT INTO events (seq, id, user_id, name, time, received_at)
		VALUES (1, 'a', 'u1', 'x', 10, 1), (8191, 'b', 'u2', 'x', 20, 1),
		       (8192, 'c', 'u1', 'x', 30, 1), (30000, 'd', 'u1', 'x', 5, 1),
		       (50000, 'e', 'u1', 'x', 30, 1), (50001, 'f', 'u2', 'x', 40, 1)`)
	if err != nil {
		t.Fatalf("inserting rows: %v", err)
	}

	checkEventIDs(t, s, "u1", "e", "c", "a", "d")
	checkEventIDs(t, s, "u2", "f", "b")
	if evs, err := s.ListEvents(ctx, "u1", 2); err != nil || len(evs) != 2 || evs[1].ID != "c" {
		t.Errorf("ListEvents(u1, 2) = %v, %v; want e, c", evs, err)
	}

	err = s.Update(ctx, func(tx hookflow.Tx) error { return tx.MergeUser("u1", "u3") })
	if err != nil {
		t.Fatalf("MergeUser: %v", err)
	}
	checkEventIDs(t, s, "u1")
	checkEventIDs(t, s, "u3", "e", "c", "a", "d")

	err = s.Update(ctx, func(tx hookflow.Tx) error { return tx.DeleteUser("u3") })
	if err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	checkEventIDs(t, s, "u3")
	checkEventIDs(t, s, "u2", "f", "b")
}

// TestReadsByUserUseTheirIndexes checks that SQLite reads a user's events
// and deliveries through the indexes migrations 7 and 8 made for them,
// never by reading a whole table.
func TestReadsByUserUseTheirIndexes(t *testing.T) {
	s := testStore(t)
	where, args := deliveryWhere(hookflow.DeliveryFilter{UserID: "u1"})
	for _, c := range []struct {
		query string
		args  []any
		index string
	}{
		{`SELECT seq FROM events WHERE ` + ofUser + ` ORDER BY time DESC, seq DESC LIMIT 10`,
			[]any{"u1"}, "events_segment_user (<expr>=? AND user_id=?)"},
		{`DELETE FROM events WHERE ` + ofUser, []any{"u1"}, "events_segment_user (<expr>=? AND user_id=?)"},
		{`UPDATE events SET user_id = 'u2' WHERE ` + ofUser, []any{"u1"},
			"events_segment_user (<expr>=? AND user_id=?)"},
		{`SELECT ` + deliveryColumns + ` FROM ` + withContent + ` WHERE ` + strings.Join(where, " AND ") +
			` ORDER BY id DESC LIMIT 100`, args, "deliveries_segment_user (<expr>=? AND user_id=?)"},
		{`UPDATE deliveries SET user_id = ? WHERE ` + inSegments("deliveries") + ` AND user_id = ?`,
			[]any{"u2", "u1"}, "deliveries_segment_user (<expr>=? AND user_id=?)"},
		{lastSendSQL, []any{"c1", "u1"}, "deliveries_tracked (user_id=? AND campaign_id=?)"},
		{cancelPendingSQL, []any{"r", 1, "c1", "u1"}, "deliveries_tracked (user_id=? AND campaign_id=?)"},
	} {
		plan := queryPlan(t, s, c.query, c.args...)
		if !strings.Contains(plan, "INDEX "+c.index) || strings.Contains(plan, "SCAN events") ||
			strings.Contains(plan, "SCAN deliveries") {
			t.Errorf("plan of %s:\n%s\nwant a search of %s", c.query, plan, c.index)
		}
	}
}

// TestDeliveriesAcrossSegments lists a user's deliveries stored in segments
// 0, 2 and 5 of deliveries_segment_user, and merges them into another user.
func TestDeliveriesAcrossSegments(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	_, err := s.write.DB.Exec(`INSERT INTO users (id, external_id, created_at, updated_at)
		VALUES ('u1', 'ext-1', 1, 1), ('u2', 'ext-2', 1, 1);
		INSERT INTO deliveries (seq, id, origin, user_id, state, due_at, created_at, updated_at)
		VALUES (1, 'd1', 'campaign', 'u1', 'delivered', 1, 1, 1),
		       (20000, 'd2', 'campaign', 'u2', 'delivered', 1, 1, 1),
		       (20001, 'd3', 'campaign', 'u1', 'delivered', 1, 1, 1),
		       (41000, 'd4', 'campaign', 'u1', 'delivered', 1, 1, 1)`)
	if err != nil {
		t.Fatalf("inserting rows: %v", err)
	}
	listed := func(user string) []string {
		ds, err := s.ListDeliveries(ctx, hookflow.DeliveryFilter{UserID: user})
		if err != nil {
			t.Fatalf("ListDeliveries(%s): %v", user, err)
		}
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		return ids
	}
	if got := listed("u1"); !slices.Equal(got, []string{"d4", "d3", "d1"}) {
		t.Errorf("deliveries of u1 = %v, want d4 d3 d1", got)
	}
	if got := listed("ext-1"); !slices.Equal(got, []string{"d4", "d3", "d1"}) {
		t.Errorf("deliveries of external id ext-1 = %v, want d4 d3 d1", got)
	}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.MergeUser("u1", "u2") }); err != nil {
		t.Fatalf("MergeUser: %v", err)
	}
	if got := listed("u2"); !slices.Equal(got, []string{"d4", "d3", "d2", "d1"}) {
		t.Errorf("deliveries of u2 after the merge = %v, want all four", got)
	}
}

// TestUntrackedDeliveries enqueues one delivery marked Untracked and one
// not: LastSendAt and CancelPending see only the second.
func TestUntrackedDeliveries(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	enqueue := func(user string, untracked bool) {
		t.Helper()
		d := &hookflow.Delivery{Origin: hookflow.OriginCampaign, CampaignID: "c1", UserID: user,
			DueAt: at.Add(time.Hour), CreatedAt: at, Untracked: untracked}
		if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue([]*hookflow.Delivery{d}) }); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	enqueue("u1", true)
	enqueue("u2", false)
	for user, want := range map[string]bool{"u1": false, "u2": true} {
		err := s.Update(ctx, func(tx hookflow.Tx) error {
			last, sent, err := tx.LastSendAt("c1", user)
			if sent != want || sent && !last.Equal(at) {
				t.Errorf("LastSendAt(c1, %s) = %v, %v; want sent %v", user, last, sent, want)
			}
			if err != nil {
				return err
			}
			n, err := tx.CancelPending("c1", user, "exception", at)
			if (n == 1) != want {
				t.Errorf("CancelPending(c1, %s) cancelled %d, want tracked %v", user, n, want)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// testStore opens a store on a fresh file, closed when t ends.
func testStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir()+"/hookflow.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func queryPlan(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.write.DB.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatalf("explaining %s: %v", query, err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "\n")
	}
	return plan.String()
}

// TestInsertEventsKeepsIntakesEncoding stores an event whose properties
// intake encoded: the stored text is those bytes, and reads decode them.
func TestInsertEventsKeepsIntakesEncoding(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	ev := &hookflow.Event{ID: "e1", UserID: "u1", Name: "x", Time: time.Unix(10, 0),
		Properties:        map[string]any{"a": int64(1), "html": "<b>"},
		EncodedProperties: []byte(`{"a":1,"html":"<b>"}`), ReceivedAt: time.Unix(11, 0)}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertEvents([]*hookflow.Event{ev}) }); err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	var stored string
	if err := s.write.DB.QueryRow(`SELECT properties FROM events WHERE id = 'e1'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != `{"a":1,"html":"<b>"}` {
		t.Errorf("stored properties = %s, want intake's bytes", stored)
	}
	evs, err := s.ListEvents(ctx, "u1", 1)
	if err != nil || len(evs) != 1 || evs[0].Properties["a"] != int64(1) || evs[0].Properties["html"] != "<b>" {
		t.Errorf("ListEvents = %+v, %v; want a = 1, html = <b>", evs, err)
	}
}
