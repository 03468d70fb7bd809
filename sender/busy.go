package sender

import (
	"math/rand/v2"
	"time"
)

// maxBusyDelay caps how long a delivery of a host at its limit goes back
// to the queue for.
//
// A host that holds its slots for a long time (a receiver answering in
// 30 s) has a backlog that no slot will take for seconds. Sent back for a
// fixed BusyDelay, that backlog was claimed, found busy and deferred again
// ten times a second: at 100 deliveries/s to such a host, thousands of
// claimed and deferred rows a second, most of the sender's loop and of the
// writer, while the healthy hosts' deliveries queued behind them (the
// benchmark's neighbours scenario). The delay therefore doubles each time
// the host is still busy when its deferred deliveries come back, up to
// this cap. Deliveries waiting in memory (waiting.go) still take a slot the
// moment it frees, so the cap only bounds how late the rest of the backlog
// is looked at again once the host speeds up.
const maxBusyDelay = 5 * time.Second

// busyHosts remembers, per host at its limit, how long its deliveries are
// sent back for. Only the loop goroutine uses it.
type busyHosts map[string]*busyHost

type busyHost struct {
	delay    time.Duration
	bumpedAt time.Time
}

// delay returns how long a delivery of host, found at its limit at now,
// goes back to the queue for: base the first time, and, while the host is
// slow (grow), doubling up to maxBusyDelay once the previous delay has
// passed with the host still busy. A host that is busy but fast (it takes
// many waiters a second) gets base again: a slot will free within
// milliseconds, and putting its surplus off for seconds only makes a tail.
// Each delay is spread over half its length again, so a host's backlog
// does not come back all at once in one claim.
func (b busyHosts) delay(host string, now time.Time, base time.Duration, grow bool) time.Duration {
	h := b[host]
	switch {
	case h == nil || !grow:
		h = &busyHost{delay: base, bumpedAt: now}
		b[host] = h
	case now.Sub(h.bumpedAt) >= h.delay:
		h.delay = min(2*h.delay, max(base, maxBusyDelay))
		h.bumpedAt = now
	}
	return h.delay + time.Duration(rand.Int64N(int64(h.delay/2)+1))
}

// stalled puts host's backlog off for the longest delay at once, rather
// than after doubling up to it: a delivery waited maxWait in memory and
// no attempt to the host started meanwhile, so the host is slow for
// certain. At a host answering in 30 s, the doubling sent its backlog
// round the queue, claimed and deferred again, every 0.1 to 3 s for the
// first seconds; in the bench's neighbours scenario that churn was what
// the bad neighbours cost the healthy host beyond their traffic. A host
// that frees a slot again (free) or turns fast starts from the base.
func (b busyHosts) stalled(host string, now time.Time) {
	if h := b[host]; h != nil && h.delay >= maxBusyDelay {
		return
	}
	b[host] = &busyHost{delay: maxBusyDelay, bumpedAt: now}
}

// free forgets host: one of its deliveries was claimed and got a slot at
// once, so its backlog should be looked at again soon.
func (b busyHosts) free(host string) {
	delete(b, host)
}

// sweep forgets hosts whose last delay ended long ago: they are no longer
// sent back, and would otherwise stay in the map for good.
func (b busyHosts) sweep(now time.Time) {
	for host, h := range b {
		if now.Sub(h.bumpedAt) > 2*maxBusyDelay+h.delay {
			delete(b, host)
		}
	}
}
