// Package handoff is the part the stores share of hookflow.HandOffer: the
// deliveries a store enqueued due now, leased to its process's sender and
// held in memory until a claim takes them.
//
// At full speed every delivery went through the store three times,
// enqueue, claim and outcome, and the claim then read its content back and
// decoded the payload the enqueue had just encoded. With the hand-off a
// delivery due at once is stored already leased and passed to the sender
// in memory. What a store adds is the glue: HandOff, a Run per run of an
// Update call's function (Enqueue leases through it), Updated once the
// call's outcome is known, and Claimed after each claim from its table.
//
// Every hand-back to the table names the lease the holder gave
// (hookflow.Deferral.LeaseUntil): a delivery whose lease expired while it
// was held may have been claimed again, from the table, by this node or
// another, and must then be left to that claim.
package handoff

import (
	"context"
	"fmt"
	"hash/crc32"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookflow/hookflow"
)

// maxBytes bounds the payloads held, as encoded: their decoded form takes
// a few times as much memory. Small payloads meet the sender's bound on
// the count first.
const maxBytes = 8 << 20

// Holder holds the deliveries leased to the sender. The zero value is off.
type Holder struct {
	mu    sync.Mutex
	on    bool
	lease time.Duration
	max   int
	form  Form
	// held are committed and waiting for a claim, oldest first. count and
	// bytes are their number and payload size, with those leased by calls
	// not yet committed.
	held  []handed
	count int
	bytes int
	// sweeper hands back what is held too long while the hand-off is on.
	sweeper *sweeper
	// writes, when the store counts them (CountWrites), counts the writes
	// of profiles; nil, deliveries are held without their profiles.
	writes *writeCounts
}

// Form is a store's stored form of a payload: what reading it back would
// give (hookflow.Payload.StoredForm and StoredFormFloatsKept).
type Form func(hookflow.Payload) (hookflow.Payload, error)

// handed is a delivery leased to the sender, as it is handed out, the size
// of its encoded payload, and when, on the system clock, it was kept. When
// it carries its user's profile, written is the count of its user's slot
// (writeCounts) when it was leased.
type handed struct {
	d       *hookflow.Delivery
	size    int
	kept    time.Time
	written uint32
}

// Queue is what the hand-off needs of its store: hookflow.Store's Defer.
type Queue interface {
	Defer(ctx context.Context, now time.Time, ds []hookflow.Deferral) error
}

// HandOff starts the hand-off (hookflow.HandOffer.HandOff): payloads are
// handed out in form. stop is End. log receives the failures of
// hand-backs.
func (h *Holder) HandOff(q Queue, log *slog.Logger, lease time.Duration, max int,
	form Form) (stop func(context.Context) error) {
	h.mu.Lock()
	old := h.sweeper
	h.on, h.lease, h.max, h.form = true, lease, max, form
	h.sweeper = newSweeper()
	go h.sweep(q, log, h.sweeper)
	h.mu.Unlock()
	old.end()
	return func(ctx context.Context) error { return h.End(ctx, q) }
}

// End turns the hand-off off and makes what is still held pending again.
// A store calls it when it closes, in case its sender did not: the
// deliveries then wait in the table, not for their leases to expire. Once
// off, End does nothing.
func (h *Holder) End(ctx context.Context, q Queue) error {
	held := h.stop()
	if len(held) == 0 {
		return nil
	}
	return q.Defer(ctx, time.Now(), dueAgain(held))
}

// stop turns the hand-off off, waits for the sweeper to finish (a sweep
// under way hands back what it took), and returns the deliveries held.
func (h *Holder) stop() []*hookflow.Delivery {
	h.mu.Lock()
	sw := h.sweeper
	h.on, h.sweeper = false, nil
	h.mu.Unlock()
	sw.end()

	h.mu.Lock()
	defer h.mu.Unlock()
	held := h.held
	h.held = nil
	h.release(held)
	return deliveriesOf(held)
}

// sweepTimeout bounds a sweep's hand-back.
const sweepTimeout = 5 * time.Second

// sweeper is the goroutine of sweep: closing stop ends it, and it closes
// done when it has.
type sweeper struct {
	stop, done chan struct{}
}

func newSweeper() *sweeper {
	return &sweeper{stop: make(chan struct{}), done: make(chan struct{})}
}

// end stops the sweeper and waits for it; a nil one is none.
func (sw *sweeper) end() {
	if sw == nil {
		return
	}
	close(sw.stop)
	<-sw.done
}

// sweep hands back, until sw is stopped, what was held longer than a
// tenth of the lease. Claims do so too (fill), but a sender whose every
// slot is taken by slow receivers does not claim: without the sweep its
// held deliveries would wait for a slot, or on PostgreSQL for their whole
// lease before another node could take them. Age is counted here on the
// system clock from when a delivery was kept, so a sender on a clock that
// is not the wall's (tests) is swept by the same rule.
func (h *Holder) sweep(q Queue, log *slog.Logger, sw *sweeper) {
	defer close(sw.done)
	h.mu.Lock()
	every := max(h.lease/20, 10*time.Millisecond)
	h.mu.Unlock()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-sw.stop:
			return
		case <-tick.C:
		}
		if back := h.stale(time.Now()); len(back) > 0 {
			// Bounded, unlike a claim's hand-back: stop waits for the
			// sweeper, and a store that does not answer must not hold
			// a shutdown. What fails waits for its lease to expire.
			ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
			if err := q.Defer(ctx, time.Now(), dueAgain(back)); err != nil {
				log.Warn("handing back deliveries held too long", "count", len(back), "err", err)
			}
			cancel()
		}
	}
}

// stale takes out the deliveries kept longer than a tenth of the lease
// before now.
func (h *Holder) stale(now time.Time) []*hookflow.Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for i < len(h.held) && now.Sub(h.held[i].kept) > h.lease/10 {
		i++
	}
	if i == 0 {
		return nil
	}
	back := deliveriesOf(h.held[:i])
	h.release(h.held[:i])
	clear(h.held[:i])
	h.held = h.held[i:]
	return back
}

// Run is what one run of an Update call's function leased.
type Run struct {
	h      *Holder
	handed []handed
}

// NewRun starts the record of one run of an Update call's function.
func (h *Holder) NewRun() *Run { return &Run{h: h} }

// Lease returns the row Enqueue stores for d, whose encoded payload is size
// bytes: d itself, or, when d goes to the sender, a copy of d leased, and
// the delivery to hand over if the run commits. That one carries d's
// payload in the store's stored form. d is the caller's and stays as it is.
// A nil Run leases nothing. The profile d carries (Delivery.Profile) counts
// against the bound on bytes held with its payload: held, it is memory
// the store's table would not have taken (the bench's fan-out, 50
// recipients with attributes a call, peaked 50 MB higher before it did).
func (r *Run) Lease(d *hookflow.Delivery, size int) (*hookflow.Delivery, error) {
	if r == nil {
		return d, nil
	}
	profile := r.h.carried(d)
	until, form, ok := r.h.reserve(d, size+profile.Size())
	if !ok {
		return d, nil
	}
	size += profile.Size()
	p, err := form(d.Payload)
	if err != nil {
		r.h.settle([]handed{{size: size}}, false)
		return nil, fmt.Errorf("encoding payload of delivery %s: %w", d.ID, err)
	}
	row := *d
	row.State, row.LeaseUntil = hookflow.StateSending, until
	c := row
	c.Payload, c.Profile = p, profile
	h := handed{d: &c, size: size}
	if profile != nil {
		h.written = r.h.writes.of(d.UserID).Load()
	}
	r.handed = append(r.handed, h)
	return &row, nil
}

// carried is the profile d may be held with: its own, if the store counts
// the writes of profiles and d could be held at all.
func (h *Holder) carried(d *hookflow.Delivery) *hookflow.User {
	if h.writes == nil || d.State != hookflow.StatePending || d.DueAt.After(d.CreatedAt) {
		return nil
	}
	return d.Profile
}

// reserve takes a place for d, if d is due at once and the hand-off has
// room, and returns the end of its lease and the form of its payload.
func (h *Holder) reserve(d *hookflow.Delivery, size int) (time.Time, Form, bool) {
	if d.State != hookflow.StatePending || d.DueAt.After(d.CreatedAt) {
		return time.Time{}, nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.on || h.count >= h.max || h.bytes+size > maxBytes {
		return time.Time{}, nil, false
	}
	h.count++
	h.bytes += size
	// To the microsecond, as both stores keep it: a hand-back matches the
	// stored lease exactly, and the held delivery is the table's row.
	return d.CreatedAt.Add(h.lease).Truncate(time.Microsecond), h.form, true
}

// settle ends the reservations of hs. Those of a committed transaction are
// kept for the sender, unless the hand-off stopped meanwhile: those come
// back, to be made pending again.
func (h *Holder) settle(hs []handed, committed bool) (orphans []*hookflow.Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !committed || !h.on {
		h.release(hs)
		if committed {
			return deliveriesOf(hs)
		}
		return nil
	}
	now := time.Now()
	for i := range hs {
		hs[i].kept = now
	}
	h.held = append(h.held, hs...)
	return nil
}

// settleRuns settles an Update call whose function ran once per element of
// runs (a group's commit failed, and the call ran again alone): only the
// last run's can have committed.
func (h *Holder) settleRuns(runs []*Run, committed bool) (orphans []*hookflow.Delivery) {
	for i, r := range runs {
		if len(r.handed) > 0 {
			orphans = append(orphans, h.settle(r.handed, committed && i == len(runs)-1)...)
		}
	}
	return orphans
}

// Updated settles an Update call once its outcome is known: runs are the
// runs of its function. What a sender stopped meanwhile did not take is
// made pending again. A store defers it, so a call that panics gives its
// places back.
func (h *Holder) Updated(q Queue, log *slog.Logger, runs []*Run, committed bool) {
	if orphans := h.settleRuns(runs, committed); len(orphans) > 0 {
		handBack(context.Background(), q, log, time.Now(), orphans,
			"handing back deliveries the stopped sender did not take")
	}
}

// release forgets hs; h.mu is held.
func (h *Holder) release(hs []handed) {
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

// Claimed adds to ds, just claimed from the table at at, held deliveries up
// to limit in all, and makes pending again those held too long.
func (h *Holder) Claimed(ctx context.Context, q Queue, log *slog.Logger, at time.Time,
	ds []*hookflow.Delivery, limit int) []*hookflow.Delivery {
	out, back := h.fill(at, ds, limit)
	if len(back) > 0 {
		handBack(ctx, q, log, at, back, "handing back deliveries held too long")
	}
	return out
}

// fill is Claimed's part under the lock. The held are oldest first: those
// held longer than a tenth of their lease, whose attempt could outlast
// what is left of it, come off the front first, whatever the limit.
func (h *Holder) fill(at time.Time, ds []*hookflow.Delivery, limit int) (out, back []*hookflow.Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out = ds
	i := 0
	for ; i < len(h.held); i++ {
		d := h.held[i].d
		if age := h.lease - d.LeaseUntil.Sub(at); age > h.lease/10 {
			back = append(back, d)
			continue
		}
		if len(out) >= limit {
			break
		}
		if d.Profile != nil && h.writes.of(d.UserID).Load() != h.held[i].written {
			// Its user was written since, or another of the slot's:
			// the sender reads the profile as it is now.
			d.Profile = nil
		}
		out = append(out, d)
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

// handBack makes ds pending again, due as they were, each only while the
// lease the holder gave it holds.
func handBack(ctx context.Context, q Queue, log *slog.Logger, at time.Time, ds []*hookflow.Delivery, what string) {
	if err := q.Defer(context.WithoutCancel(ctx), at, dueAgain(ds)); err != nil {
		// Their leases expire and they are claimed then.
		log.Warn(what, "count", len(ds), "err", err)
	}
}

// dueAgain are the deferrals that make ds pending again as they were due,
// under the leases the holder gave them.
func dueAgain(ds []*hookflow.Delivery) []hookflow.Deferral {
	back := make([]hookflow.Deferral, len(ds))
	for i, d := range ds {
		back[i] = hookflow.Deferral{DeliveryID: d.ID, DueAt: d.DueAt, LeaseUntil: d.LeaseUntil}
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

// CountWrites makes h hold deliveries with the profiles they carry
// (Delivery.Profile), for a store that is the only writer of its profiles
// and tells h of every write (UserWritten): a delivery is handed out with
// its profile only if no write of its user came since it was leased, so
// the sender renders as it would have with the profile read again. A
// store whose profiles other processes write too (PostgreSQL's nodes)
// cannot tell, and its deliveries are held without them. Call it before
// HandOff.
func (h *Holder) CountWrites() { h.writes = new(writeCounts) }

// UserWritten counts a write of the profile of user id: a statement that
// inserts, updates, merges or deletes it, whether or not its transaction
// commits.
func (h *Holder) UserWritten(id string) {
	if h.writes != nil {
		h.writes.of(id).Add(1)
	}
}

// writeCounts counts writes of profiles in slots by user id: a write of
// any user of a slot makes the profiles of all of them be read again, in
// 16 KiB whatever the number of users.
type writeCounts [1 << 12]atomic.Uint32

func (w *writeCounts) of(id string) *atomic.Uint32 {
	return &w[crc32.ChecksumIEEE([]byte(id))%uint32(len(w))]
}
