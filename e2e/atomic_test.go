package e2e

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // the driver the store uses, to reach the same file

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
)

// TestAcceptedEventNeverLosesItsWebhooks makes the enqueue of a triggered
// delivery fail inside the /users/track transaction, for real: a SQLite
// trigger on the same file refuses every insert into deliveries. The
// request must then fail whole, storing neither the user nor the event,
// because an event stored without the webhook it caused would be a lost
// webhook. Once the trigger is gone, the same request is accepted and its
// webhook arrives.
func TestAcceptedEventNeverLosesItsWebhooks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookflow.db")
	e := apStartWith(t, hookflowtest.Options{Path: path})
	e.apActionCampaign("atomic", "signed_up", nil)

	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse_deliveries BEFORE INSERT ON deliveries
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatalf("creating the trigger: %v", err)
	}

	track := map[string]any{
		"attributes": []any{map[string]any{"external_id": "ann", "first_name": "Ann"}},
		"events": []any{map[string]any{"external_id": "ann", "name": "signed_up",
			"time": "2026-12-03T10:00:00Z"}},
	}
	status, body := e.sys.Do("POST", "/users/track", track)
	if status < 500 {
		t.Fatalf("track while deliveries cannot be stored: %d %s, want a 5xx", status, body)
	}
	if _, err := e.sys.Store.GetUser(context.Background(), hookflow.UserRef{ExternalID: "ann"}); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("user after the failed request: err = %v, want ErrNotFound (nothing stored)", err)
	}
	if n := len(e.sys.Deliveries(hookflow.DeliveryFilter{})); n != 0 {
		t.Errorf("%d deliveries after the failed request, want 0", n)
	}

	if _, err := db.Exec(`DROP TRIGGER refuse_deliveries`); err != nil {
		t.Fatal(err)
	}
	e.sys.Track(track)
	u, err := e.sys.Store.GetUser(context.Background(), hookflow.UserRef{ExternalID: "ann"})
	if err != nil {
		t.Fatalf("user after the accepted request: %v", err)
	}
	evs, err := e.sys.Store.ListEvents(context.Background(), u.ID, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events after the accepted request: %d, %v; want exactly 1 (the refused one left none)", len(evs), err)
	}
	ds := e.sys.WaitDeliveries(hookflow.DeliveryFilter{}, 1)
	e.sys.WaitState(ds[0].ID, hookflow.StateDelivered)
	if n := e.rcv.Count(); n != 1 {
		t.Errorf("%d webhooks arrived, want 1", n)
	}
}
