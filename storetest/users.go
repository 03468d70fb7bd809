package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func newUser(id, externalID, email string) *hookflow.User {
	attrs := map[string]any{"first_name": "Zoë", "plan": "gold", "visits": int64(3),
		"ratio": 2.5, "big": int64(9007199254740993),
		"tags": []any{"a", "b"}, "address": map[string]any{"city": "Lyon"}}
	if email != "" {
		attrs["email"] = email
	}
	return &hookflow.User{
		ID:         id,
		ExternalID: externalID,
		Aliases: []hookflow.Alias{
			{Name: "anon-" + id, Label: "amplitude"},
			{Name: "crm-" + id, Label: "crm"},
		},
		Attributes: attrs,
		CreatedAt:  t0,
		UpdatedAt:  t0,
	}
}

func insertUsers(t *testing.T, s hookflow.Store, us ...*hookflow.User) {
	t.Helper()
	update(t, s, func(tx hookflow.Tx) error {
		for _, u := range us {
			if err := tx.InsertUser(u); err != nil {
				return err
			}
		}
		return nil
	})
}

func testFindUserByEachRef(t *testing.T, s hookflow.Store) {
	want := newUser("aaaaaaaaaaaaaaaaaaaaaaa1", "ext-1", "zoe@example.com")
	insertUsers(t, s, want, newUser("aaaaaaaaaaaaaaaaaaaaaaa2", "ext-2", "bob@example.com"))

	refs := []hookflow.UserRef{
		{ExternalID: "ext-1"},
		{BrazeID: want.ID},
		{Alias: &hookflow.Alias{Name: "crm-" + want.ID, Label: "crm"}},
		{Email: "zoe@example.com"},
	}
	for _, ref := range refs {
		got, err := s.GetUser(context.Background(), ref)
		if err != nil {
			t.Fatalf("GetUser(%s): %v", ref, err)
		}
		equal(t, "GetUser("+ref.String()+")", got, want)

		update(t, s, func(tx hookflow.Tx) error {
			got, err := tx.FindUser(ref)
			if err != nil {
				return fmt.Errorf("FindUser(%s): %w", ref, err)
			}
			equal(t, "FindUser("+ref.String()+")", got, want)
			return nil
		})
	}

	missing := []hookflow.UserRef{
		{ExternalID: "nobody"},
		{BrazeID: "ffffffffffffffffffffffff"},
		{Alias: &hookflow.Alias{Name: "crm-" + want.ID, Label: "other"}},
		{Email: "nobody@example.com"},
		{},
	}
	for _, ref := range missing {
		if _, err := s.GetUser(context.Background(), ref); !errors.Is(err, hookflow.ErrNotFound) {
			t.Errorf("GetUser(%s) error = %v, want ErrNotFound", ref, err)
		}
	}
}

func testUserConflicts(t *testing.T, s hookflow.Store) {
	insertUsers(t, s, newUser("u1", "ext-1", ""))

	cases := []struct {
		name string
		user *hookflow.User
	}{
		{"same id", &hookflow.User{ID: "u1", CreatedAt: t0, UpdatedAt: t0}},
		{"same external id", &hookflow.User{ID: "u2", ExternalID: "ext-1", CreatedAt: t0, UpdatedAt: t0}},
		{"alias taken", &hookflow.User{ID: "u3", CreatedAt: t0, UpdatedAt: t0,
			Aliases: []hookflow.Alias{{Name: "crm-u1", Label: "crm"}}}},
		{"two names under one label", &hookflow.User{ID: "u4", CreatedAt: t0, UpdatedAt: t0,
			Aliases: []hookflow.Alias{{Name: "x", Label: "crm"}, {Name: "y", Label: "crm"}}}},
	}
	for _, tc := range cases {
		err := s.Update(context.Background(), func(tx hookflow.Tx) error {
			return tx.InsertUser(tc.user)
		})
		if !errors.Is(err, hookflow.ErrConflict) {
			t.Errorf("%s: InsertUser error = %v, want ErrConflict", tc.name, err)
		}
	}

	// The same alias name under another label is a different alias.
	other := &hookflow.User{ID: "u5", CreatedAt: t0, UpdatedAt: t0,
		Aliases: []hookflow.Alias{{Name: "crm-u1", Label: "zendesk"}}}
	insertUsers(t, s, other)
}

func testUpdateUser(t *testing.T, s hookflow.Store) {
	u := newUser("u1", "", "")
	insertUsers(t, s, u)

	u.ExternalID = "ext-new"
	u.Aliases = []hookflow.Alias{{Name: "n2", Label: "crm"}}
	u.Attributes = map[string]any{"plan": "silver"}
	u.UpdatedAt = at(time.Hour)
	update(t, s, func(tx hookflow.Tx) error { return tx.UpdateUser(u) })

	got, err := s.GetUser(context.Background(), hookflow.UserRef{ExternalID: "ext-new"})
	if err != nil {
		t.Fatalf("GetUser by new external id: %v", err)
	}
	equal(t, "updated user", got, u)

	old := hookflow.UserRef{Alias: &hookflow.Alias{Name: "crm-u1", Label: "crm"}}
	if _, err := s.GetUser(context.Background(), old); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetUser by replaced alias error = %v, want ErrNotFound", err)
	}

	err = s.Update(context.Background(), func(tx hookflow.Tx) error {
		return tx.UpdateUser(&hookflow.User{ID: "nobody", UpdatedAt: t0})
	})
	if !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("UpdateUser(unknown) error = %v, want ErrNotFound", err)
	}
}

func testUpdateRollsBack(t *testing.T, s hookflow.Store) {
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		if err := tx.InsertUser(newUser("u1", "ext-1", "")); err != nil {
			return err
		}
		if err := tx.Enqueue([]*hookflow.Delivery{delivery(deliveryID(1), "c1", "u1", t0)}); err != nil {
			return err
		}
		if err := tx.SaveAPIMessage("disp-1", hookflow.Webhook{Method: "POST"}, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want the function's error", err)
	}

	ctx := context.Background()
	if _, err := s.GetUser(ctx, hookflow.UserRef{ExternalID: "ext-1"}); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetUser after rollback error = %v, want ErrNotFound", err)
	}
	if _, _, err := s.GetDelivery(ctx, deliveryID(1)); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetDelivery after rollback error = %v, want ErrNotFound", err)
	}
	if _, err := s.GetAPIMessage(ctx, "disp-1"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetAPIMessage after rollback error = %v, want ErrNotFound", err)
	}
	if got := claim(t, s, at(time.Hour), 10, time.Minute); len(got) != 0 {
		t.Errorf("Claim after rollback = %v, want none", deliveryIDs(got))
	}
}

func testEachUser(t *testing.T, s hookflow.Store) {
	// More users than a backend would plausibly read in one page, inserted
	// out of ID order.
	const n = 1203
	var us []*hookflow.User
	for i := n - 1; i >= 0; i-- {
		u := &hookflow.User{ID: fmt.Sprintf("%024x", i), CreatedAt: t0, UpdatedAt: t0,
			Attributes: map[string]any{"i": int64(i)}}
		if i%2 == 0 {
			u.Aliases = []hookflow.Alias{{Name: fmt.Sprint(i), Label: "l"}}
		}
		us = append(us, u)
	}
	insertUsers(t, s, us...)

	var seen []*hookflow.User
	update(t, s, func(tx hookflow.Tx) error {
		return tx.EachUser(func(u *hookflow.User) error {
			seen = append(seen, u)
			return nil
		})
	})
	if len(seen) != n {
		t.Fatalf("EachUser saw %d users, want %d", len(seen), n)
	}
	for i, u := range seen {
		if u.ID != fmt.Sprintf("%024x", i) || u.Attributes["i"] != int64(i) {
			t.Fatalf("user %d = %s %v, want ID order", i, u.ID, u.Attributes)
		}
		wantAliases := 0
		if i%2 == 0 {
			wantAliases = 1
		}
		if len(u.Aliases) != wantAliases {
			t.Fatalf("user %d aliases = %v, want %d", i, u.Aliases, wantAliases)
		}
	}

	stop := errors.New("stop")
	calls := 0
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		return tx.EachUser(func(*hookflow.User) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("EachUser stopping: err %v after %d calls, want stop after 3", err, calls)
	}
}

func testEvents(t *testing.T, s hookflow.Store) {
	insertUsers(t, s, newUser("u1", "ext-1", ""), newUser("u2", "ext-2", ""))
	evs := []*hookflow.Event{
		{ID: "e1", UserID: "u1", Name: "signup", Time: at(time.Minute), AppID: "app",
			Properties: map[string]any{"level": int64(3), "nested": map[string]any{"k": "v"}},
			ReceivedAt: at(2 * time.Minute)},
		{ID: "e2", UserID: "u1", Name: "sku-1", Time: at(3 * time.Minute),
			Purchase:   &hookflow.Purchase{ProductID: "sku-1", Currency: "EUR", Price: 9.5, Quantity: 2},
			ReceivedAt: at(3 * time.Minute)},
		{ID: "e3", UserID: "u1", Name: "login", Time: at(2 * time.Minute), ReceivedAt: at(2 * time.Minute)},
		{ID: "e4", UserID: "u2", Name: "login", Time: at(time.Hour), ReceivedAt: at(time.Hour)},
	}
	update(t, s, func(tx hookflow.Tx) error { return tx.InsertEvents(evs) })

	got, err := s.ListEvents(context.Background(), "u1", 10)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	equal(t, "ListEvents(u1)", got, []*hookflow.Event{evs[1], evs[2], evs[0]})

	got, err = s.ListEvents(context.Background(), "u1", 2)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	equal(t, "ListEvents(u1, 2)", got, []*hookflow.Event{evs[1], evs[2]})
}
