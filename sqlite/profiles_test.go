package sqlite

import (
	"context"
	"errors"
	"testing"

	"github.com/hookflow/hookflow"
)

// lookup finds the profile with external id ext in a write of its own, as
// intake does, and returns it, or nil when there is none.
func lookup(t *testing.T, s *Store, ext string) *hookflow.User {
	t.Helper()
	var u *hookflow.User
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		found, err := tx.FindUsersByExternalID([]string{ext})
		u = found[ext]
		return err
	})
	if err != nil {
		t.Fatalf("FindUsersByExternalID(%s): %v", ext, err)
	}
	return u
}

func write(t *testing.T, s *Store, fn func(hookflow.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// TestProfileCacheFollowsWrites reads a profile into the writer's cache,
// then changes it every way the store can, and checks that each lookup
// after a change sees it.
func TestProfileCacheFollowsWrites(t *testing.T) {
	s := testStore(t)
	write(t, s, func(tx hookflow.Tx) error {
		return tx.InsertUser(&hookflow.User{ID: "u1", ExternalID: "ext-1",
			Attributes: map[string]any{"plan": "free", "tags": []any{"a"}}})
	})

	u := lookup(t, s, "ext-1")
	if u == nil || u.Attributes["plan"] != "free" {
		t.Fatalf("first lookup = %+v, want plan free", u)
	}
	// A caller may change what it was given; the cache keeps its own copy.
	u.Attributes["plan"] = "changed in place"
	u.Attributes["tags"].([]any)[0] = "changed in place"
	if u := lookup(t, s, "ext-1"); u.Attributes["plan"] != "free" || u.Attributes["tags"].([]any)[0] != "a" {
		t.Fatalf("lookup after the caller changed its copy = %+v, want the stored profile", u.Attributes)
	}

	u.Attributes = map[string]any{"plan": "gold"}
	write(t, s, func(tx hookflow.Tx) error { return tx.UpdateUser(u) })
	if u := lookup(t, s, "ext-1"); u.Attributes["plan"] != "gold" {
		t.Errorf("lookup after UpdateUser = %+v, want plan gold", u.Attributes)
	}

	write(t, s, func(tx hookflow.Tx) error { return tx.AddAlias("u1", hookflow.Alias{Label: "crm", Name: "c-1"}) })
	if u := lookup(t, s, "ext-1"); len(u.Aliases) != 1 || u.Aliases[0].Name != "c-1" {
		t.Errorf("lookup after AddAlias: aliases %+v, want crm/c-1", u.Aliases)
	}

	renamed := lookup(t, s, "ext-1")
	renamed.ExternalID = "ext-2"
	write(t, s, func(tx hookflow.Tx) error { return tx.UpdateUser(renamed) })
	if u := lookup(t, s, "ext-1"); u != nil {
		t.Errorf("lookup of the old external id after a rename = %+v, want none", u)
	}
	if u := lookup(t, s, "ext-2"); u == nil || u.ID != "u1" {
		t.Errorf("lookup of the new external id after a rename = %+v, want u1", u)
	}

	write(t, s, func(tx hookflow.Tx) error {
		return tx.InsertUser(&hookflow.User{ID: "u3", ExternalID: "ext-3"})
	})
	lookup(t, s, "ext-2")
	write(t, s, func(tx hookflow.Tx) error { return tx.MergeUser("u1", "u3") })
	if u := lookup(t, s, "ext-2"); u != nil {
		t.Errorf("lookup after MergeUser deleted the profile = %+v, want none", u)
	}

	lookup(t, s, "ext-3")
	write(t, s, func(tx hookflow.Tx) error { return tx.DeleteUser("u3") })
	if u := lookup(t, s, "ext-3"); u != nil {
		t.Errorf("lookup after DeleteUser = %+v, want none", u)
	}
}

// TestProfileCacheForgetsRollback reads a profile as changed by a write
// that then fails: the change is rolled back, and so must the cache be.
func TestProfileCacheForgetsRollback(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	write(t, s, func(tx hookflow.Tx) error {
		return tx.InsertUser(&hookflow.User{ID: "u1", ExternalID: "ext-1",
			Attributes: map[string]any{"plan": "free"}})
	})
	lookup(t, s, "ext-1")

	refused := errors.New("refused")
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		u := &hookflow.User{ID: "u1", ExternalID: "ext-1", Attributes: map[string]any{"plan": "gold"}}
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		found, err := tx.FindUsersByExternalID([]string{"ext-1", "ext-new"})
		if err != nil || found["ext-1"].Attributes["plan"] != "gold" {
			t.Errorf("lookup inside the write = %v, %v; want its own change", found, err)
		}
		if err := tx.InsertUser(&hookflow.User{ID: "u2", ExternalID: "ext-new"}); err != nil {
			return err
		}
		if found, _ := tx.FindUsersByExternalID([]string{"ext-new"}); found["ext-new"] == nil {
			t.Errorf("lookup of a profile inserted in the same write found none")
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Update = %v, want the refusal", err)
	}
	if u := lookup(t, s, "ext-1"); u.Attributes["plan"] != "free" {
		t.Errorf("lookup after the rollback = %+v, want plan free", u.Attributes)
	}
	if u := lookup(t, s, "ext-new"); u != nil {
		t.Errorf("lookup of a profile whose insert was rolled back = %+v, want none", u)
	}
}
