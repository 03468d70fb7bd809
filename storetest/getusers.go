package storetest

import (
	"context"
	"fmt"
	"testing"

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
