package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// The hand-off (hookflow.HandOffer) is optional: these tests skip a store
// without it.

const handOffLease = 100 * time.Second

// handOffer starts s's hand-off, or skips the test, and stops it when the
// test ends.
func handOffer(t *testing.T, s hookflow.Store, max int) (stop func()) {
	t.Helper()
	h, ok := s.(hookflow.HandOffer)
	if !ok {
		t.Skip("the store has no hand-off")
	}
	end := h.HandOff(handOffLease, max)
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			if err := end(context.Background()); err != nil {
				t.Errorf("stopping the hand-off: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

func testHandOffClaimsFromMemory(t *testing.T, s hookflow.Store) {
	handOffer(t, s, 10)
	d := delivery(deliveryID(1), "c1", "u1", t0)
	d.Payload = hookflow.Payload{Event: &hookflow.EventPayload{Name: "e", Time: t0,
		Properties: map[string]any{"whole": 2.0, "bad": "a\xffb"}}}
	later := delivery(deliveryID(2), "c1", "u1", at(time.Minute))
	later.CreatedAt = t0
	enqueue(t, s, d, later)

	if d.State != hookflow.StatePending || !d.LeaseUntil.IsZero() {
		t.Errorf("the caller's delivery became %s, lease %v; want it left pending", d.State, d.LeaseUntil)
	}
	stored, _ := getDelivery(t, s, deliveryID(1))
	if stored.State != hookflow.StateSending {
		t.Errorf("stored state = %s, want sending (leased to the sender)", stored.State)
	}
	sameTime(t, "stored LeaseUntil", stored.LeaseUntil, at(handOffLease))
	if st, _ := getDelivery(t, s, deliveryID(2)); st.State != hookflow.StatePending {
		t.Errorf("a delivery due later is %s, want pending in the table", st.State)
	}

	got := claim(t, s, at(time.Second), 10, time.Minute)
	equal(t, "claim", deliveryIDs(got), []string{deliveryID(1)})
	if len(got) == 1 {
		c := got[0]
		if c.State != hookflow.StateSending || c.Request != nil || c.Attempts != 0 {
			t.Errorf("handed out %s, request %v, attempts %d; want sending, unrendered, 0", c.State, c.Request, c.Attempts)
		}
		sameTime(t, "handed out LeaseUntil", c.LeaseUntil, at(handOffLease))
		// As the store reads it back: 2.0 as 2 or 2.0, as the store keeps
		// numbers, and the bad byte replaced.
		read, _ := getDelivery(t, s, deliveryID(1))
		equal(t, "handed out payload against the stored one", c.Payload, read.Payload)
		if got := c.Payload.Event.Properties["bad"]; got != "a\uFFFDb" {
			t.Errorf("handed out bad = %q, want a\uFFFDb", got)
		}
	}
	equal(t, "claim again", deliveryIDs(claim(t, s, at(2*time.Second), 10, time.Minute)), []string{})
}

func testHandOffRolledBack(t *testing.T, s hookflow.Store) {
	handOffer(t, s, 1)
	failed := errors.New("the call fails after enqueueing")
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		if err := tx.Enqueue([]*hookflow.Delivery{delivery(deliveryID(1), "c1", "u1", t0)}); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("Update error = %v, want the call's", err)
	}
	equal(t, "claim after the rollback", deliveryIDs(claim(t, s, t0, 10, time.Minute)), []string{})

	// The rolled-back delivery's place was given back: the next one (the
	// only place) is handed off too.
	enqueue(t, s, delivery(deliveryID(2), "c1", "u1", t0))
	if st, _ := getDelivery(t, s, deliveryID(2)); st.State != hookflow.StateSending {
		t.Errorf("after a rollback the next delivery is %s, want sending (handed off)", st.State)
	}
}

func testHandOffLimitAndShare(t *testing.T, s hookflow.Store) {
	handOffer(t, s, 4)
	var ds []*hookflow.Delivery
	for i := range 8 {
		ds = append(ds, delivery(deliveryID(i), "c1", "u1", t0))
	}
	enqueue(t, s, ds...)
	for i := range 8 {
		want := hookflow.StateSending
		if i >= 4 {
			want = hookflow.StatePending
		}
		if st, _ := getDelivery(t, s, deliveryID(i)); st.State != want {
			t.Errorf("delivery %d of 8 with room for 4 is %s, want %s", i, st.State, want)
		}
	}

	// Both hold deliveries: half the claim goes to the table's, first.
	got := claim(t, s, t0, 4, time.Minute)
	equal(t, "first claim", deliveryIDs(got),
		[]string{deliveryID(4), deliveryID(5), deliveryID(0), deliveryID(1)})
	got = claim(t, s, t0, 10, time.Minute)
	equal(t, "second claim", deliveryIDs(got),
		[]string{deliveryID(6), deliveryID(7), deliveryID(2), deliveryID(3)})
}

func testHandOffStopHandsBack(t *testing.T, s hookflow.Store) {
	stop := handOffer(t, s, 10)
	enqueue(t, s, delivery(deliveryID(1), "c1", "u1", t0))
	stop()
	st, _ := getDelivery(t, s, deliveryID(1))
	if st.State != hookflow.StatePending {
		t.Errorf("after stop the held delivery is %s, want pending", st.State)
	}
	sameTime(t, "its DueAt", st.DueAt, t0)
	got := claim(t, s, at(time.Second), 10, time.Minute)
	equal(t, "claim after stop", deliveryIDs(got), []string{deliveryID(1)})

	enqueue(t, s, delivery(deliveryID(2), "c1", "u1", t0))
	if st, _ := getDelivery(t, s, deliveryID(2)); st.State != hookflow.StatePending {
		t.Errorf("enqueued after stop: %s, want pending", st.State)
	}
}

// testHandOffHeldTooLong: past a tenth of its lease a held delivery goes
// back to the table, unless a claim from the table, its lease expired,
// has taken it since: that claim keeps it.
func testHandOffHeldTooLong(t *testing.T, s hookflow.Store) {
	handOffer(t, s, 10)
	enqueue(t, s, delivery(deliveryID(1), "c1", "u1", t0))
	equal(t, "claim past a tenth of the lease", deliveryIDs(claim(t, s, at(handOffLease/5), 10, time.Minute)), []string{})
	st, _ := getDelivery(t, s, deliveryID(1))
	if st.State != hookflow.StatePending {
		t.Errorf("held too long: %s, want pending again", st.State)
	}
	equal(t, "claim from the table", deliveryIDs(claim(t, s, at(handOffLease/5), 10, time.Hour)), []string{deliveryID(1)})

	// 2's lease expires while it is held, and a claim of one takes it
	// from the table; the next claim finds the held copy too old.
	enqueue(t, s, delivery(deliveryID(2), "c1", "u1", t0))
	equal(t, "claim of one once its lease expired", deliveryIDs(claim(t, s, at(handOffLease), 1, time.Minute)), []string{deliveryID(2)})
	equal(t, "no second copy", deliveryIDs(claim(t, s, at(handOffLease), 10, time.Minute)), []string{})
	st, _ = getDelivery(t, s, deliveryID(2))
	if st.State != hookflow.StateSending {
		t.Errorf("re-claimed from the table, it is %s after the held copy was handed back, want sending", st.State)
	}
	sameTime(t, "its lease", st.LeaseUntil, at(handOffLease+time.Minute))
}

// testHandOffStopAfterReclaim: the sender stops while a claim from the
// table, the lease it had handed off expired, is sending a held delivery:
// stop must leave that claim alone.
func testHandOffStopAfterReclaim(t *testing.T, s hookflow.Store) {
	stop := handOffer(t, s, 10)
	enqueue(t, s, delivery(deliveryID(1), "c1", "u1", t0))
	got := claim(t, s, at(handOffLease+time.Second), 1, time.Minute)
	equal(t, "claim after expiry", deliveryIDs(got), []string{deliveryID(1)})

	stop()
	if st, _ := getDelivery(t, s, deliveryID(1)); st.State != hookflow.StateSending {
		t.Errorf("in flight after the re-claim, stop made it %s: a second claim would send it again", st.State)
	}
	equal(t, "second copy", deliveryIDs(claim(t, s, at(handOffLease+2*time.Second), 10, time.Minute)), []string{})
}

// testHandOffPayloadAsStored: a delivery handed out from memory has the
// payload a claim from the table gives back, on every store.
func testHandOffPayloadAsStored(t *testing.T, s hookflow.Store) {
	handOffer(t, s, 10)
	props := func() map[string]any {
		return map[string]any{"whole": 2.0, "int": int64(3), "frac": 1.5,
			"list": []any{1.0, int64(2)}, "bad": "a\xffb", "big": 1e18,
			"nested": map[string]any{"whole": 7.0, "empty": []any{}}}
	}
	held := delivery(deliveryID(1), "c1", "u1", t0)
	held.Payload = hookflow.Payload{TriggerProperties: props(),
		Event: &hookflow.EventPayload{Name: "e", Time: t0, Properties: props()}}
	table := delivery(deliveryID(2), "c1", "u1", at(time.Second))
	table.CreatedAt = t0
	table.Payload = hookflow.Payload{TriggerProperties: props(),
		Event: &hookflow.EventPayload{Name: "e", Time: t0, Properties: props()}}
	enqueue(t, s, held, table)

	got := claim(t, s, at(2*time.Second), 10, time.Minute)
	if len(got) != 2 {
		t.Fatalf("claimed %v, want both", deliveryIDs(got))
	}
	byID := map[string]*hookflow.Delivery{got[0].ID: got[0], got[1].ID: got[1]}
	equal(t, "handed-out payload against the table's",
		byID[deliveryID(1)].Payload, byID[deliveryID(2)].Payload)
}

// testHandOffThroughSaveAndClaim takes held deliveries through the call the
// sender makes, SaveAndClaim, rather than Claim: a held delivery comes out
// after the table's due one, leased as it was handed off, and its render,
// saved with the next call, is stored like a claimed one's.
func testHandOffThroughSaveAndClaim(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	handOffer(t, s, 10)
	held := delivery(deliveryID(1), "c1", "u1", t0)
	table := delivery(deliveryID(2), "c1", "u2", at(time.Second))
	table.CreatedAt = t0
	enqueue(t, s, held, table)

	got, err := s.SaveAndClaim(ctx, at(2*time.Second), hookflow.QueueWrite{}, 10, time.Minute)
	if err != nil {
		t.Fatalf("SaveAndClaim: %v", err)
	}
	equal(t, "claimed", deliveryIDs(got), []string{deliveryID(2), deliveryID(1)})
	if len(got) == 2 {
		sameTime(t, "the table's LeaseUntil", got[0].LeaseUntil, at(2*time.Second+time.Minute))
		sameTime(t, "the held one's LeaseUntil", got[1].LeaseUntil, at(handOffLease))
	}

	req := &hookflow.Request{Method: "POST", URL: "https://example.com/hook", Body: []byte(`{"k":1}`)}
	got, err = s.SaveAndClaim(ctx, at(3*time.Second), hookflow.QueueWrite{Rendered: []hookflow.RenderResult{
		{DeliveryID: deliveryID(1), Request: req},
	}}, 10, time.Minute)
	if err != nil {
		t.Fatalf("SaveAndClaim with the held one's render: %v", err)
	}
	equal(t, "claimed after", deliveryIDs(got), []string{})
	d, _ := getDelivery(t, s, deliveryID(1))
	equal(t, "held one's state", d.State, hookflow.StateSending)
	equal(t, "held one's stored request", d.Request, req)
	sameTime(t, "held one's LeaseUntil", d.LeaseUntil, at(handOffLease))
}
