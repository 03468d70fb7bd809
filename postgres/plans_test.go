package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/postgres"
)

// The statements that join a batch to the queue's tables, and the
// sender's read of a batch's profiles, are planned on every run: a plan
// the server kept from a statement's first runs, while the tables were
// nearly empty, scanned every row as they grew. PostgreSQL keeps a plan
// only for a prepared statement, so none of them may be one, after more
// runs than it takes the server to keep a plan (six). Intake's look-up of
// profiles by external id is kept prepared: it shows the check sees the
// pool's statements.
func TestBatchStatementsArePlannedEachRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, schemaURL(t))
	u := &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", ExternalID: "ext-1"}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertUser(u) }); err != nil {
		t.Fatalf("InsertUser: %v", err)
	}

	now := time.Now()
	for range 8 {
		if _, err := s.GetUsers(ctx, []string{u.ID, "bbbbbbbbbbbbbbbbbbbbbbbb"}); err != nil {
			t.Fatalf("GetUsers: %v", err)
		}
		err := s.Defer(ctx, now, []hookflow.Deferral{{DeliveryID: "no-such-delivery", DueAt: now}})
		if err != nil {
			t.Fatalf("Defer: %v", err)
		}
		// A delivery that does not exist fails the write, after its
		// statements ran.
		for _, w := range []hookflow.QueueWrite{
			{Completions: []hookflow.Completion{{State: hookflow.StateDelivered,
				Attempt: hookflow.Attempt{DeliveryID: "no-such-delivery", Number: 1, StartedAt: now, Status: 200}}}},
			{Rendered: []hookflow.RenderResult{{DeliveryID: "no-such-delivery",
				Request: &hookflow.Request{Method: "POST", URL: "https://example.com/"}}}},
		} {
			if _, err := s.SaveAndClaim(ctx, now, w, 0, time.Minute); err == nil {
				t.Fatal("SaveAndClaim of a delivery that does not exist succeeded")
			}
		}
		err = s.Update(ctx, func(tx hookflow.Tx) error {
			_, err := tx.FindUsersByExternalID([]string{"ext-1"})
			return err
		})
		if err != nil {
			t.Fatalf("FindUsersByExternalID: %v", err)
		}
	}

	texts, err := postgres.PreparedStatements(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	kept := func(fragment string) bool {
		for _, text := range texts {
			if strings.Contains(strings.Join(strings.Fields(text), " "), fragment) {
				return true
			}
		}
		return false
	}
	if !kept("FROM users u WHERE u.external_id = ANY($1)") {
		t.Fatalf("intake's profile look-up is not among the prepared statements %q", texts)
	}
	for _, fragment := range []string{
		"FROM users u WHERE u.id = ANY($1)",
		"UPDATE deliveries d SET state = 'pending', due_at = v.due_at",
		"UPDATE deliveries d SET state = v.state",
		"UPDATE delivery_content c SET request_method = v.method",
	} {
		if kept(fragment) {
			t.Errorf("%q is kept prepared, so the server may keep its plan", fragment)
		}
	}
}
