// Package sender runs the delivery queue: it claims due deliveries in
// batches under a lease, renders those not yet rendered (once: the request is
// stored before the first attempt, so every attempt sends the same bytes),
// sends them concurrently, and records the outcomes in batches.
//
// A delivery's lease outlasts the longest attempt (request timeout plus a
// margin), so a slow receiver never gets a second copy while the first
// attempt is still running. If the process dies, the lease expires and
// another sender (or this one, restarted) claims the delivery again, with
// the same id and the same stored request.
package sender

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/render"
)

// Options tune a Sender. Zero values take the defaults.
type Options struct {
	// BatchSize is the most deliveries claimed at once. Defaults to 256.
	BatchSize int
	// Concurrency is the most attempts in flight at once. Defaults to 128.
	Concurrency int
	// Lease is how long a claim holds. Defaults to DefaultLease of the
	// client's request timeout. It must be at least MinLease of that
	// timeout: a delivery a store hands off (HandOffer) may start with up
	// to a tenth of it used, and an attempt is started only with the
	// timeout and a margin left, so with a shorter lease every delivery
	// is given back instead of sent (New logs an error).
	Lease time.Duration
	// PollInterval bounds how long a due delivery can wait when no wake-up
	// arrives (another node enqueued it, or a retry fell due). Defaults to 1s.
	PollInterval time.Duration
	// CompleteEvery is how long the first outcome of a batch waits for
	// others to join it before the batch is written; outcomes that arrive
	// while a batch is being written go into the next one. Defaults to
	// 5ms.
	CompleteEvery time.Duration
	// Gate isolates hosts: per-host concurrency, the unhealthy-host
	// breaker and receiver-driven slowing. Nil means no isolation.
	Gate *hostgate.Gate
	// BusyDelay is how long a delivery whose host has no free slot waits in
	// the queue before it is claimed again, the first time; while the host
	// stays busy the delay doubles, up to 5s (see busy.go). Defaults to
	// 100ms.
	BusyDelay time.Duration
	// Observer counts attempts and outcomes; metrics.Metrics is one.
	Observer Observer
}

// Observer is told of every attempt and of every delivery outcome.
type Observer interface {
	Attempt(host string, status int, errorKind string, d time.Duration)
	Finished(state string, n int)
}

// noObserver is the Observer of a sender without metrics.
type noObserver struct{}

func (noObserver) Attempt(string, int, string, time.Duration) {}
func (noObserver) Finished(string, int)                       {}

// Store is what the sender needs of the storage contract.
type Store = hookflow.Store

// DefaultLease is the lease of a sender whose Options leave it out, for a
// request timeout: the timeout and a minute, and at least MinLease.
func DefaultLease(timeout time.Duration) time.Duration {
	return max(timeout+time.Minute, MinLease(timeout))
}

func (o *Options) defaults(timeout time.Duration) {
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 128
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease(timeout)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.CompleteEvery <= 0 {
		o.CompleteEvery = 5 * time.Millisecond
	}
	if o.BusyDelay <= 0 {
		o.BusyDelay = 100 * time.Millisecond
	}
	if o.Observer == nil {
		o.Observer = noObserver{}
	}
}

// Sender claims, renders, sends and records deliveries.
type Sender struct {
	// waits holds deliveries waiting for a slot of their host (the loop
	// adds to it, the goroutines of ended attempts take from it, under its
	// lock), and busy how long the rest of a busy host's backlog is sent
	// back for (the loop's alone).
	waits waiting
	busy  busyHosts
	// claimCap is the most the next claim takes; see sizeClaims.
	claimCap int
	// deferred are deliveries the loop hands back to the queue with its
	// next write (see later).
	deferred []hookflow.Deferral

	store  Store
	client *deliver.Client
	policy deliver.Policy
	clock  hookflow.Clock
	log    *slog.Logger
	opts   Options

	templates *templates
	wake      chan struct{}
	slots     chan struct{}
	outcomes  *outbox
	// turned says the loop's last write stored or claimed something, so
	// it will soon take the pending outcomes with its next one.
	turned atomic.Bool
}

// New returns a Sender. Call Run to start it.
func New(store Store, client *deliver.Client, policy deliver.Policy, clock hookflow.Clock, log *slog.Logger, opts Options) *Sender {
	opts.defaults(client.Timeout())
	if least := MinLease(client.Timeout()); opts.Lease < least {
		log.Error("lease too short for the request timeout: every delivery will be given back, none sent",
			"lease", opts.Lease, "request_timeout", client.Timeout(), "min_lease", least)
	}
	return &Sender{
		store:     store,
		client:    client,
		policy:    policy,
		clock:     clock,
		log:       log,
		opts:      opts,
		busy:      busyHosts{},
		waits:     waiting{perHost: perHostOf(opts.Gate)},
		claimCap:  opts.BatchSize,
		templates: newTemplates(store, render.NewEngine()),
		wake:      make(chan struct{}, 1),
		slots:     make(chan struct{}, opts.Concurrency),
		outcomes:  newOutbox(max(4*opts.Concurrency, 1024)),
	}
}

// perHostOf is the most attempts gate lets one host have in flight, 0
// for none.
func perHostOf(gate *hostgate.Gate) int {
	if gate == nil {
		return 0
	}
	return gate.MaxPerHost()
}

// Wake tells the sender that deliveries may be due now. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run works the queue until ctx is done, then waits for attempts in flight
// to finish and their outcomes to be written.
func (s *Sender) Run(ctx context.Context) error {
	var inflight sync.WaitGroup
	written := make(chan struct{})
	go func() {
		s.writeOutcomes()
		close(written)
	}()

	stop := s.handOff()
	s.loop(ctx, &inflight)
	stop(ctx)

	inflight.Wait()
	s.outcomes.close()
	<-written
	return nil
}

// handOff asks a store that can (hookflow.HandOffer) to hand this sender
// the deliveries it enqueues due now, and returns what ends that.
func (s *Sender) handOff() (stop func(context.Context)) {
	h, ok := s.store.(hookflow.HandOffer)
	if !ok {
		return func(context.Context) {}
	}
	end := h.HandOff(s.opts.Lease, handOffMax*s.opts.BatchSize)
	return func(ctx context.Context) {
		// Like deferAll, it outlives a cancelled run context.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := end(dctx); err != nil {
			// Their leases expire and they are claimed then.
			s.log.Warn("handing back deliveries not claimed", "err", err)
		}
	}
}

// handOffMax is how many batches of deliveries a store holds for the
// sender in memory (hookflow.HandOffer); the rest wait in the table. Each
// held delivery costs about 2 KB of heap. At 32 batches (and 4 MiB of
// payloads) the bench's e2e backlog of 20,000 overflowed to the table,
// and half its deliveries were claimed and read back from there; at 48
// (and 8 MiB) nearly none are: 5 % less CPU per delivery, peak RSS 158-162
// -> 168-174 MB. At 64 batches, with the page cache of then, it was 196-216.
const handOffMax = 48

// loop claims, renders and dispatches. A batch rendered in one round is
// stored with the next round's claim, in one write, and sent once that
// write is done: under intake load every write waits for the writer, and
// one write a batch instead of two doubled what the sender got out. The
// rendering itself runs beside the loop (see renderer), so that write and
// the next batch's rendering overlap.
func (s *Sender) loop(ctx context.Context, inflight *sync.WaitGroup) {
	var held prepared // rendered, to store with the next claim
	var r renderer    // the batch being rendered, if any
	defer func() {
		s.release(ctx, held)
		s.release(ctx, r.wait())
		s.releaseWaiting(ctx)
		s.flushDeferred(ctx)
	}()
	for ctx.Err() == nil {
		s.runWaiting(inflight)
		limit := s.claimLimit(len(held.fresh) + r.n)
		if limit == 0 && held.empty() {
			if r.active() {
				held, _ = s.collect(ctx, held, r.wait(), inflight)
			} else {
				s.waitForRoom(ctx)
			}
			continue
		}

		done := s.outcomes.take()
		w := hookflow.QueueWrite{Completions: done, Rendered: held.results, Deferrals: s.deferred}
		batch, err := s.store.SaveAndClaim(ctx, s.clock.Now(), w, limit, s.opts.Lease)
		if err != nil {
			held = s.writeFailed(ctx, err, done, held)
			continue
		}
		s.deferred = nil
		s.turned.Store(len(batch) > 0 || len(held.results) > 0)
		s.stored(held.results)
		sentBack := s.dispatch(ctx, held.fresh, inflight)
		held = prepared{}
		if r.active() {
			var back bool
			held, back = s.collect(ctx, held, r.wait(), inflight)
			sentBack = sentBack || back
		}
		if len(batch) == 0 {
			if limit > 0 && held.empty() {
				s.idle(ctx)
			}
			continue
		}

		full := len(batch) == limit
		// Campaign rate limits (pacing.go) send some back to wait.
		lookup := s.templates.batch()
		if batch = s.pace(ctx, lookup, batch); len(batch) == 0 {
			continue
		}
		if full {
			// More is due: render beside the next write.
			r.start(len(batch), func() prepared { return s.prepare(ctx, lookup, batch) })
		} else {
			// Caught up: render now, so the batch goes out with the next
			// write rather than the one after it.
			var back bool
			held, back = s.collect(ctx, held, s.prepare(ctx, lookup, batch), inflight)
			sentBack = sentBack || back
		}
		s.sizeClaims(sentBack, full)
		if sentBack && held.empty() {
			// Some went back because their host is at its limit. Claiming
			// again before an attempt ends would bring more of the same
			// back; an attempt's end or an enqueue wakes the loop.
			s.sleep(ctx, maxWait/4)
		}
	}
}

// writeFailed handles a SaveAndClaim that failed, and returns what is
// still held for the next write.
func (s *Sender) writeFailed(ctx context.Context, err error, done []hookflow.Completion, held prepared) prepared {
	// The outcomes are written on their own, which sorts out an attempt
	// another sender recorded (ErrConflict) one by one, and so are the
	// deferrals.
	s.write(done)
	s.flushDeferred(ctx)
	if len(done) > 0 && errors.Is(err, hookflow.ErrConflict) {
		return held // the renders are stored on the next turn
	}
	if ctx.Err() == nil {
		s.log.Error("storing renders and claiming deliveries", "err", err, "renders", len(held.results))
		s.sleep(ctx, s.opts.PollInterval)
	}
	// Without the stored render the bytes of a later retry could differ,
	// so the fresh deliveries are not sent: they go back to the queue, to
	// be rendered again.
	s.release(ctx, held)
	return prepared{}
}

// renderer prepares one claimed batch at a time beside the loop. While it
// renders, the loop stores the batch before and claims the next, so the
// writer and the renderer work at once instead of in turn: at one fast
// host the sender spent as long rendering as writing. It costs a batch one
// more write before it goes out, so the loop uses it only while claims
// come back full, with more due; a sender that has caught up renders in
// turn, for latency (the bench's neighbours p99 was 1.6 times higher with
// the renderer always on).
type renderer struct {
	n    int // deliveries being prepared
	done chan prepared
}

// start prepares n deliveries with prepare, beside the caller.
func (r *renderer) start(n int, prepare func() prepared) {
	r.n, r.done = n, make(chan prepared, 1)
	go func() { r.done <- prepare() }()
}

func (r *renderer) active() bool { return r.done != nil }

// wait returns the prepared batch once it is ready; nothing when none was
// started.
func (r *renderer) wait() prepared {
	if r.done == nil {
		return prepared{}
	}
	p := <-r.done
	r.n, r.done = 0, nil
	return p
}

// collect dispatches the deliveries of p whose requests were stored before,
// and adds the rest of p to held, to be stored with the next claim. It
// reports whether a delivery went back for its host being busy.
func (s *Sender) collect(ctx context.Context, held, p prepared, inflight *sync.WaitGroup) (prepared, bool) {
	sentBack := s.dispatch(ctx, p.now, inflight)
	held.fresh = append(held.fresh, p.fresh...)
	held.results = append(held.results, p.results...)
	return held, sentBack
}

// claimLimit is how many deliveries the next claim may take, pending of
// them already rendered and about to take a slot. Waiting deliveries count
// against the slots too: they were claimed and will take one, and
// claiming more than can start only sends the surplus back to the queue.
func (s *Sender) claimLimit(pending int) int {
	waiting := s.waits.waiters()
	free := cap(s.slots) - len(s.slots) - waiting - pending
	if free <= 0 || waiting > 0 && free < s.opts.BatchSize/4 {
		return 0
	}
	return min(free, s.opts.BatchSize, s.claimCap)
}

// sizeClaims halves the claim size when a claim brought deliveries whose
// host could not take them, down to a sixteenth of a batch, and doubles it
// back after full claims that all found room. A host at its limit whose
// turnover is not known yet (the first claims, or a loaded machine) would
// otherwise have most of every full-size claim go back to the queue and be
// claimed again.
func (s *Sender) sizeClaims(sentBack, full bool) {
	switch {
	case sentBack:
		s.claimCap = max(s.opts.BatchSize/16, 1, s.claimCap/2)
	case full:
		s.claimCap = min(s.opts.BatchSize, 2*s.claimCap)
	}
}

// release hands the deliveries of a batch rendered but not stored, or not
// sent, back to the queue, due now, so a failed write or a shutdown does
// not leave them claimed until their leases expire. Nothing of them was
// sent.
func (s *Sender) release(ctx context.Context, p prepared) {
	now := s.clock.Now()
	ds := make([]hookflow.Deferral, 0, len(p.results)+len(p.now))
	for _, r := range p.results {
		ds = append(ds, hookflow.Deferral{DeliveryID: r.DeliveryID, DueAt: now})
	}
	for _, o := range p.now {
		ds = append(ds, hookflow.Deferral{DeliveryID: o.ID, DueAt: now})
	}
	s.deferAll(ctx, now, ds)
}

// dispatch starts an attempt for each ready delivery whose host lets it
// through. A delivery whose host is at its limit waits in memory for a slot
// (see waiting.go); the others go back to the queue without spending an
// attempt (wait full, or host slowed by the receiver), or are recorded as
// held with the synthetic 598 status (host paused as unhealthy) and retried
// after the pause.
//
// It reports whether it sent a delivery back for its host being busy.
func (s *Sender) dispatch(ctx context.Context, ready []outgoing, inflight *sync.WaitGroup) (sentBack bool) {
	var deferred []hookflow.Deferral
	now := s.clock.Now()
	s.busy.sweep(now)
	for _, d := range ready {
		release, hold := s.acquire(d.host)
		// The wait runs on the real clock, as the attempts do.
		switch host, at := d.host, time.Now(); {
		case hold.Reason == hostgate.HoldNone && s.waits.start(host, at):
			// A slot free at claim time while none of the host's
			// deliveries waits: the host is not busy any more.
			s.busy.free(host)
		case hold.Reason == hostgate.HoldBusy && s.waits.add(host, d, cap(s.slots), at):
			continue
		case hold.Reason == hostgate.HoldBusy:
			sentBack = true
		}
		s.route(d, release, hold, now, inflight, &deferred)
	}
	s.later(deferred)
	return sentBack
}

// route acts on the gate's answer for one delivery: start its attempt, or
// defer or hold it.
func (s *Sender) route(d outgoing, release func(hostgate.Outcome), hold hostgate.Hold, now time.Time,
	inflight *sync.WaitGroup, deferred *[]hookflow.Deferral) {
	switch hold.Reason {
	case hostgate.HoldNone:
		s.slots <- struct{}{}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			defer func() { <-s.slots }()
			for ok := true; ok; d, release, ok = s.next(d.host) {
				s.attempt(d, release)
			}
			// A slot is free: the loop may claim, or start a waiter the
			// gate held back.
			s.Wake()
		}()
	case hostgate.HoldBusy:
		host := d.host
		// A fast host frees a slot within milliseconds: its surplus comes
		// back soon. Only a slow one's backlog is put off for longer.
		due := now.Add(s.busy.delay(host, now, s.opts.BusyDelay, !s.waits.fast(host, now)))
		*deferred = append(*deferred, hookflow.Deferral{DeliveryID: d.ID, DueAt: due})
	case hostgate.HoldSlowed:
		*deferred = append(*deferred, hookflow.Deferral{DeliveryID: d.ID, DueAt: hold.Until})
	case hostgate.HoldPaused:
		s.held(d.Delivery, hold, now)
	}
}

// later hands deliveries back to the queue with the loop's next write
// (SaveAndClaim), or before the loop next waits. With a slow host, busy
// deliveries went back in a write of their own each round, 200 writes a
// second in the bench's neighbours scenario, and every delivery to a
// healthy host waited for them.
func (s *Sender) later(ds []hookflow.Deferral) {
	s.deferred = append(s.deferred, ds...)
}

// flushDeferred hands back at once what later holds.
func (s *Sender) flushDeferred(ctx context.Context) {
	ds := s.deferred
	s.deferred = nil
	s.deferAll(ctx, s.clock.Now(), ds)
}

// deferAll hands deliveries back to the queue. It outlives a cancelled run
// context, so a shutdown does not leave them claimed until their leases
// expire.
func (s *Sender) deferAll(ctx context.Context, now time.Time, deferred []hookflow.Deferral) {
	if len(deferred) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.store.Defer(dctx, now, deferred); err != nil {
		// The leases expire and the deliveries are claimed again.
		s.log.Error("deferring deliveries", "err", err, "count", len(deferred))
	}
}

func (s *Sender) acquire(host string) (func(hostgate.Outcome), hostgate.Hold) {
	if s.opts.Gate == nil {
		return nil, hostgate.Hold{}
	}
	return s.opts.Gate.Acquire(host)
}

// held records the synthetic 598 attempt of a delivery to a paused host.
// The retry is due when the pause ends, spread over a tenth of a minute so
// the probes are not met by a stampede; the retry policy is not consulted,
// because a pause must never end a delivery: held deliveries are kept.
func (s *Sender) held(d *hookflow.Delivery, hold hostgate.Hold, now time.Time) {
	a := hold.Attempt(now)
	a.DeliveryID, a.Number = d.ID, d.Attempts+1
	due := hold.Until.Add(time.Duration(rand.Int64N(int64(6 * time.Second))))
	s.log.Debug("host paused, delivery held", "delivery_id", d.ID, "host", hold.Host, "retry_at", due)
	s.opts.Observer.Finished(hookflow.StatePending, 1)
	s.outcomes.put(hookflow.Completion{Attempt: a, State: hookflow.StatePending, DueAt: due})
}

// attempt makes one HTTP attempt and hands its outcome to the writer. It
// deliberately ignores the run context: an attempt under way finishes (it
// is bounded by the request timeout) so its outcome is recorded rather than
// lost to a shutdown.
// Each attempt is signed afresh: its own webhook-timestamp, read from the
// clock now, over the stored bytes.
func (s *Sender) attempt(o outgoing, release func(hostgate.Outcome)) {
	d := o.Delivery
	if s.leaseTooShort(d) {
		s.giveBack(o, release)
		return
	}
	n := d.Attempts + 1
	a := s.client.SendSigned(context.Background(), o.signer, d.ID, d.Request, n, s.clock.Now())
	a.DeliveryID = d.ID
	a.Number = n
	if release != nil {
		release(hostgate.OutcomeOf(a, false))
	}
	s.opts.Observer.Attempt(o.host, a.Status, a.ErrorKind, a.Duration)

	first := d.FirstAttemptAt
	if first.IsZero() {
		first = a.StartedAt
	}
	// The end is read from the same clock as StartedAt, so retry times
	// stay on one timeline when the clock is not the wall's.
	state, due := s.policy.DecideAt(a, first, s.clock.Now(), rand.Float64())
	s.logAttempt(o, a, state, due)
	s.opts.Observer.Finished(state, 1)
	s.outcomes.put(hookflow.Completion{Attempt: a, State: state, DueAt: due})
}

// outcomeMargin is the lease an attempt must leave after its deadline, for
// its outcome to be recorded.
const outcomeMargin = 2 * time.Second

// MinLease is the shortest lease that lets every delivery start its attempt
// with timeout and outcomeMargin left: one the hand-off held for a tenth
// of its lease, then waiting up to maxWait for a slot of its host. With a
// shorter one, attempts are given back rather than started (giveBack).
func MinLease(timeout time.Duration) time.Duration {
	return ((timeout+outcomeMargin+maxWait)*10/9 + time.Second - 1).Truncate(time.Second)
}

// leaseTooShort reports whether d's lease could end before an attempt
// started now is over and recorded. The lease is checked when the attempt
// starts, not only when it is set: a delivery may have waited in the
// hand-off (up to a tenth of the lease), for a slot of its host, or behind
// a long write, and an attempt that outlives its lease can be claimed and
// sent again, by this node or another, while the receiver still has it.
func (s *Sender) leaseTooShort(d *hookflow.Delivery) bool {
	return !d.LeaseUntil.IsZero() &&
		d.LeaseUntil.Sub(s.clock.Now()) < s.client.Timeout()+outcomeMargin
}

// giveBack hands a delivery whose lease is too short back to the queue,
// due now and without an attempt, and frees its host's slot. It writes at
// once, from the attempt's goroutine: it is rare, and a sign that the
// lease is set too close to the request timeout or that writes are slow.
func (s *Sender) giveBack(o outgoing, release func(hostgate.Outcome)) {
	if release != nil {
		release(hostgate.Outcome{ErrorKind: deliver.KindCanceled})
	}
	now := s.clock.Now()
	s.log.Warn("lease too short for an attempt; delivery handed back",
		"delivery_id", o.ID, "host", o.host, "lease_left", o.LeaseUntil.Sub(now),
		"request_timeout", s.client.Timeout())
	s.deferAll(context.Background(), now, []hookflow.Deferral{
		{DeliveryID: o.ID, DueAt: now, LeaseUntil: o.LeaseUntil}})
}

func (s *Sender) logAttempt(o outgoing, a hookflow.Attempt, state string, due time.Time) {
	failed := state != hookflow.StateDelivered && state != hookflow.StatePending
	if !failed && !s.log.Enabled(context.Background(), slog.LevelDebug) {
		// Every attempt passes here, and only a failed delivery is logged
		// at Info: building the attributes of a line that is not written
		// is work for nothing.
		return
	}
	attrs := []any{
		"delivery_id", o.ID, "campaign_id", o.CampaignID, "host", o.host,
		"attempt", a.Number, "status", a.Status, "duration_ms", a.Duration.Milliseconds(),
	}
	switch state {
	case hookflow.StateDelivered:
		s.log.Debug("delivered", attrs...)
	case hookflow.StatePending:
		s.log.Debug("attempt failed, retry scheduled", append(attrs, "err", a.Error, "retry_at", due)...)
	default:
		s.log.Info("delivery failed", append(attrs, "err", a.Error)...)
	}
}

// idle waits until a wake-up, the next due time, or the poll interval,
// whichever comes first.
func (s *Sender) idle(ctx context.Context) {
	wait := s.opts.PollInterval
	if s.waits.waiters() > 0 {
		// Waiting deliveries start when a slot of their host frees (a
		// wake-up) and must not outstay maxWait.
		wait = min(wait, maxWait/4)
	}
	if next, ok, err := s.store.NextDue(ctx); err == nil && ok {
		if d := next.Sub(s.clock.Now()); d < wait {
			wait = max(d, time.Millisecond)
		}
	}
	s.sleep(ctx, wait)
}

func (s *Sender) sleep(ctx context.Context, d time.Duration) {
	s.flushDeferred(ctx)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s.wake:
	case <-t.C:
	}
}

// waitForRoom blocks until an attempt finishes, or, when slots are free
// but taken by waiting deliveries, until a wake-up (an attempt's end sends
// one) or the longest a waiter may go unchecked.
func (s *Sender) waitForRoom(ctx context.Context) {
	s.flushDeferred(ctx)
	if len(s.slots) < cap(s.slots) {
		s.sleep(ctx, maxWait/4)
		return
	}
	select {
	case <-ctx.Done():
	case s.slots <- struct{}{}:
		<-s.slots
	}
}
