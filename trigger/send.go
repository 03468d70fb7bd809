package trigger

import (
	"errors"
	"fmt"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/filter"
	"github.com/hookflow/hookflow/intake"
)

// Send is one API send: to listed recipients, or a broadcast to everyone
// (optionally narrowed by Audience).
type Send struct {
	DispatchID string
	SendID     string
	// TriggerProperties apply to every recipient; a recipient's own
	// properties override keys of the same name.
	TriggerProperties map[string]any
	Recipients        []Recipient
	Broadcast         bool
	Audience          *filter.Audience
	// DueAt, when set, gives each recipient's delivery its due time (a
	// local-time schedule sends at one wall-clock time in every user's
	// zone); a zero time skips the recipient, counted in Skipped. Nil
	// sends every delivery at once.
	DueAt func(u *hookflow.User) time.Time
}

// Recipient is one entry of recipients[].
type Recipient struct {
	Ref               hookflow.UserRef
	TriggerProperties map[string]any
	// SendToExistingOnly skips unknown users; when false an unknown
	// external_id is created (with Attributes) before sending.
	SendToExistingOnly bool
	// Attributes, when set, are applied to the profile before the send is
	// decided, so a send never races the profile update it depends on.
	Attributes *intake.AttributeUpdate
}

// SendResult is what an API send enqueued and whom it skipped.
type SendResult struct {
	// Enqueued counts the deliveries enqueued, all of Origin. They are
	// counted, not kept: a broadcast may enqueue millions.
	Enqueued int
	Origin   string
	// Skipped counts recipients not found, not in the audience or not
	// re-eligible.
	Skipped int
	// Errors lists recipients refused, by index into Recipients.
	Errors []intake.ItemError
}

// CampaignSend enqueues an API-triggered campaign c for s. The campaign's
// own audience and re-eligibility apply on top of s.Audience.
func (e *Enqueuer) CampaignSend(tx hookflow.Tx, c *hookflow.Campaign, s Send) (*SendResult, error) {
	return e.send(tx, s, func(d *hookflow.Delivery, u *hookflow.User) (bool, error) {
		ok, err := e.eligible(tx, c, u, e.clock.Now())
		d.Origin = hookflow.OriginCampaign
		d.CampaignID = c.ID
		// API-triggered campaigns have no exception events.
		d.Untracked = alwaysEligible(c)
		return ok, err
	})
}

// MessageSend enqueues an API message: a webhook with no stored campaign.
// The webhook is stored under the dispatch id for the senders to render.
func (e *Enqueuer) MessageSend(tx hookflow.Tx, w hookflow.Webhook, s Send) (*SendResult, error) {
	if err := tx.SaveAPIMessage(s.DispatchID, w, e.clock.Now()); err != nil {
		return nil, fmt.Errorf("storing message: %w", err)
	}
	return e.send(tx, s, func(d *hookflow.Delivery, u *hookflow.User) (bool, error) {
		d.Origin = hookflow.OriginAPIMessage
		d.Untracked = true // no campaign to be re-eligible for
		return true, nil
	})
}

// accept completes a delivery for u and says whether u gets it.
type accept func(d *hookflow.Delivery, u *hookflow.User) (bool, error)

func (e *Enqueuer) send(tx hookflow.Tx, s Send, ok accept) (*SendResult, error) {
	tx = memo(tx)
	res := &SendResult{}
	seen := map[string]bool{}
	var batch []*hookflow.Delivery

	consider := func(u *hookflow.User, props map[string]any) error {
		// Braze sends once to a user listed twice in one call.
		if seen[u.ID] {
			return nil
		}
		seen[u.ID] = true
		if !s.Audience.Match(u.Attributes, e.clock.Now()) {
			res.Skipped++
			return nil
		}
		d := newDelivery("", u, s.DispatchID, e.clock.Now())
		if s.DueAt != nil {
			// Decided before ok, so a skipped user spends no re-eligibility.
			if d.DueAt = s.DueAt(u); d.DueAt.IsZero() {
				res.Skipped++
				return nil
			}
		}
		d.SendID = s.SendID
		d.Payload.TriggerProperties = props
		yes, err := ok(d, u)
		if err != nil || !yes {
			res.Skipped++
			return err
		}
		batch = append(batch, d)
		if len(batch) >= enqueueBatch {
			return e.flush(tx, res, &batch)
		}
		return nil
	}

	if s.Broadcast {
		err := tx.EachUser(func(u *hookflow.User) error {
			return consider(u, copyProps(s.TriggerProperties, nil))
		})
		if err != nil {
			return nil, err
		}
	}
	for i, r := range s.Recipients {
		u, err := e.recipient(tx, r)
		var ie *errItem
		switch {
		case errors.As(err, &ie):
			res.Errors = append(res.Errors, intake.ItemError{Type: ie.msg, InputArray: "recipients", Index: i})
			continue
		case errors.Is(err, hookflow.ErrNotFound):
			res.Skipped++
			continue
		case err != nil:
			return nil, err
		}
		if err := consider(u, copyProps(s.TriggerProperties, r.TriggerProperties)); err != nil {
			return nil, err
		}
	}
	if err := e.flush(tx, res, &batch); err != nil {
		return nil, err
	}
	return res, nil
}

// enqueueBatch bounds how many deliveries a broadcast holds in memory
// before writing them.
const enqueueBatch = 500

func (e *Enqueuer) flush(tx hookflow.Tx, res *SendResult, batch *[]*hookflow.Delivery) error {
	if len(*batch) == 0 {
		return nil
	}
	if err := tx.Enqueue(*batch); err != nil {
		return err // the store names what failed
	}
	res.Enqueued += len(*batch)
	res.Origin = (*batch)[0].Origin
	*batch = (*batch)[:0:0]
	return nil
}

// recipient resolves (and with send_to_existing_only false, creates) the
// recipient's profile and applies its attributes. ErrNotFound means skip.
func (e *Enqueuer) recipient(tx hookflow.Tx, r Recipient) (*hookflow.User, error) {
	u, err := tx.FindUser(r.Ref)
	switch {
	case errors.Is(err, hookflow.ErrNotFound) && !r.SendToExistingOnly && r.Ref.ExternalID != "":
		u, _, err = e.resolve(tx, r.Ref, false)
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	if r.Attributes == nil {
		return u, nil
	}
	if err := e.applyAttributes(tx, *r.Attributes); err != nil {
		return nil, err
	}
	return tx.FindUser(r.Ref)
}
