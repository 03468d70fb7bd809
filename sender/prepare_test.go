package sender

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/sqlite"
)

// A delivery that carries its user's profile from the enqueue renders with
// it; the others read theirs from the store.
func TestUsersOfTakesTheProfileADeliveryCarries(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stored := map[string]*hookflow.User{}
	err = store.Update(ctx, func(tx hookflow.Tx) error {
		for _, ext := range []string{"u1", "u2"} {
			u := &hookflow.User{ID: hookflow.NewUserID(), ExternalID: ext,
				Attributes: map[string]any{"plan": "silver"}}
			if err := tx.InsertUser(u); err != nil {
				return err
			}
			stored[ext] = u
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	carried := &hookflow.User{ID: stored["u1"].ID, ExternalID: "u1", Attributes: map[string]any{"plan": "gold"}}
	s := &Sender{store: store}
	gone := hookflow.NewUserID() // deleted since its deliveries were enqueued
	users, err := s.usersOf(ctx, []*hookflow.Delivery{
		{UserID: stored["u1"].ID, Profile: carried},
		{UserID: stored["u2"].ID},
		{UserID: gone, Profile: &hookflow.User{ID: gone}},
		{UserID: gone},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := users[stored["u1"].ID]; got != carried {
		t.Errorf("u1: %+v, want the profile the delivery carries", got)
	}
	if got := users[stored["u2"].ID]; got == nil || got.Attributes["plan"] != "silver" {
		t.Errorf("u2: %+v, want the stored profile", got)
	}
	if len(users) != 2 {
		t.Errorf("%d users, want 2 (a deleted user is missing, whatever a delivery carries): %v",
			len(users), users)
	}
}
