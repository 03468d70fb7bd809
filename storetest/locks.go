package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// testConcurrentUserWrites runs writers side by side that each read a
// profile, add an attribute of their own and write it back, as intake
// does, locking the profile first where the store's Tx can (a
// hookflow.UserLocker). No writer's attribute may be lost; a writer told
// ErrConflict (it lost a race) runs again, as the API does. Half of the
// writers name the user by external id, half by alias, and each also
// locks a second user, in opposite orders, which must not deadlock.
func testConcurrentUserWrites(t *testing.T, s hookflow.Store) {
	insertUsers(t, s, newUser("u1", "ext-1", ""), newUser("u2", "ext-2", ""))
	const writers = 8

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		refs := []hookflow.UserRef{{ExternalID: "ext-1"}, {ExternalID: "ext-2"}}
		if w%2 == 1 {
			refs = []hookflow.UserRef{{BrazeID: "u2"}, {Alias: &hookflow.Alias{Name: "crm-u1", Label: "crm"}}}
		}
		wg.Go(func() { errs <- writeAttribute(s, refs, fmt.Sprint("w", w)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	for _, id := range []string{"u1", "u2"} {
		u, err := s.GetUser(context.Background(), hookflow.UserRef{BrazeID: id})
		if err != nil {
			t.Fatal(err)
		}
		for w := range writers {
			if _, ok := u.Attributes[fmt.Sprint("w", w)]; !ok {
				t.Errorf("user %s lost writer %d's attribute: %v", id, w, u.Attributes)
			}
		}
	}
}

// writeAttribute sets attribute key on the users refs name, in one
// transaction, pausing between the reads and the writes so that writers
// overlap; a transaction that lost a race is run again.
func writeAttribute(s hookflow.Store, refs []hookflow.UserRef, key string) error {
	var err error
	for range 10 {
		err = s.Update(context.Background(), func(tx hookflow.Tx) error {
			if l, ok := tx.(hookflow.UserLocker); ok {
				if err := l.LockUsers(refs); err != nil {
					return err
				}
			}
			var us []*hookflow.User
			for _, ref := range refs {
				u, err := tx.FindUser(ref)
				if err != nil {
					return err
				}
				us = append(us, u)
			}
			time.Sleep(5 * time.Millisecond)
			for _, u := range us {
				u.Attributes[key] = true
				u.UpdatedAt = time.Time{}
				if err := tx.UpdateUser(u); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, hookflow.ErrConflict) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("writer %s: %w", key, err)
	}
	return nil
}

// testConcurrentUpdatesSomeFailing: many Update calls at once, which a
// store may run in shared transactions (package txgroup), every seventh
// failing after its write: each success is stored, each failure is not.
func testConcurrentUpdatesSomeFailing(t *testing.T, s hookflow.Store) {
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Update(context.Background(), func(tx hookflow.Tx) error {
				if err := tx.InsertUser(newUser(fmt.Sprintf("cu%03d", i), "", "")); err != nil {
					return err
				}
				if i%7 == 0 {
					return fmt.Errorf("refused %d", i)
				}
				return nil
			})
		})
	}
	wg.Wait()

	for i, err := range errs {
		if refused := i%7 == 0; refused != (err != nil) {
			t.Errorf("call %d: err = %v, want refused %v", i, err, refused)
		}
		_, gerr := s.GetUser(context.Background(), hookflow.UserRef{BrazeID: fmt.Sprintf("cu%03d", i)})
		if stored := gerr == nil; stored == (i%7 == 0) {
			t.Errorf("call %d: user stored %v (%v)", i, stored, gerr)
		}
	}
}
