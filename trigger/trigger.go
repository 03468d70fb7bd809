// Package trigger decides which deliveries to enqueue: when an event arrives
// through /users/track, when a server calls /campaigns/trigger/send, and when
// it calls /messages/send. It runs inside the caller's store transaction, so
// an accepted event and the deliveries it causes are written together or not
// at all.
//
// Rules applied to action-based campaigns, in order: exception events first
// cancel the user's delayed sends still waiting; then each active campaign
// whose trigger matches the event is checked against its property filters,
// its audience (evaluated on the profile as updated by the same request) and
// its re-eligibility; a delivery is enqueued due now, or after the delay.
package trigger

import (
	"fmt"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/filter"
)

// Enqueuer turns triggers into deliveries.
type Enqueuer struct {
	clock hookflow.Clock

	// audiences caches parsed audiences by campaign id and version.
	mu        sync.Mutex
	audiences map[string]cachedAudience
}

type cachedAudience struct {
	version  int
	audience *filter.Audience
}

// New returns an Enqueuer reading the time from clock.
func New(clock hookflow.Clock) *Enqueuer {
	return &Enqueuer{clock: clock, audiences: map[string]cachedAudience{}}
}

// OnEvent enqueues what ev causes for u, who performed it. It returns the
// deliveries enqueued through tx.Enqueue (Track's tx holds them until the
// end of the batch).
func (e *Enqueuer) OnEvent(tx hookflow.Tx, u *hookflow.User, ev *hookflow.Event) ([]*hookflow.Delivery, error) {
	now := e.clock.Now()
	if ev.Purchase == nil {
		if err := e.cancelExceptions(tx, u, ev, now); err != nil {
			return nil, err
		}
	}

	campaigns, err := tx.TriggeredCampaigns(ev)
	if err != nil {
		return nil, fmt.Errorf("finding triggered campaigns: %w", err)
	}
	var dispatch string // one for the deliveries of this event, made when one fires
	var ds []*hookflow.Delivery
	for _, c := range campaigns {
		ok, err := e.fires(tx, c, u, ev, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if dispatch == "" {
			dispatch = hookflow.NewDispatchID()
		}
		d := newDelivery(hookflow.OriginCampaign, u, dispatch, now)
		d.CampaignID = c.ID
		d.Untracked = alwaysEligible(c) && len(c.Trigger.ExceptionEvents) == 0
		d.DueAt = now.Add(time.Duration(c.Trigger.DelaySeconds) * time.Second)
		d.Payload.Event = &hookflow.EventPayload{Name: ev.Name, Time: ev.Time, Properties: eventProperties(ev)}
		ds = append(ds, d)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	if err := tx.Enqueue(ds); err != nil {
		return nil, fmt.Errorf("webhooks triggered by event %q: %w", ev.Name, err)
	}
	return ds, nil
}

// cancelExceptions cancels the user's delayed sends of every campaign that
// lists this event as an exception. Braze keeps the user eligible next time,
// which holds here because LastSendAt ignores cancelled deliveries.
func (e *Enqueuer) cancelExceptions(tx hookflow.Tx, u *hookflow.User, ev *hookflow.Event, now time.Time) error {
	campaigns, err := tx.ExceptionCampaigns(ev.Name)
	if err != nil {
		return fmt.Errorf("finding exception campaigns: %w", err)
	}
	for _, c := range campaigns {
		reason := fmt.Sprintf("cancelled by exception event %q", ev.Name)
		if _, err := tx.CancelPending(c.ID, u.ID, reason, now); err != nil {
			return fmt.Errorf("cancelling delayed sends of campaign %s: %w", c.ID, err)
		}
	}
	return nil
}

// fires reports whether campaign c sends to u for ev.
func (e *Enqueuer) fires(tx hookflow.Tx, c *hookflow.Campaign, u *hookflow.User, ev *hookflow.Event, now time.Time) (bool, error) {
	if c.Trigger == nil || !c.Trigger.Matches(ev) {
		return false, nil
	}
	if !filter.MatchProperties(c.Trigger.Filters, eventProperties(ev)) {
		return false, nil
	}
	return e.eligible(tx, c, u, now)
}

// eligible applies a campaign's audience and re-eligibility to u.
func (e *Enqueuer) eligible(tx hookflow.Tx, c *hookflow.Campaign, u *hookflow.User, now time.Time) (bool, error) {
	aud, err := e.audience(c)
	if err != nil {
		return false, err
	}
	if !aud.Match(u.Attributes, now) {
		return false, nil
	}

	if alwaysEligible(c) {
		// Eligible every time: the last send cannot matter.
		return true, nil
	}
	last, sent, err := tx.LastSendAt(c.ID, u.ID)
	if err != nil {
		return false, fmt.Errorf("reading last send: %w", err)
	}
	if !sent {
		return true, nil
	}
	if c.Reeligibility == nil {
		return false, nil
	}
	return !now.Before(last.Add(time.Duration(*c.Reeligibility) * time.Second)), nil
}

// audience returns c's parsed audience, parsing each campaign version once.
func (e *Enqueuer) audience(c *hookflow.Campaign) (*filter.Audience, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ca, ok := e.audiences[c.ID]; ok && ca.version == c.Version {
		return ca.audience, nil
	}
	aud, err := filter.ParseAudience(c.Audience)
	if err != nil {
		// Audiences are validated when saved; this means stored data is bad.
		return nil, fmt.Errorf("campaign %s has an invalid audience: %w", c.ID, err)
	}
	e.audiences[c.ID] = cachedAudience{version: c.Version, audience: aud}
	return aud, nil
}

// eventProperties is what event_properties reads: a purchase's properties
// plus its product_id, price, currency and quantity, as Braze exposes them.
func eventProperties(ev *hookflow.Event) map[string]any {
	if ev.Purchase == nil {
		return ev.Properties
	}
	props := make(map[string]any, len(ev.Properties)+4)
	for k, v := range ev.Properties {
		props[k] = v
	}
	props["product_id"] = ev.Purchase.ProductID
	props["price"] = ev.Purchase.Price
	props["currency"] = ev.Purchase.Currency
	props["quantity"] = int64(ev.Purchase.Quantity)
	return props
}

func newDelivery(origin string, u *hookflow.User, dispatch string, now time.Time) *hookflow.Delivery {
	return &hookflow.Delivery{
		ID:         hookflow.NewDeliveryID(),
		Origin:     origin,
		DispatchID: dispatch,
		UserID:     u.ID,
		ExternalID: u.ExternalID,
		State:      hookflow.StatePending,
		DueAt:      now,
		CreatedAt:  now,
		UpdatedAt:  now,
	}
}

// copyProps returns a shallow copy of m merged with over, over winning.
func copyProps(m, over map[string]any) map[string]any {
	if len(m) == 0 && len(over) == 0 {
		return nil
	}
	out := make(map[string]any, len(m)+len(over))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// alwaysEligible reports whether c sends to a user every time, whatever it
// sent before: no re-eligibility check of c reads its past deliveries.
func alwaysEligible(c *hookflow.Campaign) bool {
	return c.Reeligibility != nil && *c.Reeligibility == 0
}
