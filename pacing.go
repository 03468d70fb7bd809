package hookflow

import (
	"fmt"
	"time"
)

// Bounds of a campaign's RateLimitPerMinute. Braze offers 10 to 500,000 a
// minute; Hookflow also takes 1 to 9, for endpoints slower still.
const (
	MinRateLimit = 1
	MaxRateLimit = 500_000
)

// MaxPaceDelay is how far ahead of now a delivery's slot may lie. A
// delivery the limit would hold 72 hours or more ends aborted instead, as
// in Braze, and takes no slot.
const MaxPaceDelay = 72 * time.Hour

// PaceHoldExpiry is how long after its time a slot a waiting delivery holds
// stays valid. A hold is used up when its delivery is claimed at its slot;
// one left behind (the delivery was cancelled while it waited) is dropped
// after this long. A delivery that comes back later still, behind a very
// long queue, simply takes a new slot: the limit is never exceeded.
const PaceHoldExpiry = time.Hour

// PaceInterval is the spacing of a limit's slots: a minute divided by
// perMinute, rounded up to the microsecond the stores keep, so that no
// 60-second window ever holds more than perMinute slots.
func PaceInterval(perMinute int) time.Duration {
	us := (int64(time.Minute/time.Microsecond) + int64(perMinute) - 1) / int64(perMinute)
	return time.Duration(us) * time.Microsecond
}

// PaceAbortReason is the abort reason of a delivery that a limit of
// perMinute would hold MaxPaceDelay or more.
func PaceAbortReason(perMinute int) string {
	return fmt.Sprintf("rate limit: the campaign's limit of %d a minute would delay this send 72 hours or more", perMinute)
}

// Pacing is a campaign's delivery-speed state, kept by the store between
// claims. The zero Pacing is a campaign that never sent under a limit.
type Pacing struct {
	// LastSent is the latest slot handed to a sender to attempt at once.
	LastSent time.Time
	// LastReserved is the latest slot taken, to send or to wait for; never
	// before LastSent. The next free slot is one interval after it.
	LastReserved time.Time
}

// Release gives back the slots reserved for waiting deliveries, so they can
// be paced again, under a new limit, right after the last one sent.
func (p Pacing) Release() Pacing {
	p.LastReserved = p.LastSent
	return p
}

// PaceClaim is a claimed delivery as pacing sees it.
type PaceClaim struct {
	DeliveryID string
	// Held is the slot the delivery reserved for this attempt in an earlier
	// claim, or zero when it holds none.
	Held time.Time
}

// PaceAction is what pacing decided for one claimed delivery.
type PaceAction int

// Pace actions.
const (
	// PaceSend: the slot is now; attempt the delivery.
	PaceSend PaceAction = iota
	// PaceWait: back to the queue, due at Slot, holding it.
	PaceWait
	// PaceAbort: the slot would be MaxPaceDelay or more away; end aborted.
	PaceAbort
)

func (a PaceAction) String() string {
	switch a {
	case PaceSend:
		return "send"
	case PaceWait:
		return "wait"
	case PaceAbort:
		return "abort"
	}
	return fmt.Sprintf("PaceAction(%d)", int(a))
}

// PaceDecision is Pace's answer for one claimed delivery.
type PaceDecision struct {
	DeliveryID string
	Action     PaceAction
	// Slot is when the attempt may start; zero for PaceAbort.
	Slot time.Time
}

// Pace applies a limit of perMinute attempt starts a minute to claims, in
// order, and returns the campaign's new Pacing with one decision per claim.
// A claim holding a slot keeps it: it is sent once the slot has come.
// Others take the next free slot, one interval after the last reserved
// one and never before now, so the first delivery after a quiet spell goes
// at once and a burst leaves one interval apart. The limit applies at the
// start of each attempt: a retry takes a new slot like a first attempt.
// Times are taken to the microsecond, the stores' precision.
func Pace(now time.Time, p Pacing, perMinute int, claims []PaceClaim) (Pacing, []PaceDecision) {
	now = now.Truncate(time.Microsecond)
	interval := PaceInterval(perMinute)
	out := make([]PaceDecision, len(claims))
	for i, c := range claims {
		d := PaceDecision{DeliveryID: c.DeliveryID, Slot: c.Held}
		if d.Slot.IsZero() {
			d.Slot = now
			if !p.LastReserved.IsZero() && p.LastReserved.Add(interval).After(now) {
				d.Slot = p.LastReserved.Add(interval)
			}
			if d.Slot.Sub(now) >= MaxPaceDelay {
				out[i] = PaceDecision{DeliveryID: c.DeliveryID, Action: PaceAbort}
				continue
			}
			p.LastReserved = d.Slot
		}

		d.Action = PaceSend
		if d.Slot.After(now) {
			d.Action = PaceWait
		} else if d.Slot.After(p.LastSent) {
			p.LastSent = d.Slot
		}
		out[i] = d
	}
	return p, out
}
