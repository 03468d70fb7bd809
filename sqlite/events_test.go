package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
)

// TestEventsAcrossSegments stores a user's events in segments 0, 1, 3 and 6
// of events_segment_user, with 2, 4 and 5 empty, and checks that every
// read and write by user finds all of them and none of another user's.
func TestEventsAcrossSegments(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/hookflow.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.write.DB.Exec(`INSERT INTO users (id, external_id, created_at, updated_at)
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

// TestEventsOfUserUseTheIndex checks that SQLite reads a user's events
// through events_segment_user, never by reading the whole table.
func TestEventsOfUserUseTheIndex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/hookflow.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, query := range []string{
		`SELECT seq FROM events WHERE ` + ofUser + ` ORDER BY time DESC, seq DESC LIMIT 10`,
		`DELETE FROM events WHERE ` + ofUser,
		`UPDATE events SET user_id = 'u2' WHERE ` + ofUser,
	} {
		plan := queryPlan(t, s, query, "u1")
		if !strings.Contains(plan, "INDEX events_segment_user (<expr>=? AND user_id=?)") ||
			strings.Contains(plan, "SCAN events") {
			t.Errorf("plan of %s:\n%s\nwant a search of events_segment_user by segment and user", query, plan)
		}
	}
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
