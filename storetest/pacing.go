package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// pace calls PaceClaimed and fails the test on error.
func pace(t *testing.T, s hookflow.Store, now time.Time, campaignID string, perMinute int,
	ds []*hookflow.Delivery) []hookflow.PaceDecision {
	t.Helper()
	got, err := s.PaceClaimed(context.Background(), now, campaignID, perMinute, ds)
	if err != nil {
		t.Fatalf("PaceClaimed: %v", err)
	}
	return got
}

// actions describes decisions as "action@offset from t0", for comparing.
func actions(ds []hookflow.PaceDecision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.DeliveryID + ":" + d.Action.String()
		if !d.Slot.IsZero() {
			out[i] += "@" + d.Slot.Sub(t0).String()
		}
	}
	return out
}

// testPaceClaimed is field report H2 at the store: five deliveries at one
// a minute, one now and four a minute apart, back in the queue with their
// attempts unchanged; each takes its held slot when it comes due, and a
// retry takes a new slot after all of them.
func testPaceClaimed(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	var ds []*hookflow.Delivery
	for i := 1; i <= 5; i++ {
		ds = append(ds, delivery(deliveryID(i), "c1", "u1", t0))
	}
	enqueue(t, s, ds...)
	got := pace(t, s, t0, "c1", 1, claim(t, s, t0, 10, time.Minute))
	equal(t, "decisions at t0", actions(got), []string{
		deliveryID(1) + ":send@0s", deliveryID(2) + ":wait@1m0s", deliveryID(3) + ":wait@2m0s",
		deliveryID(4) + ":wait@3m0s", deliveryID(5) + ":wait@4m0s"})

	d1, _ := getDelivery(t, s, deliveryID(1))
	equal(t, "sent delivery's state", d1.State, hookflow.StateSending)
	for i := 2; i <= 5; i++ {
		d, attempts := getDelivery(t, s, deliveryID(i))
		if d.State != hookflow.StatePending || d.Attempts != 0 || len(attempts) != 0 || !d.LeaseUntil.IsZero() {
			t.Errorf("waiting delivery %d: state %s, attempts %d/%d, lease %v; want pending, 0, no lease",
				i, d.State, d.Attempts, len(attempts), d.LeaseUntil)
		}
		sameTime(t, "waiting delivery's DueAt", d.DueAt, at(time.Duration(i-1)*time.Minute))
	}

	// The first attempt fails; its retry, due 10 s later, queues behind
	// the four reserved slots.
	retry := completion(deliveryID(1), 1, 500, hookflow.StatePending, at(10*time.Second), t0)
	if err := s.Complete(ctx, t0, []hookflow.Completion{retry}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got = pace(t, s, at(10*time.Second), "c1", 1, claim(t, s, at(10*time.Second), 10, time.Minute))
	equal(t, "the retry", actions(got), []string{deliveryID(1) + ":wait@5m0s"})

	// At its slot the second goes, on the slot it holds: no new one.
	got = pace(t, s, at(time.Minute), "c1", 1, claim(t, s, at(time.Minute), 10, time.Minute))
	equal(t, "at 1m", actions(got), []string{deliveryID(2) + ":send@1m0s"})

	// A delivery sent back without an attempt after it took its slot (its
	// host was busy) has used its hold up: it takes a new slot.
	if err := s.Defer(ctx, at(time.Minute), []hookflow.Deferral{{DeliveryID: deliveryID(2), DueAt: at(time.Minute)}}); err != nil {
		t.Fatalf("Defer: %v", err)
	}
	got = pace(t, s, at(time.Minute), "c1", 1, claim(t, s, at(time.Minute), 10, time.Minute))
	equal(t, "after a deferral", actions(got), []string{deliveryID(2) + ":wait@6m0s"})

	// Another campaign has its own budget.
	enqueue(t, s, delivery(deliveryID(9), "c2", "u1", at(time.Minute)))
	got = pace(t, s, at(time.Minute), "c2", 1, claim(t, s, at(time.Minute), 10, time.Minute))
	equal(t, "another campaign", actions(got), []string{deliveryID(9) + ":send@1m0s"})
	if got := pace(t, s, t0, "c1", 1, nil); len(got) != 0 {
		t.Errorf("PaceClaimed(nothing) = %v", got)
	}
}

// testPaceAbortsBeyond72h: at one a minute, 72 hours hold 4,320 slots;
// the deliveries beyond them end aborted with the reason, and take no
// slot, so the next delivery after them waits behind the 4,320th.
func testPaceAbortsBeyond72h(t *testing.T, s hookflow.Store) {
	const slots = 72 * 60
	var ds []*hookflow.Delivery
	for i := range slots + 2 {
		ds = append(ds, delivery(deliveryID(i), "c1", "u1", t0))
	}
	enqueue(t, s, ds...)
	got := pace(t, s, t0, "c1", 1, claim(t, s, t0, slots+10, time.Hour))
	if len(got) != slots+2 {
		t.Fatalf("%d decisions, want %d", len(got), slots+2)
	}
	equal(t, "the last slot", actions(got[slots-1:]), []string{
		deliveryID(slots-1) + ":wait@71h59m0s", deliveryID(slots) + ":abort", deliveryID(slots+1) + ":abort"})

	d, attempts := getDelivery(t, s, deliveryID(slots))
	if d.State != hookflow.StateAborted || d.AbortReason != hookflow.PaceAbortReason(1) || len(attempts) != 0 {
		t.Errorf("delivery beyond 72 h: state %s, reason %q, %d attempts; want aborted, %q, none",
			d.State, d.AbortReason, len(attempts), hookflow.PaceAbortReason(1))
	}

	// Half a minute later the first slot beyond is less than 72 h away.
	enqueue(t, s, delivery(deliveryID(slots+2), "c1", "u1", at(30*time.Second)))
	got = pace(t, s, at(30*time.Second), "c1", 1, claim(t, s, at(30*time.Second), 10, time.Minute))
	equal(t, "a minute later", actions(got), []string{deliveryID(slots+2) + ":wait@72h0m0s"})
}

// testPaceConcurrentReservers: claimers that claim and pace one campaign's
// deliveries at the same time never get the same slot, and leave none
// unused: the slots are exactly one interval apart from now.
func testPaceConcurrentReservers(t *testing.T, s hookflow.Store) {
	const rows, claimers, batch, perMinute = 200, 4, 10, 600
	var ds []*hookflow.Delivery
	for i := range rows {
		ds = append(ds, delivery(deliveryID(i), "c1", "u1", t0))
	}
	enqueue(t, s, ds...)

	var mu sync.Mutex
	var slots []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.Claim(context.Background(), t0, batch, time.Hour)
				if err == nil && len(got) == 0 {
					return
				}
				var decisions []hookflow.PaceDecision
				if err == nil {
					decisions, err = s.PaceClaimed(context.Background(), t0, "c1", perMinute, got)
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, d := range decisions {
					slots = append(slots, d.Slot.Sub(t0))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Claim or PaceClaimed: %v", err)
	}

	want := make([]time.Duration, rows)
	for i := range want {
		want[i] = time.Duration(i) * hookflow.PaceInterval(perMinute)
	}
	slices.Sort(slots)
	equal(t, "slots", slots, want)
}

// testReleasePaced: after a limit change the waiting deliveries are due at
// once and paced again, under the new limit, after the last one sent.
func testReleasePaced(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", t0),
		delivery(deliveryID(2), "c1", "u2", t0),
		delivery(deliveryID(3), "c1", "u3", t0),
		delivery(deliveryID(4), "c2", "u1", t0),
	)
	pace(t, s, t0, "c1", 1, claim(t, s, t0, 3, time.Minute))
	pace(t, s, t0, "c2", 1, claim(t, s, t0, 3, time.Minute)) // 4 sends at once

	if err := s.ReleasePaced(ctx, at(time.Second), "c1"); err != nil {
		t.Fatalf("ReleasePaced: %v", err)
	}
	for i := 2; i <= 3; i++ {
		d, _ := getDelivery(t, s, deliveryID(i))
		sameTime(t, "released delivery's DueAt", d.DueAt, at(time.Second))
		equal(t, "released delivery's state", d.State, hookflow.StatePending)
	}
	got := pace(t, s, at(time.Second), "c1", 60, claim(t, s, at(time.Second), 10, time.Minute))
	equal(t, "paced again at 60 a minute", actions(got), []string{
		deliveryID(2) + ":send@1s", deliveryID(3) + ":wait@2s"})

	// Releasing a campaign with nothing waiting changes nothing.
	if err := s.ReleasePaced(ctx, at(time.Second), "c9"); err != nil {
		t.Fatalf("ReleasePaced(c9): %v", err)
	}
}
