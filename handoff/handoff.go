// Package handoff is the part the stores share of hookflow.HandOffer: the
// deliveries a store enqueued due now, leased to its process's sender and
// held in memory until a claim takes them.
//
// At full speed every delivery went through the store three times,
// enqueue, claim and outcome, and the claim then read its content back and
// decoded the payload the enqueue had just encoded. With the hand-off a
// delivery due at once is stored already leased and passed to the sender
// in memory. What a store adds is the glue: it leases in Enqueue (Lease),
// settles after the Update call's outcome is known (Settle), and takes the
// held after each claim from its table (Fill).
package handoff

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
)

// maxBytes bounds the payloads held, as encoded: their decoded form takes
// a few times as much memory. Small payloads meet the sender's bound on
// the count first.
const maxBytes = 4 << 20

// Holder holds the deliveries leased to the sender. The zero value is off.
type Holder struct {
	mu    sync.Mutex
	on    bool
	lease time.Duration
	max   int
	// held are committed and waiting for a claim, oldest first. count and
	// bytes are their number and payload size, with those leased by calls
	// not yet committed.
	held  []Handed
	count int
	bytes int
}

// Handed is a delivery leased to the sender, as it is handed out, and the
// size of its encoded payload.
type Handed struct {
	d    *hookflow.Delivery
	size int
}

// Start turns the hand-off on (hookflow.HandOffer.HandOff).
func (h *Holder) Start(lease time.Duration, max int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.on, h.lease, h.max = true, lease, max
}

// Stop turns it off and returns the deliveries held, to be made pending
// again.
func (h *Holder) Stop() []*hookflow.Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	held := h.held
	h.on, h.held = false, nil
	h.release(held)
	return deliveriesOf(held)
}

// Lease returns the row Enqueue stores for d, whose encoded payload is size
// bytes: d itself, or, when d goes to the sender, a copy of d leased, with
// the delivery to hand over once the transaction commits. That one carries
// d's payload in the form the store would read back. d is the caller's and
// stays as it is.
func (h *Holder) Lease(d *hookflow.Delivery, size int) (*hookflow.Delivery, *Handed, error) {
	until, ok := h.reserve(d, size)
	if !ok {
		return d, nil, nil
	}
	p, err := d.Payload.StoredForm()
	if err != nil {
		h.Settle([]Handed{{size: size}}, false)
		return nil, nil, fmt.Errorf("encoding payload of delivery %s: %w", d.ID, err)
	}
	row := *d
	row.State, row.LeaseUntil = hookflow.StateSending, until
	c := row
	c.Payload = p
	return &row, &Handed{d: &c, size: size}, nil
}

// reserve takes a place for d, if d is due at once and the hand-off has
// room, and returns the end of its lease.
func (h *Holder) reserve(d *hookflow.Delivery, size int) (time.Time, bool) {
	if d.State != hookflow.StatePending || d.DueAt.After(d.CreatedAt) {
		return time.Time{}, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.on || h.count >= h.max || h.bytes+size > maxBytes {
		return time.Time{}, false
	}
	h.count++
	h.bytes += size
	return d.CreatedAt.Add(h.lease), true
}

// Settle ends the reservations of hs. Those of a committed transaction are
// kept for the sender, unless the hand-off stopped meanwhile: those come
// back, to be made pending again.
func (h *Holder) Settle(hs []Handed, committed bool) (orphans []*hookflow.Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !committed || !h.on {
		h.release(hs)
		if committed {
			return deliveriesOf(hs)
		}
		return nil
	}
	h.held = append(h.held, hs...)
	return nil
}

// SettleRuns settles an Update call whose function ran once per element of
// runs (a group's commit failed, and the call ran again alone), each with
// what that run leased: only the last run's can have committed.
func (h *Holder) SettleRuns(runs [][]Handed, committed bool) (orphans []*hookflow.Delivery) {
	for i, hs := range runs {
		if len(hs) > 0 {
			orphans = append(orphans, h.Settle(hs, committed && i == len(runs)-1)...)
		}
	}
	return orphans
}

// release forgets hs; h.mu is held.
func (h *Holder) release(hs []Handed) {
	for _, x := range hs {
		h.count--
		h.bytes -= x.size
	}
}

// TableShare is the limit of a claim from the table when n may be claimed
// in all: at least half while the hand-off holds deliveries.
func (h *Holder) TableShare(n int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return n - min(len(h.held), n/2)
}

// Fill adds to ds, just claimed from the table, held deliveries up to limit
// in all, and returns those held too long, to be made pending again (see
// hookflow.HandOffer).
func (h *Holder) Fill(at time.Time, ds []*hookflow.Delivery, limit int) (out, back []*hookflow.Delivery) {
	if len(ds) >= limit {
		return ds, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out = ds
	i := 0
	for ; i < len(h.held) && len(out) < limit; i++ {
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

// DueAgain are the deferrals that make ds pending again as they were due.
func DueAgain(ds []*hookflow.Delivery) []hookflow.Deferral {
	back := make([]hookflow.Deferral, len(ds))
	for i, d := range ds {
		back[i] = hookflow.Deferral{DeliveryID: d.ID, DueAt: d.DueAt}
	}
	return back
}

func deliveriesOf(hs []Handed) []*hookflow.Delivery {
	ds := make([]*hookflow.Delivery, len(hs))
	for i, x := range hs {
		ds[i] = x.d
	}
	return ds
}

// Queue is the store's part the glue below needs: hookflow.Store's Defer.
type Queue interface {
	Defer(ctx context.Context, now time.Time, ds []hookflow.Deferral) error
}

// HandOff starts the hand-off and returns its stop, which makes what is
// still held pending again (hookflow.HandOffer).
func (h *Holder) HandOff(q Queue, lease time.Duration, max int) (stop func(context.Context) error) {
	h.Start(lease, max)
	return func(ctx context.Context) error {
		return q.Defer(ctx, time.Now(), DueAgain(h.Stop()))
	}
}

// Run is what one run of an Update call's function leased.
type Run struct {
	h      *Holder
	handed []Handed
}

// Run starts what a run of an Update call's function leases.
func (h *Holder) Run() *Run { return &Run{h: h} }

// Lease is Holder.Lease, recording what goes to the sender if this run
// commits. A nil Run leases nothing.
func (r *Run) Lease(d *hookflow.Delivery, size int) (*hookflow.Delivery, error) {
	if r == nil {
		return d, nil
	}
	row, x, err := r.h.Lease(d, size)
	if x != nil {
		r.handed = append(r.handed, *x)
	}
	return row, err
}

// Updated settles an Update call once its outcome is known: runs are the
// runs of its function (see SettleRuns). What a sender stopped meanwhile
// did not take is made pending again.
func (h *Holder) Updated(q Queue, log *slog.Logger, runs []*Run, committed bool) {
	handed := make([][]Handed, len(runs))
	for i, r := range runs {
		handed[i] = r.handed
	}
	if orphans := h.SettleRuns(handed, committed); len(orphans) > 0 {
		handBack(context.Background(), q, log, time.Now(), orphans,
			"handing back deliveries the stopped sender did not take")
	}
}

// Claimed adds to ds, just claimed from the table at at, held deliveries up
// to limit in all, and makes pending again those held too long.
func (h *Holder) Claimed(ctx context.Context, q Queue, log *slog.Logger, at time.Time,
	ds []*hookflow.Delivery, limit int) []*hookflow.Delivery {
	out, back := h.Fill(at, ds, limit)
	if len(back) > 0 {
		handBack(ctx, q, log, at, back, "handing back deliveries held too long")
	}
	return out
}

// handBack makes ds pending again, due as they were.
func handBack(ctx context.Context, q Queue, log *slog.Logger, at time.Time, ds []*hookflow.Delivery, what string) {
	if err := q.Defer(context.WithoutCancel(ctx), at, DueAgain(ds)); err != nil {
		// Their leases expire and they are claimed then.
		log.Warn(what, "count", len(ds), "err", err)
	}
}
