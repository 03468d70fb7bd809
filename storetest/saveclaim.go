package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// testSaveAndClaim stores a claimed batch's renders with the claim of the
// next batch: both take effect, or, when the save is refused, neither.
func testSaveAndClaim(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", at(-2*time.Second)),
		delivery(deliveryID(2), "c1", "u2", at(-2*time.Second)),
		delivery(deliveryID(3), "c1", "u3", at(-time.Second)),
		delivery(deliveryID(4), "c1", "u4", at(time.Second)),
	)
	first := claim(t, s, t0, 2, time.Minute)
	equal(t, "first claim", deliveryIDs(first), []string{deliveryID(1), deliveryID(2)})

	req := &hookflow.Request{Method: "POST", URL: "https://example.com/hook",
		Headers: []hookflow.Header{{Name: "Content-Type", Value: "application/json"}},
		Body:    []byte(`{"note":"a&b<c>",  "k":1}`)}
	got, err := s.SaveAndClaim(ctx, at(time.Second), hookflow.QueueWrite{Rendered: []hookflow.RenderResult{
		{DeliveryID: deliveryID(1), Request: req},
		{DeliveryID: deliveryID(2), AbortReason: "not a customer"},
	}}, 10, time.Minute)
	if err != nil {
		t.Fatalf("SaveAndClaim: %v", err)
	}
	// The third is due, and the fourth at the claim's time; the first is
	// still leased.
	equal(t, "claimed with the save", deliveryIDs(got), []string{deliveryID(3), deliveryID(4)})
	for _, d := range got {
		equal(t, "claimed state", d.State, hookflow.StateSending)
		sameTime(t, "claimed LeaseUntil", d.LeaseUntil, at(time.Second+time.Minute))
	}
	d, _ := getDelivery(t, s, deliveryID(1))
	equal(t, "saved state", d.State, hookflow.StateSending)
	equal(t, "saved request", d.Request, req)
	sameTime(t, "saved LeaseUntil", d.LeaseUntil, at(time.Minute))
	d, _ = getDelivery(t, s, deliveryID(2))
	equal(t, "aborted state", d.State, hookflow.StateAborted)
	equal(t, "abort reason", d.AbortReason, "not a customer")

	// A refused save claims nothing: the expired leases stay unclaimed.
	_, err = s.SaveAndClaim(ctx, at(time.Hour), hookflow.QueueWrite{Rendered: []hookflow.RenderResult{
		{DeliveryID: deliveryID(3), Error: "liquid: unknown tag"},
		{DeliveryID: "nope", Error: "liquid: unknown tag"},
	}}, 10, time.Minute)
	if !errors.Is(err, hookflow.ErrNotFound) {
		t.Fatalf("SaveAndClaim(unknown) error = %v, want ErrNotFound", err)
	}
	d, _ = getDelivery(t, s, deliveryID(3))
	equal(t, "state after refused save", d.State, hookflow.StateSending)
	sameTime(t, "lease after refused save", d.LeaseUntil, at(time.Second+time.Minute))

	// Nothing to save is a plain claim, and a zero limit a plain save.
	got, err = s.SaveAndClaim(ctx, at(time.Hour), hookflow.QueueWrite{}, 1, time.Minute)
	if err != nil {
		t.Fatalf("SaveAndClaim(nothing to save): %v", err)
	}
	equal(t, "claim without a save", deliveryIDs(got), []string{deliveryID(1)})
	got, err = s.SaveAndClaim(ctx, at(time.Hour), hookflow.QueueWrite{Rendered: []hookflow.RenderResult{
		{DeliveryID: deliveryID(3), Error: "liquid: unknown tag"},
	}}, 0, time.Minute)
	if err != nil || len(got) != 0 {
		t.Fatalf("SaveAndClaim(limit 0) = %d deliveries, %v; want none, nil", len(got), err)
	}
	d, _ = getDelivery(t, s, deliveryID(3))
	equal(t, "failed by a save without a claim", d.State, hookflow.StateFailed)
}

// testSaveAndClaimCompletes records outcomes with the claim: a retry's
// outcome and the claim that takes it again commit together, and an
// attempt already recorded refuses the whole write.
func testSaveAndClaimCompletes(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", t0),
		delivery(deliveryID(2), "c1", "u2", t0),
		delivery(deliveryID(3), "c1", "u3", at(time.Second)),
	)
	claim(t, s, t0, 2, time.Minute)

	got, err := s.SaveAndClaim(ctx, at(time.Second), hookflow.QueueWrite{Completions: []hookflow.Completion{
		completion(deliveryID(1), 1, 200, hookflow.StateDelivered, time.Time{}, t0),
		completion(deliveryID(2), 1, 503, hookflow.StatePending, at(time.Second), t0),
	}}, 10, time.Minute)
	if err != nil {
		t.Fatalf("SaveAndClaim: %v", err)
	}
	// The retry of the second is due at the claim's time, as is the third.
	equal(t, "claimed with the outcomes", deliveryIDs(got), []string{deliveryID(2), deliveryID(3)})
	d, attempts := getDelivery(t, s, deliveryID(1))
	equal(t, "delivered state", d.State, hookflow.StateDelivered)
	equal(t, "attempts of the delivered", len(attempts), 1)
	d, attempts = getDelivery(t, s, deliveryID(2))
	equal(t, "retried attempts", d.Attempts, 1)
	equal(t, "recorded attempts of the retried", len(attempts), 1)

	// Attempt 1 of the second again: refused, with everything else.
	_, err = s.SaveAndClaim(ctx, at(2*time.Second), hookflow.QueueWrite{
		Completions: []hookflow.Completion{
			completion(deliveryID(3), 1, 200, hookflow.StateDelivered, time.Time{}, at(time.Second)),
			completion(deliveryID(2), 1, 200, hookflow.StateDelivered, time.Time{}, at(time.Second)),
		},
	}, 10, time.Minute)
	if !errors.Is(err, hookflow.ErrConflict) {
		t.Fatalf("SaveAndClaim(attempt recorded twice) error = %v, want ErrConflict", err)
	}
	d, attempts = getDelivery(t, s, deliveryID(3))
	equal(t, "batch-mate state after the conflict", d.State, hookflow.StateSending)
	equal(t, "batch-mate attempts after the conflict", len(attempts), 0)
}

// testSaveAndClaimDefers hands claimed deliveries back to the queue with
// the next claim: a deferral due by the claim's time is claimed again in
// the same write, one due later is pending until then, and one no longer
// sending is left alone.
func testSaveAndClaimDefers(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", t0),
		delivery(deliveryID(2), "c1", "u2", t0),
		delivery(deliveryID(3), "c1", "u3", t0),
	)
	claim(t, s, t0, 3, time.Minute)
	err := s.Complete(ctx, t0, []hookflow.Completion{
		completion(deliveryID(3), 1, 200, hookflow.StateDelivered, time.Time{}, t0),
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}

	got, err := s.SaveAndClaim(ctx, at(time.Second), hookflow.QueueWrite{Deferrals: []hookflow.Deferral{
		{DeliveryID: deliveryID(1), DueAt: at(time.Second)},
		{DeliveryID: deliveryID(2), DueAt: at(time.Hour)},
		{DeliveryID: deliveryID(3), DueAt: at(time.Second)},
	}}, 10, time.Minute)
	if err != nil {
		t.Fatalf("SaveAndClaim: %v", err)
	}
	equal(t, "claimed after deferring", deliveryIDs(got), []string{deliveryID(1)})
	d, as := getDelivery(t, s, deliveryID(2))
	equal(t, "deferred state", d.State, hookflow.StatePending)
	sameTime(t, "deferred DueAt", d.DueAt, at(time.Hour))
	equal(t, "attempts of a deferred delivery", len(as), 0)
	d, _ = getDelivery(t, s, deliveryID(3))
	equal(t, "state of a delivered delivery deferred", d.State, hookflow.StateDelivered)
}
