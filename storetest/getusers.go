package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// testGetUsers reads several profiles at once: each comes back whole, with
// its aliases, under its braze id; unknown and repeated ids change nothing.
func testGetUsers(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	a := newUser("bbbbbbbbbbbbbbbbbbbbbbb1", "ext-1", "ana@example.com")
	b := newUser("bbbbbbbbbbbbbbbbbbbbbbb2", "ext-2", "")
	bare := newUser("bbbbbbbbbbbbbbbbbbbbbbb3", "", "")
	bare.Aliases = nil
	other := newUser("bbbbbbbbbbbbbbbbbbbbbbb4", "ext-4", "")
	insertUsers(t, s, a, b, bare, other)

	got, err := s.GetUsers(ctx, []string{b.ID, "cccccccccccccccccccccccc", a.ID, bare.ID, a.ID})
	if err != nil {
		t.Fatalf("GetUsers: %v", err)
	}
	want := map[string]*hookflow.User{a.ID: a, b.ID: b, bare.ID: bare}
	equal(t, "GetUsers", got, want)

	// Each profile reads the same as through GetUser.
	for id, u := range got {
		one, err := s.GetUser(ctx, hookflow.UserRef{BrazeID: id})
		if err != nil {
			t.Fatalf("GetUser(%s): %v", id, err)
		}
		equal(t, "GetUsers["+id+"] vs GetUser", u, one)
	}

	for _, ids := range [][]string{nil, {}, {"cccccccccccccccccccccccc"}} {
		got, err := s.GetUsers(ctx, ids)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("GetUsers(%q) = %v, %v; want an empty map", ids, got, err)
		}
	}
}

// testGetUsersMany reads more profiles than one statement of a backend
// may bind, so a backend that splits the ids must join the parts.
func testGetUsersMany(t *testing.T, s hookflow.Store) {
	const n = 1203
	var us []*hookflow.User
	var ids []string
	for i := range n {
		u := &hookflow.User{ID: fmt.Sprintf("d%023d", i), CreatedAt: t0, UpdatedAt: t0,
			Aliases: []hookflow.Alias{{Name: fmt.Sprintf("n%d", i), Label: "crm"}}}
		us = append(us, u)
		ids = append(ids, u.ID)
	}
	insertUsers(t, s, us...)

	got, err := s.GetUsers(context.Background(), append(ids, "missing"))
	if err != nil {
		t.Fatalf("GetUsers: %v", err)
	}
	if len(got) != n {
		t.Fatalf("GetUsers returned %d users, want %d", len(got), n)
	}
	for _, u := range us {
		g := got[u.ID]
		if g == nil || len(g.Aliases) != 1 || g.Aliases[0] != u.Aliases[0] {
			t.Fatalf("GetUsers[%s] = %+v, want aliases %v", u.ID, g, u.Aliases)
		}
	}
}

// testFindUsersByExternalID resolves many external ids in a transaction at
// once: each known one comes back whole, keyed by its external id and read
// the same as through FindUser; unknown and repeated ids change nothing,
// and a profile written earlier in the same transaction is found.
func testFindUsersByExternalID(t *testing.T, s hookflow.Store) {
	a := newUser("eeeeeeeeeeeeeeeeeeeeeee1", "ext-1", "ana@example.com")
	b := newUser("eeeeeeeeeeeeeeeeeeeeeee2", "ext-2", "")
	b.Aliases = nil
	noExternal := newUser("eeeeeeeeeeeeeeeeeeeeeee3", "", "")
	insertUsers(t, s, a, b, noExternal)
	var many []*hookflow.User
	for i := range 700 {
		many = append(many, &hookflow.User{ID: fmt.Sprintf("f%023d", i),
			ExternalID: fmt.Sprintf("many-%d", i), Attributes: map[string]any{},
			CreatedAt: t0, UpdatedAt: t0,
			Aliases: []hookflow.Alias{{Name: fmt.Sprintf("n%d", i), Label: "crm"}}})
	}
	insertUsers(t, s, many...)

	update(t, s, func(tx hookflow.Tx) error {
		fresh := newUser("eeeeeeeeeeeeeeeeeeeeeee4", "ext-new", "")
		if err := tx.InsertUser(fresh); err != nil {
			return err
		}
		got, err := tx.FindUsersByExternalID([]string{"ext-2", "ext-none", "ext-1", "ext-new", "ext-1", ""})
		if err != nil {
			return err
		}
		equal(t, "FindUsersByExternalID", got,
			map[string]*hookflow.User{"ext-1": a, "ext-2": b, "ext-new": fresh})
		for ext, u := range got {
			one, err := tx.FindUser(hookflow.UserRef{ExternalID: ext})
			if err != nil {
				return err
			}
			equal(t, "FindUsersByExternalID["+ext+"] vs FindUser", u, one)
		}

		for _, ids := range [][]string{nil, {}, {"ext-none"}} {
			got, err := tx.FindUsersByExternalID(ids)
			if err != nil || got == nil || len(got) != 0 {
				t.Errorf("FindUsersByExternalID(%q) = %v, %v; want an empty map", ids, got, err)
			}
		}

		var exts []string
		for _, u := range many {
			exts = append(exts, u.ExternalID)
		}
		got, err = tx.FindUsersByExternalID(exts)
		if err != nil {
			return err
		}
		if len(got) != len(many) {
			t.Fatalf("FindUsersByExternalID returned %d users, want %d", len(got), len(many))
		}
		for _, u := range many {
			equal(t, "FindUsersByExternalID["+u.ExternalID+"]", got[u.ExternalID], u)
		}
		return nil
	})
}

// testGetUsersAfterWrites reads the same profiles before and after each
// kind of write: a backend that keeps what it decoded must never hand
// back what was there before.
func testGetUsersAfterWrites(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	u := newUser("bbbbbbbbbbbbbbbbbbbbbbb1", "ext-1", "")
	insertUsers(t, s, u)
	read := func(what string, want map[string]any) {
		t.Helper()
		got, err := s.GetUsers(ctx, []string{u.ID})
		if err != nil {
			t.Fatalf("GetUsers: %v", err)
		}
		equal(t, "attributes "+what, got[u.ID].Attributes, want)
	}
	read("as inserted", u.Attributes)

	u.Attributes = map[string]any{"plan": "silver"}
	u.UpdatedAt = at(time.Hour)
	update(t, s, func(tx hookflow.Tx) error { return tx.UpdateUser(u) })
	read("after UpdateUser", map[string]any{"plan": "silver"})

	// The same size and shape of text, one byte apart.
	u.Attributes = map[string]any{"plan": "sylver"}
	update(t, s, func(tx hookflow.Tx) error { return tx.UpdateUser(u) })
	read("after a one-letter change", map[string]any{"plan": "sylver"})

	u.Attributes = map[string]any{}
	update(t, s, func(tx hookflow.Tx) error { return tx.UpdateUser(u) })
	read("after clearing", map[string]any{})
}
