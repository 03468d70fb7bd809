package sqlite

import (
	"context"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/handoff"
)

// The hand-off (hookflow.HandOffer; package handoff): Enqueue leases a
// delivery due now to this process's sender, Update keeps it once the call
// committed, and the claims hand it out without reading it back.

// HandOff is the contract's (hookflow.HandOffer).
func (s *Store) HandOff(lease time.Duration, max int) (stop func(context.Context) error) {
	return s.handoff.HandOff(s, lease, max)
}

// handOff returns the row Enqueue stores for d, whose encoded payload is
// size bytes (handoff.Holder.Lease), and records what goes to the sender
// if this run of the call commits.
func (t *tx) handOff(d *hookflow.Delivery, size int) (*hookflow.Delivery, error) {
	if t.ho == nil {
		return d, nil
	}
	row, h, err := t.ho.Lease(d, size)
	if h != nil {
		t.handed = append(t.handed, *h)
	}
	return row, err
}

// settleHandOff settles an Update call that ran as runs.
func (s *Store) settleHandOff(runs []*tx, committed bool) {
	handed := make([][]handoff.Handed, len(runs))
	for i, t := range runs {
		handed[i] = t.handed
	}
	s.handoff.Updated(s, s.logger, handed, committed)
}

// withHandedOff adds held deliveries to ds, just claimed from the table.
func (s *Store) withHandedOff(ctx context.Context, at time.Time, ds []*hookflow.Delivery, limit int) []*hookflow.Delivery {
	return s.handoff.Claimed(ctx, s, s.logger, at, ds, limit)
}
