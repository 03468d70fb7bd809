package sender

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
)

// Outcomes are written in batches: with the loop's next claim when the
// loop is busy (Store.SaveAndClaim), or else by a goroutine of their own.
// Each write waits for the store's one writer, which under intake load
// means a whole intake transaction; the outcomes that arrive meanwhile go
// into the next batch, so a slower writer makes larger batches, not a
// longer queue of small ones. Attempts used to hand outcomes over a channel of one slot
// per attempt in flight: when a write waited, the channel filled and every
// finished attempt kept its slot until the writer came back, so sending
// stalled with the writer.

// maxCompleteBatch is the most outcomes one Complete call carries.
const maxCompleteBatch = 1000

// outbox holds outcomes until the writer takes them. It holds at most
// limit: beyond that put waits, so a store that cannot keep up slows the
// senders instead of filling memory.
type outbox struct {
	mu      sync.Mutex
	changed *sync.Cond
	pending []hookflow.Completion
	limit   int
	closed  bool
}

func newOutbox(limit int) *outbox {
	o := &outbox{limit: limit}
	o.changed = sync.NewCond(&o.mu)
	return o
}

// put adds c, waiting while the outbox is full.
func (o *outbox) put(c hookflow.Completion) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(o.pending) >= o.limit {
		o.changed.Wait()
	}
	o.pending = append(o.pending, c)
	o.changed.Broadcast()
}

// wait blocks until an outcome is pending or the outbox is closed; false
// when it is closed and empty.
func (o *outbox) wait() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(o.pending) == 0 && !o.closed {
		o.changed.Wait()
	}
	return len(o.pending) > 0
}

// take removes and returns every pending outcome.
func (o *outbox) take() []hookflow.Completion {
	o.mu.Lock()
	defer o.mu.Unlock()
	taken := o.pending
	o.pending = nil
	o.changed.Broadcast()
	return taken
}

// close tells the writer that no outcome will follow.
func (o *outbox) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	o.changed.Broadcast()
}

// loopTakesWithin is how long outcomes are left for the loop to take with
// its next claim while it is busy. Outcomes that wait longer are written on
// their own: recording an outcome late only widens the window in which a
// crash makes the delivery go out again, under the same id.
const loopTakesWithin = 50 * time.Millisecond

// writeOutcomes records the outcomes the loop does not take, until the
// outbox is closed and empty. The first outcome of a batch waits
// CompleteEvery for others to join it, or loopTakesWithin while the loop
// is busy.
func (s *Sender) writeOutcomes() {
	for s.outcomes.wait() {
		wait := s.opts.CompleteEvery
		if s.turned.Load() {
			wait = max(wait, loopTakesWithin)
		}
		time.Sleep(wait)
		batch := s.outcomes.take()
		for len(batch) > 0 {
			n := min(len(batch), maxCompleteBatch)
			s.write(batch[:n])
			batch = batch[n:]
		}
	}
}

// write stores a batch of outcomes, retrying a few times. If the store stays
// unavailable the leases expire and the deliveries are sent again under the
// same id, which receivers de-duplicate on; losing them would be worse.
func (s *Sender) write(batch []hookflow.Completion) {
	if len(batch) == 0 {
		return
	}
	var err error
	for try := range 5 {
		err = s.store.Complete(context.Background(), s.clock.Now(), batch)
		switch {
		case err == nil:
			return
		case errors.Is(err, hookflow.ErrConflict) && len(batch) > 1:
			// One attempt was already recorded by another sender (this one's
			// lease had expired); write the others one by one.
			for _, c := range batch {
				s.write([]hookflow.Completion{c})
			}
			return
		case errors.Is(err, hookflow.ErrConflict):
			s.log.Warn("attempt already recorded by another sender", "delivery_id", batch[0].Attempt.DeliveryID,
				"attempt", batch[0].Attempt.Number)
			return
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	s.log.Error("recording attempt outcomes", "err", err, "count", len(batch))
}
