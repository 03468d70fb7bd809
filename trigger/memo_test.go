package trigger

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/sqlite"
)

// The deliveries a request enqueues carry the profiles it read from the
// store and did not change; those it created or updated are read again by
// the sender, as the store gives them back.
func TestDeliveriesCarryTheProfilesReadNotThoseWritten(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	err = store.Update(ctx, func(tx hookflow.Tx) error {
		for _, ext := range []string{"read", "updated"} {
			u := &hookflow.User{ID: hookflow.NewUserID(), ExternalID: ext,
				Attributes: map[string]any{"plan": "silver"}}
			if err := tx.InsertUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC()
	var ds []*hookflow.Delivery
	var read *hookflow.User
	err = store.Update(ctx, func(tx hookflow.Tx) error {
		m := memo(tx)
		if err := m.prefetch([]hookflow.UserRef{{ExternalID: "read"}, {ExternalID: "updated"}}); err != nil {
			return err
		}
		m.hold()
		var err error
		if read, err = m.FindUser(hookflow.UserRef{ExternalID: "read"}); err != nil {
			return err
		}
		updated, err := m.FindUser(hookflow.UserRef{ExternalID: "updated"})
		if err != nil {
			return err
		}
		next := *updated
		next.Attributes = map[string]any{"plan": "gold"}
		if err := m.UpdateUser(&next); err != nil {
			return err
		}
		created := &hookflow.User{ExternalID: "created", Attributes: map[string]any{}}
		if err := m.InsertUser(created); err != nil {
			return err
		}

		if err := m.SaveAPIMessage("dsp_1", hookflow.Webhook{Method: "POST", URL: "https://example.com/",
			BodyType: hookflow.BodyRaw}, now); err != nil {
			return err
		}
		for _, u := range []*hookflow.User{read, updated, created} {
			ds = append(ds, &hookflow.Delivery{ID: hookflow.NewDeliveryID(), Origin: hookflow.OriginAPIMessage,
				DispatchID: "dsp_1", UserID: u.ID, State: hookflow.StatePending, DueAt: now, CreatedAt: now})
		}
		if err := m.Enqueue(ds); err != nil {
			return err
		}
		return m.flush()
	})
	if err != nil {
		t.Fatal(err)
	}

	if ds[0].Profile != read || ds[0].Profile.Attributes["plan"] != "silver" {
		t.Errorf("the profile read: delivery carries %+v, want %+v", ds[0].Profile, read)
	}
	for i, who := range []string{"updated", "created"} {
		if p := ds[i+1].Profile; p != nil {
			t.Errorf("the profile %s in the request: delivery carries %+v, want none", who, p)
		}
	}
}
