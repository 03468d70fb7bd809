package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// Node A holds a delivery and does not claim for longer than its lease
// (every slot busy on slow hosts); node B claims the expired row and sends
// it; then A shuts down. A's stop must leave B's claim alone.
func TestHandOffStopLeavesAnotherNodesClaim(t *testing.T) {
	ctx := context.Background()
	url := schemaURL(t)
	a, b := openStore(t, url), openStore(t, url)
	const lease = 100 * time.Second
	stop := a.HandOff(lease, 10)
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	d := &hookflow.Delivery{ID: "d-1", Origin: hookflow.OriginCampaign, UserID: "u1",
		State: hookflow.StatePending, DueAt: t0, CreatedAt: t0}
	if err := a.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue([]*hookflow.Delivery{d}) }); err != nil {
		t.Fatal(err)
	}
	got, err := b.Claim(ctx, t0.Add(lease+time.Second), 10, lease)
	if err != nil || len(got) != 1 {
		t.Fatalf("node B claimed %d, %v; want the expired row", len(got), err)
	}
	if err := stop(ctx); err != nil {
		t.Fatal(err)
	}
	st, _, err := b.GetDelivery(ctx, "d-1")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != hookflow.StateSending {
		t.Errorf("node B's in-flight delivery is %s after node A stopped; B's lease is gone", st.State)
	}
	again, _ := b.Claim(ctx, t0.Add(lease+2*time.Second), 10, lease)
	if len(again) != 0 {
		t.Errorf("claimed a second copy: %d", len(again))
	}
}
