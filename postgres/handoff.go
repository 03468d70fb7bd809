package postgres

import (
	"context"
	"time"

	"github.com/hookflow/hookflow"
)

// The hand-off (hookflow.HandOffer; package handoff): Enqueue leases a
// delivery due now to this process's sender (tx.run), Update settles it
// once the call's outcome is known, and the claims hand it out without
// reading it back.

// HandOff is the contract's (hookflow.HandOffer).
func (s *Store) HandOff(lease time.Duration, max int) (stop func(context.Context) error) {
	return s.handoff.HandOff(s, s.logger, lease, max, hookflow.Payload.StoredFormFloatsKept)
}

// withHandedOff adds held deliveries to ds, just claimed from the table.
func (s *Store) withHandedOff(ctx context.Context, at time.Time, ds []*hookflow.Delivery, limit int) []*hookflow.Delivery {
	return s.handoff.Claimed(ctx, s, s.logger, at, ds, limit)
}
