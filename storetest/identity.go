package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// idGet reads a user by braze id, failing the test on any error.
func idGet(t *testing.T, s hookflow.Store, id string) *hookflow.User {
	t.Helper()
	u, err := s.GetUser(context.Background(), hookflow.UserRef{BrazeID: id})
	if err != nil {
		t.Fatalf("GetUser(%s): %v", id, err)
	}
	return u
}

// idErr runs fn in Update and returns its error.
func idErr(s hookflow.Store, fn func(hookflow.Tx) error) error {
	return s.Update(context.Background(), fn)
}

func testAddAlias(t *testing.T, s hookflow.Store) {
	insertUsers(t, s, newUser("u1", "ext-1", ""), newUser("u2", "ext-2", ""))
	extra := hookflow.Alias{Name: "seg-9", Label: "segment"}
	update(t, s, func(tx hookflow.Tx) error { return tx.AddAlias("u1", extra) })

	got := idGet(t, s, "u1")
	equal(t, "aliases after AddAlias", got.Aliases, []hookflow.Alias{
		{Name: "anon-u1", Label: "amplitude"}, {Name: "crm-u1", Label: "crm"}, extra,
	})
	if !got.UpdatedAt.After(t0) {
		t.Errorf("UpdatedAt = %v, want after %v", got.UpdatedAt, t0)
	}
	byAlias, err := s.GetUser(context.Background(), hookflow.UserRef{Alias: &extra})
	if err != nil || byAlias.ID != "u1" {
		t.Fatalf("GetUser(new alias) = %v, %v; want u1", byAlias, err)
	}

	cases := []struct {
		name, user string
		alias      hookflow.Alias
		want       error
	}{
		{"pair of another user", "u2", extra, hookflow.ErrConflict},
		{"second name for a label", "u1", hookflow.Alias{Name: "other", Label: "crm"}, hookflow.ErrConflict},
		{"unknown user", "nobody", hookflow.Alias{Name: "x", Label: "y"}, hookflow.ErrNotFound},
	}
	for _, tc := range cases {
		err := idErr(s, func(tx hookflow.Tx) error { return tx.AddAlias(tc.user, tc.alias) })
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: AddAlias = %v, want %v", tc.name, err, tc.want)
		}
	}
	equal(t, "u2 aliases unchanged", idGet(t, s, "u2").Aliases, newUser("u2", "", "").Aliases)
}

func testDeleteUser(t *testing.T, s hookflow.Store) {
	insertUsers(t, s, newUser("u1", "ext-1", ""), newUser("u2", "ext-2", ""))
	update(t, s, func(tx hookflow.Tx) error {
		return tx.InsertEvents([]*hookflow.Event{
			{ID: "e1", UserID: "u1", Name: "login", Time: at(time.Minute), ReceivedAt: at(time.Minute)},
			{ID: "e2", UserID: "u2", Name: "login", Time: at(time.Minute), ReceivedAt: at(time.Minute)},
		})
	})
	enqueue(t, s, delivery(deliveryID(1), "c1", "u1", at(time.Minute)))

	update(t, s, func(tx hookflow.Tx) error { return tx.DeleteUser("u1") })

	for _, ref := range []hookflow.UserRef{
		{BrazeID: "u1"}, {ExternalID: "ext-1"}, {Alias: &hookflow.Alias{Name: "crm-u1", Label: "crm"}},
	} {
		if _, err := s.GetUser(context.Background(), ref); !errors.Is(err, hookflow.ErrNotFound) {
			t.Errorf("GetUser(%s) after delete: %v, want ErrNotFound", ref, err)
		}
	}
	evs, err := s.ListEvents(context.Background(), "u1", 10)
	if err != nil || len(evs) != 0 {
		t.Errorf("ListEvents(u1) after delete = %d events, %v; want 0", len(evs), err)
	}
	evs, err = s.ListEvents(context.Background(), "u2", 10)
	if err != nil || len(evs) != 1 {
		t.Errorf("ListEvents(u2) = %d events, %v; want 1", len(evs), err)
	}
	d, _ := getDelivery(t, s, deliveryID(1))
	equal(t, "delivery user after delete", d.UserID, "u1")

	// The external id and aliases are free again.
	insertUsers(t, s, newUser("u3", "ext-1", ""))
	err = idErr(s, func(tx hookflow.Tx) error { return tx.DeleteUser("u1") })
	if !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("DeleteUser(deleted) = %v, want ErrNotFound", err)
	}
}

func testMergeUser(t *testing.T, s hookflow.Store) {
	anon := &hookflow.User{ID: "anon", Aliases: []hookflow.Alias{{Name: "a-1", Label: "web"}},
		Attributes: map[string]any{"plan": "trial"}, CreatedAt: t0, UpdatedAt: t0}
	insertUsers(t, s, anon, newUser("known", "ext-1", ""), newUser("other", "ext-2", ""))
	update(t, s, func(tx hookflow.Tx) error {
		return tx.InsertEvents([]*hookflow.Event{
			{ID: "e1", UserID: "anon", Name: "viewed", Time: at(time.Minute), ReceivedAt: at(time.Minute)},
			{ID: "e2", UserID: "known", Name: "login", Time: at(2 * time.Minute), ReceivedAt: at(2 * time.Minute)},
		})
	})
	enqueue(t, s, delivery(deliveryID(1), "c1", "anon", at(time.Minute)),
		delivery(deliveryID(2), "c1", "other", at(time.Minute)))

	update(t, s, func(tx hookflow.Tx) error { return tx.MergeUser("anon", "known") })

	if _, err := s.GetUser(context.Background(), hookflow.UserRef{BrazeID: "anon"}); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetUser(anon) after merge: %v, want ErrNotFound", err)
	}
	evs, err := s.ListEvents(context.Background(), "known", 10)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	names := []string{}
	for _, e := range evs {
		names = append(names, e.ID+":"+e.UserID)
	}
	equal(t, "events of known after merge", names, []string{"e2:known", "e1:known"})
	d1, _ := getDelivery(t, s, deliveryID(1))
	d2, _ := getDelivery(t, s, deliveryID(2))
	equal(t, "moved delivery", d1.UserID, "known")
	equal(t, "other delivery", d2.UserID, "other")

	// The merged profile's alias is free to move to the kept one.
	known := idGet(t, s, "known")
	known.Aliases = append(known.Aliases, hookflow.Alias{Name: "a-1", Label: "web"})
	update(t, s, func(tx hookflow.Tx) error { return tx.UpdateUser(known) })

	for _, tc := range []struct{ from, into string }{{"anon", "known"}, {"known", "nobody"}, {"known", "known"}} {
		err := idErr(s, func(tx hookflow.Tx) error { return tx.MergeUser(tc.from, tc.into) })
		if !errors.Is(err, hookflow.ErrNotFound) {
			t.Errorf("MergeUser(%s, %s) = %v, want ErrNotFound", tc.from, tc.into, err)
		}
	}
}
