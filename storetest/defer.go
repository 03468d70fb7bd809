package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func testDefer(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", at(-time.Minute)),
		delivery(deliveryID(2), "c1", "u2", at(-time.Minute)),
		delivery(deliveryID(3), "c1", "u3", at(-time.Minute)),
	)
	claim(t, s, t0, 2, time.Minute)

	// 1 and 2 are sending; 3 is pending and must be left alone.
	err := s.Defer(ctx, at(time.Second), []hookflow.Deferral{
		{DeliveryID: deliveryID(1), DueAt: at(10 * time.Second)},
		{DeliveryID: deliveryID(3), DueAt: at(time.Hour)},
	})
	if err != nil {
		t.Fatalf("Defer: %v", err)
	}
	d1, attempts := getDelivery(t, s, deliveryID(1))
	if d1.State != hookflow.StatePending || d1.Attempts != 0 || len(attempts) != 0 || !d1.LeaseUntil.IsZero() {
		t.Errorf("deferred delivery: state %s, attempts %d/%d, lease %v; want pending, 0, no lease",
			d1.State, d1.Attempts, len(attempts), d1.LeaseUntil)
	}
	sameTime(t, "deferred DueAt", d1.DueAt, at(10*time.Second))
	d3, _ := getDelivery(t, s, deliveryID(3))
	sameTime(t, "pending delivery's DueAt", d3.DueAt, at(-time.Minute))

	// Not due before its new time; claimable at it.
	equal(t, "claim before", deliveryIDs(claim(t, s, at(9*time.Second), 10, time.Minute)),
		[]string{deliveryID(3)})
	equal(t, "claim at", deliveryIDs(claim(t, s, at(10*time.Second), 10, time.Minute)),
		[]string{deliveryID(1)})
	if err := s.Defer(ctx, t0, nil); err != nil {
		t.Errorf("Defer(nothing): %v", err)
	}
}

func testQueueStats(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	stats := func(now time.Time) hookflow.QueueStats {
		t.Helper()
		st, err := s.QueueStats(ctx, now)
		if err != nil {
			t.Fatalf("QueueStats: %v", err)
		}
		return st
	}
	if st := stats(t0); st != (hookflow.QueueStats{}) {
		t.Errorf("empty queue: %+v", st)
	}

	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", at(-2*time.Minute)),
		delivery(deliveryID(2), "c1", "u1", at(-time.Minute)),
		delivery(deliveryID(3), "c1", "u1", at(-30*time.Second)),
		delivery(deliveryID(4), "c1", "u1", at(time.Minute)),
	)
	claim(t, s, t0, 1, time.Minute) // the oldest, 1, is now sending
	done := completion(deliveryID(1), 1, 200, hookflow.StateDelivered, time.Time{}, t0)
	claim(t, s, t0, 1, time.Minute) // 2 is sending
	if err := s.Complete(ctx, t0, []hookflow.Completion{done}); err != nil {
		t.Fatalf("Complete: %v", err)
	}

	st := stats(t0)
	want := hookflow.QueueStats{Due: 1, Scheduled: 1, Sending: 1}
	sameTime(t, "OldestDue", st.OldestDue, at(-30*time.Second))
	st.OldestDue = time.Time{}
	equal(t, "stats", st, want)
}

// testDeferOnlyItsLease: a deferral naming a lease moves its delivery only
// while that lease holds; once another claim leased it anew, it is left to
// that claim.
func testDeferOnlyItsLease(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	enqueue(t, s, delivery(deliveryID(1), "c1", "u1", t0), delivery(deliveryID(2), "c1", "u2", t0))
	first := claim(t, s, t0, 2, time.Minute)
	if len(first) != 2 {
		t.Fatalf("claimed %v, want both", deliveryIDs(first))
	}
	// 1's lease expires and a claim takes it again; 2 keeps its lease.
	again := claim(t, s, at(time.Minute), 1, time.Hour)
	equal(t, "claim after expiry", deliveryIDs(again), []string{deliveryID(1)})

	var ds []hookflow.Deferral
	for _, d := range first {
		ds = append(ds, hookflow.Deferral{DeliveryID: d.ID, DueAt: at(time.Hour), LeaseUntil: d.LeaseUntil})
	}
	if err := s.Defer(ctx, at(time.Minute), ds); err != nil {
		t.Fatalf("Defer: %v", err)
	}
	d1, _ := getDelivery(t, s, deliveryID(1))
	if d1.State != hookflow.StateSending {
		t.Errorf("deferred under the old lease, the re-claimed delivery is %s, want sending", d1.State)
	}
	sameTime(t, "its lease", d1.LeaseUntil, at(time.Minute+time.Hour))
	if d2, _ := getDelivery(t, s, deliveryID(2)); d2.State != hookflow.StatePending {
		t.Errorf("deferred under its own lease, the delivery is %s, want pending", d2.State)
	}
}
