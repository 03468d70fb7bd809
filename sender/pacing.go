package sender

import (
	"context"
	"errors"
	"time"

	"github.com/hookflow/hookflow"
)

// pace applies the delivery-speed limits (rate_limit_per_minute) of the
// batch's campaigns and returns the deliveries whose attempt may start now,
// in batch order. The store hands out the slots, so the limit holds across
// every sender on every node; a delivery whose slot is later is already
// back in the queue, due at it, when pace returns, and one the limit would
// hold 72 h or more has ended aborted.
//
// Pacing comes before rendering: the limit applies when an attempt starts,
// a render that aborts takes its slot as in Braze, and a delivery waiting
// for a slot is rendered when its slot comes, not hours before. A delivery
// that takes its slot and is then sent back without an attempt (its host
// busy) takes a new slot next time, so the limit is never exceeded.
func (s *Sender) pace(ctx context.Context, lookup *batchLookup, batch []*hookflow.Delivery) []*hookflow.Delivery {
	byCampaign := map[string][]*hookflow.Delivery{}
	var campaigns []string
	for _, d := range batch {
		if d.CampaignID == "" {
			continue
		}
		if _, ok := byCampaign[d.CampaignID]; !ok {
			campaigns = append(campaigns, d.CampaignID)
		}
		byCampaign[d.CampaignID] = append(byCampaign[d.CampaignID], d)
	}

	// Like settle, this outlives a cancelled run context: the deliveries
	// are claimed and must not be stranded until their leases expire.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	held := map[string]bool{}
	for _, id := range campaigns {
		s.paceCampaign(ctx, lookup, id, byCampaign[id], held)
	}
	if len(held) == 0 {
		return batch
	}
	ready := batch[:0:0]
	for _, d := range batch {
		if !held[d.ID] {
			ready = append(ready, d)
		}
	}
	return ready
}

// paceCampaign paces one campaign's deliveries of a batch, adding to held
// those that may not start now. The campaign is read afresh for every
// batch, so an edited limit applies from the next claim on; the batch's
// lookup keeps it for rendering, which read it a second time before.
func (s *Sender) paceCampaign(ctx context.Context, lookup *batchLookup, campaignID string,
	ds []*hookflow.Delivery, held map[string]bool) {
	var c *hookflow.Campaign
	w, err := lookup.webhook(ctx, ds[0])
	if err == nil {
		c = w.campaign
	}
	if errors.Is(err, hookflow.ErrNotFound) {
		return // rendering fails it, saying why
	}
	if err == nil && c.RateLimitPerMinute == nil {
		return
	}
	var decisions []hookflow.PaceDecision
	if err == nil {
		decisions, err = s.store.PaceClaimed(ctx, s.clock.Now(), campaignID, *c.RateLimitPerMinute, ds)
	}
	if err != nil {
		// Without a slot nothing may start; try again shortly.
		s.log.Warn("pacing deliveries failed, will retry", "campaign_id", campaignID, "err", err, "count", len(ds))
		retries := make([]hookflow.Deferral, len(ds))
		for i, d := range ds {
			held[d.ID] = true
			retries[i] = hookflow.Deferral{DeliveryID: d.ID, DueAt: s.clock.Now().Add(storeRetry)}
		}
		s.deferAll(ctx, s.clock.Now(), retries)
		return
	}

	for _, dec := range decisions {
		switch dec.Action {
		case hookflow.PaceWait:
			held[dec.DeliveryID] = true
			s.log.Debug("delivery paced", "delivery_id", dec.DeliveryID, "campaign_id", campaignID,
				"slot", dec.Slot)
		case hookflow.PaceAbort:
			held[dec.DeliveryID] = true
			s.log.Info("delivery aborted", "delivery_id", dec.DeliveryID, "campaign_id", campaignID,
				"reason", hookflow.PaceAbortReason(*c.RateLimitPerMinute))
			s.opts.Observer.Finished(hookflow.StateAborted, 1)
		}
	}
}
