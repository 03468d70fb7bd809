package trigger

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
)

// Result is what one /users/track request did.
type Result struct {
	Attributes int
	Events     int
	Purchases  int
	// Errors lists items refused while applying (after parsing).
	Errors     []intake.ItemError
	Deliveries []*hookflow.Delivery

	events []*hookflow.Event // accepted, to be stored
}

// errItem marks a problem with one item that refuses the item, not the
// request.
type errItem struct{ msg string }

func (e *errItem) Error() string { return e.msg }

// Track applies a parsed /users/track batch in Braze's order (attributes,
// then events, then purchases) and enqueues what the events trigger. Item
// problems are returned in Result.Errors; any other error means the
// transaction must roll back.
func (e *Enqueuer) Track(tx hookflow.Tx, b *intake.Batch) (*Result, error) {
	m := memo(tx)
	if err := m.prefetch(b.Refs()); err != nil {
		return nil, fmt.Errorf("finding users: %w", err)
	}
	m.hold()
	tx = m
	r := &Result{}
	for _, a := range b.Attributes {
		err := e.applyAttributes(tx, a)
		if ok, err := r.item(err, "attributes", a.Index); err != nil {
			return nil, err
		} else if ok {
			r.Attributes++
		}
	}
	for _, in := range b.Events {
		err := e.trackEvent(tx, r, in.Ref, in.UpdateExistingOnly, in.Event)
		if ok, err := r.item(err, "events", in.Index); err != nil {
			return nil, err
		} else if ok {
			r.Events++
		}
	}
	for _, in := range b.Purchases {
		err := e.trackEvent(tx, r, in.Ref, in.UpdateExistingOnly, in.Event)
		if ok, err := r.item(err, "purchases", in.Index); err != nil {
			return nil, err
		} else if ok {
			r.Purchases++
		}
	}

	if err := m.flush(); err != nil {
		return nil, fmt.Errorf("enqueueing deliveries: %w", err)
	}
	// Nothing in a request reads the events it stores, so they are
	// written together once every item has been applied.
	if len(r.events) > 0 {
		if err := tx.InsertEvents(r.events); err != nil {
			return nil, fmt.Errorf("storing events: %w", err)
		}
	}
	return r, nil
}

// item sorts an item's outcome: processed, refused (recorded), or an error
// that fails the whole request.
func (r *Result) item(err error, array string, index int) (bool, error) {
	var ie *errItem
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ie):
		r.Errors = append(r.Errors, intake.ItemError{Type: ie.msg, InputArray: array, Index: index})
		return false, nil
	}
	return false, err
}

func (e *Enqueuer) applyAttributes(tx hookflow.Tx, a intake.AttributeUpdate) error {
	u, _, err := e.resolve(tx, a.Ref, a.UpdateExistingOnly)
	if err != nil {
		return err
	}

	// Apply to a copy so a refused update leaves the profile untouched.
	next := *u
	next.Attributes = maps.Clone(u.Attributes)
	if err := a.Apply(&next); err != nil {
		return &errItem{msg: err.Error()}
	}
	next.UpdatedAt = e.clock.Now()
	return tx.UpdateUser(&next)
}

func (e *Enqueuer) trackEvent(tx hookflow.Tx, r *Result, ref hookflow.UserRef, existingOnly bool, ev hookflow.Event) error {
	u, _, err := e.resolve(tx, ref, existingOnly)
	if err != nil {
		return err
	}
	ev.ID = hookflow.NewDeliveryID()
	ev.UserID = u.ID
	ev.ReceivedAt = e.clock.Now()
	ds, err := e.OnEvent(tx, u, &ev)
	if err != nil {
		return err
	}
	r.events = append(r.events, &ev)
	r.Deliveries = append(r.Deliveries, ds...)
	return nil
}

// resolve finds the user ref names, creating the profile unless
// existingOnly, as Braze's upsert does. A braze_id is Hookflow's to assign,
// so an unknown one is refused rather than created.
func (e *Enqueuer) resolve(tx hookflow.Tx, ref hookflow.UserRef, existingOnly bool) (*hookflow.User, bool, error) {
	u, err := tx.FindUser(ref)
	if err == nil {
		return u, false, nil
	}
	if !errors.Is(err, hookflow.ErrNotFound) {
		return nil, false, fmt.Errorf("finding user: %w", err)
	}
	if existingOnly {
		return nil, false, &errItem{msg: fmt.Sprintf("no user with %s (_update_existing_only is true)", ref)}
	}
	if ref.BrazeID != "" {
		return nil, false, &errItem{msg: fmt.Sprintf("no user with %s", ref)}
	}

	u = newUser(ref, e.clock.Now())
	if err := tx.InsertUser(u); err != nil {
		return nil, false, fmt.Errorf("creating user: %w", err)
	}
	return u, true, nil
}

func newUser(ref hookflow.UserRef, now time.Time) *hookflow.User {
	u := &hookflow.User{
		ID:         hookflow.NewUserID(),
		ExternalID: ref.ExternalID,
		Attributes: map[string]any{},
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	if ref.Alias != nil {
		u.Aliases = []hookflow.Alias{*ref.Alias}
	}
	if ref.Email != "" {
		u.Attributes["email"] = ref.Email
	}
	return u
}
