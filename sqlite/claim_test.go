package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// TestSaveAndClaimOutlivesItsContext cancels a SaveAndClaim's context after
// its claim has run in a group commit, as a shutdown can: the claim is
// committed, so the call must still return the claimed delivery with its
// content, not an error that leaves it claimed and unsent.
func TestSaveAndClaimOutlivesItsContext(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	at := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	d := &hookflow.Delivery{ID: "d1", Origin: hookflow.OriginCampaign, CampaignID: "c1", UserID: "u1",
		Payload: hookflow.Payload{TriggerProperties: map[string]any{"coupon": "X"}}, DueAt: at, CreatedAt: at}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue([]*hookflow.Delivery{d}) }); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}

	// A holds the committer, so the two calls after it queue, in order,
	// and join one group: SaveAndClaim's claim, then B, which cancels
	// SaveAndClaim's context before the group commits.
	release := make(chan struct{})
	go s.Update(ctx, func(hookflow.Tx) error { <-release; return nil })
	time.Sleep(50 * time.Millisecond)

	sacCtx, cancel := context.WithCancel(ctx)
	type result struct {
		ds  []*hookflow.Delivery
		err error
	}
	done := make(chan result, 1)
	go func() {
		ds, err := s.SaveAndClaim(sacCtx, at, hookflow.QueueWrite{}, 10, time.Minute)
		done <- result{ds, err}
	}()
	time.Sleep(50 * time.Millisecond)
	go s.Update(ctx, func(hookflow.Tx) error { cancel(); return nil })
	time.Sleep(50 * time.Millisecond)
	close(release)

	r := <-done
	if r.err != nil || len(r.ds) != 1 || r.ds[0].Payload.TriggerProperties["coupon"] != "X" {
		t.Fatalf("SaveAndClaim = %v, %v; want d1 with its payload", r.ds, r.err)
	}
	got, _, err := s.GetDelivery(ctx, "d1")
	if err != nil || got.State != hookflow.StateSending {
		t.Errorf("d1 = %+v, %v; want it claimed, sending", got, err)
	}
}

// TestCheckpointerCopiesTheWAL writes far fewer pages than the writer's
// own checkpoint waits for, and checks that the checkpointer copies them
// into the database file.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	before := s.checkpointed.Load()
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		return tx.InsertUser(&hookflow.User{ID: "u1", ExternalID: "ext-1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.checkpointed.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint copied the WAL within 2 s")
		}
		time.Sleep(checkpointEvery)
	}
}

// TestSaveAndClaimLeasesFromWhenItRuns queues a SaveAndClaim behind a call
// that holds the writer for 1.2 s, as a broadcast can for much longer: the
// claimed delivery's lease counts from when the claim ran (to the whole
// second), not from the at the caller passed before it waited, while what
// is due is still judged at that at (a caller's clock may not be the
// wall's): a delivery due a second after it is not claimed.
func TestSaveAndClaimLeasesFromWhenItRuns(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	at := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	d := &hookflow.Delivery{ID: "d1", Origin: hookflow.OriginCampaign, CampaignID: "c1", UserID: "u1",
		DueAt: at, CreatedAt: at}
	later := &hookflow.Delivery{ID: "d2", Origin: hookflow.OriginCampaign, CampaignID: "c1", UserID: "u1",
		DueAt: at.Add(time.Second), CreatedAt: at}
	err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue([]*hookflow.Delivery{d, later}) })
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}

	const held = 1200 * time.Millisecond
	started := make(chan struct{})
	go s.Update(ctx, func(hookflow.Tx) error { close(started); time.Sleep(held); return nil })
	<-started
	ds, err := s.SaveAndClaim(ctx, at, hookflow.QueueWrite{}, 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].ID != "d1" {
		t.Fatalf("SaveAndClaim = %v, %v; want d1 alone", ds, err)
	}
	if least := at.Add(held.Truncate(time.Second) + time.Minute); ds[0].LeaseUntil.Before(least) {
		t.Errorf("lease until %s, want at least %s: at plus the whole seconds of the %s the claim waited, "+
			"plus the lease", ds[0].LeaseUntil.Format(time.RFC3339Nano), least.Format(time.RFC3339Nano), held)
	}
	got, _, err := s.GetDelivery(ctx, "d1")
	if err != nil || !got.LeaseUntil.Equal(ds[0].LeaseUntil) {
		t.Errorf("stored lease %v (%v), want the one returned, %v", got.LeaseUntil, err, ds[0].LeaseUntil)
	}
}
