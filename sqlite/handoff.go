package sqlite

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
)

// Hand-off (hookflow.HandOffer). At full speed every delivery went through
// the writer three times, enqueue, claim and outcome, and the claim then
// read its content back and decoded the payload it had just encoded. A
// delivery enqueued due now is instead stored already leased and passed to
// the sender in memory.

// handOffBytes bounds the payloads the hand-off holds, as encoded: their
// decoded form takes a few times as much memory. Small payloads meet the
// sender's bound on the count first.
const handOffBytes = 4 << 20

// handoff holds the deliveries enqueued for this process's sender.
type handoff struct {
	mu    sync.Mutex
	on    bool
	lease time.Duration
	max   int
	// held are committed and waiting for a claim, oldest first. count and
	// bytes are their number and payload size, with those leased by calls
	// not yet committed.
	held  []handed
	count int
	bytes int
}

// handed is a delivery leased to the sender, and its payload's size.
type handed struct {
	d    *hookflow.Delivery
	size int
}

// HandOff is the contract's (hookflow.HandOffer).
func (s *Store) HandOff(lease time.Duration, max int) (stop func(context.Context) error) {
	h := &s.handoff
	h.mu.Lock()
	h.on, h.lease, h.max = true, lease, max
	h.mu.Unlock()
	return func(ctx context.Context) error {
		h.mu.Lock()
		held := h.held
		h.on, h.held = false, nil
		h.release(held)
		h.mu.Unlock()
		return s.Defer(ctx, now(), dueAgain(deliveriesOf(held)))
	}
}

// handOff returns the row Enqueue stores for d, whose encoded payload is
// size bytes: d itself, or, when d goes to the sender, a copy of d leased.
// The copy handed over carries d's payload in the form the store would
// read back. d is the caller's and stays as it is.
func (t *tx) handOff(d *hookflow.Delivery, size int) (*hookflow.Delivery, error) {
	if t.ho == nil {
		return d, nil
	}
	until, ok := t.ho.reserve(d, size)
	if !ok {
		return d, nil
	}
	p, err := d.Payload.StoredForm()
	if err != nil {
		t.ho.settle([]handed{{size: size}}, false)
		return nil, fmt.Errorf("encoding payload of delivery %s: %w", d.ID, err)
	}
	row := *d
	row.State, row.LeaseUntil = hookflow.StateSending, until
	c := row
	c.Payload = p
	t.handed = append(t.handed, handed{d: &c, size: size})
	return &row, nil
}

// reserve takes a place for d, if d is due at once and the hand-off has
// room, and returns the end of its lease.
func (h *handoff) reserve(d *hookflow.Delivery, size int) (time.Time, bool) {
	if d.State != hookflow.StatePending || d.DueAt.After(d.CreatedAt) {
		return time.Time{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.on || h.count >= h.max || h.bytes+size > handOffBytes {
		return time.Time{}, false
	}
	h.count++
	h.bytes += size
	return d.CreatedAt.Add(h.lease), true
}

// settle ends the reservations of hs. Those of a committed transaction are
// kept for the sender, unless the hand-off stopped meanwhile: those come
// back, to be made pending again.
func (h *handoff) settle(hs []handed, committed bool) (orphans []handed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !committed || !h.on {
		h.release(hs)
		if committed {
			return hs
		}
		return nil
	}
	h.held = append(h.held, hs...)
	return nil
}

// release forgets hs; h.mu is held.
func (h *handoff) release(hs []handed) {
	for _, x := range hs {
		h.count--
		h.bytes -= x.size
	}
}

// tableShare is the limit of a claim from the table when n may be claimed
// in all: at least half while the hand-off holds deliveries.
func (h *handoff) tableShare(n int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return n - min(len(h.held), n/2)
}

// take hands out up to n held deliveries at at. It also returns those
// held too long, to be made pending again (see HandOffer).
func (h *handoff) take(at time.Time, n int) (out, back []*hookflow.Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for ; i < len(h.held) && len(out) < n; i++ {
		d := h.held[i].d
		switch age := h.lease - d.LeaseUntil.Sub(at); {
		case age <= h.lease/10:
			out = append(out, d)
		case age < h.lease/2:
			back = append(back, d)
		}
		// Older still, its lease may have expired and a claim from the
		// table taken it (this one, even): it is left to the table.
	}
	h.release(h.held[:i])
	// The taken entries are cleared: the slice's array keeps them until
	// an append moves it, and with them every delivery already sent.
	clear(h.held[:i])
	h.held = h.held[i:]
	if len(h.held) == 0 {
		h.held = nil // let the backing array go
	}
	return out, back
}

// holding says whether deliveries are held.
func (h *handoff) holding() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.held) > 0
}

// withHandedOff adds to ds, just claimed from the table, held deliveries
// up to limit in all, and makes pending again those held too long.
func (s *Store) withHandedOff(ctx context.Context, at time.Time, ds []*hookflow.Delivery, limit int) []*hookflow.Delivery {
	if len(ds) >= limit || !s.handoff.holding() {
		return ds
	}
	out, back := s.handoff.take(at, limit-len(ds))
	if len(back) > 0 {
		s.handBack(ctx, at, back, "handing back deliveries held too long")
	}
	return append(ds, out...)
}

// settleHandOff keeps for the sender what the committed run of an Update
// call leased to it, and ends the other runs' reservations.
func (s *Store) settleHandOff(runs []*tx, committed bool) {
	for i, t := range runs {
		if len(t.handed) == 0 {
			continue
		}
		orphans := s.handoff.settle(t.handed, committed && i == len(runs)-1)
		if len(orphans) > 0 {
			s.handBack(context.Background(), now(), deliveriesOf(orphans),
				"handing back deliveries the stopped sender did not take")
		}
	}
}

// handBack makes ds pending again, due as they were.
func (s *Store) handBack(ctx context.Context, at time.Time, ds []*hookflow.Delivery, what string) {
	if err := s.Defer(context.WithoutCancel(ctx), at, dueAgain(ds)); err != nil {
		// Their leases expire and they are claimed then.
		s.logger.Warn(what, "count", len(ds), "err", err)
	}
}

// dueAgain are the deferrals that make ds pending again as they were due.
func dueAgain(ds []*hookflow.Delivery) []hookflow.Deferral {
	back := make([]hookflow.Deferral, len(ds))
	for i, d := range ds {
		back[i] = hookflow.Deferral{DeliveryID: d.ID, DueAt: d.DueAt}
	}
	return back
}

func deliveriesOf(hs []handed) []*hookflow.Delivery {
	ds := make([]*hookflow.Delivery, len(hs))
	for i, x := range hs {
		ds[i] = x.d
	}
	return ds
}
