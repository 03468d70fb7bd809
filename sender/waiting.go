package sender

import (
	"context"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hostgate"
)

// A delivery whose host is at its limit waits in memory for a slot of that
// host, and starts the moment an attempt to the host ends: the goroutine of
// that attempt takes it (next), with the slot it holds, rather than leave
// the host a slot short until the loop comes round. At one fast host, the
// loop's round (a write, then rendering a batch) took as long as several
// attempts, so the host's slots stood idle most of the time. Sending it back
// to the queue instead cost a claim and a deferral per delivery and
// capped a busy host at one batch of slots per loop (1,500 webhooks/s to
// one fast host in the benchmark). Waiting is bounded so a slow host's
// backlog cannot pin memory or leases: at most one waiter per global slot,
// each for at most maxWait, after which it goes back to the queue.
const maxWait = 2 * time.Second

// maxWaitersPerHost bounds the waiters of a host that takes few of them.
// A host's backlog beyond its bound goes back to the queue, due a little
// later, so deliveries to other hosts that fell due meanwhile are claimed
// ahead of it; without the bound, a busy host's oldest-due backlog filled
// every claim and a healthy host's new delivery waited behind it (found by
// the isolation test).
const maxWaitersPerHost = 16

// waitAhead is how much of a host's turnover (attempts that started, per
// second) may wait for it beyond maxWaitersPerHost. A fast host at
// its limit (one receiver taking thousands a second through its 32
// connections) empties 16 waiters in well under a millisecond, then idles
// until the next claim, while the rest of its backlog went back to the
// queue to be claimed and deferred again: a third of the end-to-end
// benchmark's CPU. Sized by turnover, a fast host gets as many waiters as
// it takes in waitAhead, and a slow host keeps the small bound.
//
// The turnover counts every attempt that started, not only waiters': a
// fast host that rarely fills its slots had almost no waiters to count,
// so the first time a hiccup filled them (its exchanges took 10 ms instead
// of 1 for a moment) it had the small bound, and the deliveries beyond it
// went back to the queue for BusyDelay: the bench's neighbours scenario
// saw a healthy webhook 130 ms late that way.
//
// But starts into free slots are no turnover: a slow host that fills its
// 32 idle slots in one dispatch started 32 in a millisecond, a rate that
// earned it every waiter of the sender, whose claims then stopped for up to
// maxWait (a review found healthy webhooks 2 s late so). Only the starts
// beyond the host's slots, over the last one to two seconds, prove that
// slots were freed and reused, and the waiters a host may have are capped
// by them.
const waitAhead = 200 * time.Millisecond

type waiter struct {
	o     outgoing
	since time.Time
}

// hostWait is one host's waiters and how fast it takes them.
type hostWait struct {
	queue []waiter
	// started counts attempts that started since window began, and
	// before those of the second before it.
	window          time.Time
	started, before int
	// lastUsed is when the host last had a waiter or an attempt start,
	// for forgetting it.
	lastUsed time.Time
	// lastStart is when an attempt to the host last started: one of its
	// slots was free then.
	lastStart time.Time
}

// limit is how many waiters the host may have at now, perHost being the
// most attempts it may have in flight (0: no such limit).
func (h *hostWait) limit(now time.Time, perHost int) int {
	reused := h.started + h.before - perHost
	if reused <= 0 {
		return maxWaitersPerHost
	}
	// The faster of two rates: over the current window so far (at least
	// 10 ms, so a first few starts are not taken for a torrent), which
	// sees a burst within milliseconds, and over the second before it as
	// well, which remembers a fast host for a moment after it slows.
	cur := max(now.Sub(h.window), 10*time.Millisecond)
	perSecond := max(float64(h.started)/cur.Seconds(),
		float64(h.started+h.before)/(cur+time.Second).Seconds())
	return max(maxWaitersPerHost, min(int(perSecond*waitAhead.Seconds()), reused))
}

// took counts n attempts that started at now.
func (h *hostWait) took(n int, now time.Time) {
	switch since := now.Sub(h.window); {
	case since >= 2*time.Second:
		h.window, h.started, h.before = now, 0, 0
	case since >= time.Second:
		h.window, h.started, h.before = h.window.Add(time.Second), 0, h.started
	}
	h.started += n
	if n > 0 {
		h.lastStart = now
	}
}

// waiting is the in-memory wait, by host. The loop adds to it and sends
// back who waited too long; attempt goroutines take from it.
type waiting struct {
	mu    sync.Mutex
	hosts map[string]*hostWait
	count int
	// perHost is the most attempts a host may have in flight (the gate's
	// MaxPerHost), 0 when there is no such limit.
	perHost int
	// forgotAt is when forget last ran.
	forgotAt time.Time
}

// host returns the record of name, made at now if it had none. The caller
// holds mu.
func (w *waiting) host(name string, now time.Time) *hostWait {
	if w.hosts == nil {
		w.hosts = map[string]*hostWait{}
	}
	h := w.hosts[name]
	if h == nil {
		h = &hostWait{window: now}
		w.hosts[name] = h
	}
	return h
}

// waiters counts the deliveries waiting.
func (w *waiting) waiters() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

// add keeps o waiting for host from now; false when the wait is full.
func (w *waiting) add(host string, o outgoing, limit int, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.host(host, now)
	if w.count >= limit || len(h.queue) >= h.limit(now, w.perHost) {
		return false
	}
	h.queue = append(h.queue, waiter{o: o, since: now})
	h.lastUsed = now
	w.count++
	return true
}

// start counts an attempt to host that started at now without waiting
// (those that waited count as they leave the wait), and reports whether
// none of the host's deliveries waits: one lock for both, as the loop asks
// for every delivery it starts.
func (w *waiting) start(host string, now time.Time) (idle bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.host(host, now)
	h.took(1, now)
	h.lastUsed = now
	return len(h.queue) == 0
}

// fast reports whether host takes waiters faster than the small bound
// would allow for.
func (w *waiting) fast(host string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hosts[host]
	return h != nil && h.limit(now, w.perHost) > maxWaitersPerHost
}

// runWaiting starts the waiting deliveries whose host has room now, in
// arrival order per host, and sends back to the queue those that waited
// too long.
func (s *Sender) runWaiting(inflight *sync.WaitGroup) {
	s.waits.mu.Lock()
	defer s.waits.mu.Unlock()
	s.waits.forget(time.Now())
	if s.waits.count == 0 {
		return
	}
	now := s.clock.Now()
	var deferred []hookflow.Deferral
	for host, h := range s.waits.hosts {
		queue := h.queue
		kept, started := queue[:0], 0
		putOff := func(w waiter) {
			due := now.Add(s.busy.delay(host, now, s.opts.BusyDelay, true))
			deferred = append(deferred, hookflow.Deferral{DeliveryID: w.o.ID, DueAt: due})
		}
		for i, w := range queue {
			expired := time.Since(w.since) > maxWait
			if len(s.slots) == cap(s.slots) {
				if expired {
					// It waited maxWait, for the sender's slots as much
					// as the host's: not proof the host is slow.
					putOff(w)
					continue
				}
				kept = append(kept, queue[i:]...)
				break
			}
			release, hold := s.acquire(w.o.host)
			if hold.Reason == hostgate.HoldBusy && expired {
				// It waited maxWait for a slot of the host. If not one
				// attempt to the host started meanwhile, the host is
				// stalled; one with fewer slots than waiters that frees
				// them slowly only waits longer.
				if !h.lastStart.After(w.since) {
					s.busy.stalled(host, now)
				}
				putOff(w)
				continue
			}
			if hold.Reason == hostgate.HoldBusy {
				kept = append(kept, queue[i:]...)
				break
			}
			if hold.Reason == hostgate.HoldNone {
				started++
			}
			s.route(w.o, release, hold, now, inflight, &deferred)
		}
		s.waits.count -= len(queue) - len(kept)
		h.queue = kept
		h.took(started, time.Now())
	}
	s.later(deferred)
}

// next hands the first waiter of host, with its gate slot, to the goroutine
// of an attempt to host that just ended, which sends it with the global
// slot it holds. It leaves to the loop a waiter that waited too long, and
// one the gate holds back for any reason but a free slot.
func (s *Sender) next(host string) (outgoing, func(hostgate.Outcome), bool) {
	s.waits.mu.Lock()
	defer s.waits.mu.Unlock()
	h := s.waits.hosts[host]
	if h == nil || len(h.queue) == 0 || time.Since(h.queue[0].since) > maxWait {
		return outgoing{}, nil, false
	}
	w := h.queue[0]
	release, hold := s.acquire(w.o.host)
	if hold.Reason != hostgate.HoldNone {
		return outgoing{}, nil, false
	}
	h.queue = h.queue[1:]
	s.waits.count--
	h.took(1, time.Now())
	return w.o, release, true
}

// forget drops the hosts that had neither a waiter nor an attempt start
// for a while, so the map does not keep every host ever sent to. It scans
// at most once a second, whatever waits: every start makes a record, and
// one slow host that always has waiters must not pin the rest.
func (w *waiting) forget(now time.Time) {
	if now.Sub(w.forgotAt) < time.Second {
		return
	}
	w.forgotAt = now
	for host, h := range w.hosts {
		if len(h.queue) == 0 && now.Sub(h.lastUsed) > 2*time.Second {
			delete(w.hosts, host)
		}
	}
}

// releaseWaiting sends every waiting delivery back to the queue, due now,
// so a shutdown does not leave them claimed until their leases expire.
func (s *Sender) releaseWaiting(ctx context.Context) {
	now := s.clock.Now()
	var deferred []hookflow.Deferral
	s.waits.mu.Lock()
	for _, h := range s.waits.hosts {
		for _, w := range h.queue {
			deferred = append(deferred, hookflow.Deferral{DeliveryID: w.o.ID, DueAt: now})
		}
	}
	s.waits.hosts, s.waits.count = nil, 0
	s.waits.mu.Unlock()
	s.deferAll(ctx, now, deferred)
}
