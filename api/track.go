package api

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
	"github.com/hookflow/hookflow/trigger"
)

// track serves POST /users/track. The profile updates, the events and the
// deliveries they trigger are written in one transaction: an accepted event
// never loses its webhooks, and a failed request stores nothing.
func (s *Server) track(r *http.Request) (int, any, error) {
	body, err := intake.ReadBody(r, intake.MaxBodyBytes)
	if err != nil {
		return 0, nil, err
	}
	batch, err := intake.Parse(body, s.clock.Now())
	if err != nil {
		return 0, nil, err
	}

	var res *trigger.Result
	err = s.update(r.Context(), func(tx hookflow.Tx) error {
		if err := lockUsers(tx, batch.Refs()); err != nil {
			return err
		}
		res, err = s.enqueue.Track(tx, batch)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	s.enqueued(hookflow.OriginCampaign, len(res.Deliveries))

	out := batch.Response(res.Errors)
	s.countIntake(res, len(out.Errors))
	if res.Attributes+res.Events+res.Purchases == 0 && len(out.Errors) > 0 {
		// Nothing was usable: Braze answers 400 with the reasons.
		out.Message = "no valid objects: see errors"
		return http.StatusBadRequest, out, nil
	}
	return http.StatusCreated, out, nil
}

// countIntake counts the objects a /users/track request stored and refused.
func (s *Server) countIntake(res *trigger.Result, refused int) {
	if s.Observer == nil {
		return
	}
	s.Observer.Intake("attributes", res.Attributes)
	s.Observer.Intake("events", res.Events)
	s.Observer.Intake("purchases", res.Purchases)
	s.Observer.Intake("errors", refused)
}

// updateTries bounds how often a write that lost a race is run again. Each
// run locks the users the earlier one lost to, so a request loses again
// only to users created since; under the bench's 16 writers creating
// thousands of new users on PostgreSQL, 3 tries still failed a few calls.
const updateTries = 8

// update runs fn in a write transaction, again when it lost a race with
// another writer: two requests creating the same new user at once on
// PostgreSQL conflict on its external id, and the loser, run again, finds
// the user the winner created (PostgreSQL breaking a deadlock is reported
// the same way). SQLite serialises writers and never races.
func (s *Server) update(ctx context.Context, fn func(hookflow.Tx) error) error {
	var err error
	for try := range updateTries {
		if err = s.store.Update(ctx, fn); !errors.Is(err, hookflow.ErrConflict) || try == updateTries-1 {
			return err
		}
		// A short random pause, growing with each try, keeps two
		// losers from meeting again at once.
		pause := time.Duration(rand.Int64N(int64(try+1) * int64(2*time.Millisecond)))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
	return err
}

// lockUsers locks the profiles a write may change, when the store runs
// writers side by side (see hookflow.UserLocker), before fn reads them.
func lockUsers(tx hookflow.Tx, refs []hookflow.UserRef) error {
	l, ok := tx.(hookflow.UserLocker)
	if !ok || len(refs) == 0 {
		return nil
	}
	return l.LockUsers(refs)
}

// sendRefs lists the users a send names.
func sendRefs(send trigger.Send) []hookflow.UserRef {
	refs := make([]hookflow.UserRef, 0, len(send.Recipients))
	for _, r := range send.Recipients {
		refs = append(refs, r.Ref)
	}
	return refs
}
