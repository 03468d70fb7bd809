package sender

import (
	"context"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hostgate"
)

// A delivery whose host is at its limit waits in memory for a slot of that
// host, and starts the moment an attempt to the host ends. Sending it back
// to the queue instead cost a claim and a deferral per delivery and
// capped a busy host at one batch of slots per loop (1,500 webhooks/s to
// one fast host in the benchmark). Waiting is bounded so a slow host's
// backlog cannot pin memory or leases: at most one waiter per global slot,
// each for at most maxWait, after which it goes back to the queue.
const maxWait = 2 * time.Second

// maxWaitersPerHost bounds one host's waiters. A host's backlog beyond it
// goes back to the queue, due a little later, so deliveries to other hosts
// that fell due meanwhile are claimed ahead of it; without the bound, a
// busy host's oldest-due backlog filled every claim and a healthy host's
// new delivery waited behind it (found by the isolation test).
const maxWaitersPerHost = 16

type waiter struct {
	o     outgoing
	since time.Time
}

// waiting is the in-memory wait, by host. Only the loop goroutine uses it.
type waiting struct {
	hosts map[string][]waiter
	count int
}

// add keeps o waiting for host; false when the wait is full.
func (w *waiting) add(host string, o outgoing, limit int) bool {
	if w.count >= limit || len(w.hosts[host]) >= maxWaitersPerHost {
		return false
	}
	if w.hosts == nil {
		w.hosts = map[string][]waiter{}
	}
	w.hosts[host] = append(w.hosts[host], waiter{o: o, since: time.Now()})
	w.count++
	return true
}

// runWaiting starts the waiting deliveries whose host has room now, in
// arrival order per host, and sends back to the queue those that waited
// too long.
func (s *Sender) runWaiting(ctx context.Context, inflight *sync.WaitGroup) {
	if s.waits.count == 0 {
		return
	}
	now := s.clock.Now()
	var deferred []hookflow.Deferral
	for host, queue := range s.waits.hosts {
		kept := queue[:0]
		for i, w := range queue {
			if time.Since(w.since) > maxWait {
				due := now.Add(s.busy.delay(host, now, s.opts.BusyDelay))
				deferred = append(deferred, hookflow.Deferral{DeliveryID: w.o.ID, DueAt: due})
				continue
			}
			if len(s.slots) == cap(s.slots) {
				kept = append(kept, queue[i:]...)
				break
			}
			release, hold := s.acquire(w.o.Delivery)
			if hold.Reason == hostgate.HoldBusy {
				kept = append(kept, queue[i:]...)
				break
			}
			s.route(w.o, release, hold, now, inflight, &deferred)
		}
		s.waits.count -= len(queue) - len(kept)
		if len(kept) == 0 {
			delete(s.waits.hosts, host)
		} else {
			s.waits.hosts[host] = kept
		}
	}
	s.deferAll(ctx, now, deferred)
}

// releaseWaiting sends every waiting delivery back to the queue, due now,
// so a shutdown does not leave them claimed until their leases expire.
func (s *Sender) releaseWaiting(ctx context.Context) {
	now := s.clock.Now()
	var deferred []hookflow.Deferral
	for _, queue := range s.waits.hosts {
		for _, w := range queue {
			deferred = append(deferred, hookflow.Deferral{DeliveryID: w.o.ID, DueAt: now})
		}
	}
	s.waits = waiting{}
	s.deferAll(ctx, now, deferred)
}
