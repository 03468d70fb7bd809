package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// An Update function that panics after Enqueue (net/http recovers a
// handler's panic and the process goes on) gives back the places it
// reserved; else after max such panics nothing would be handed off.
func TestHandOffPanicGivesBackItsPlace(t *testing.T) {
	s := openInternal(t)
	stop := s.HandOff(time.Minute, 1)
	defer stop(context.Background())
	now := time.Now()
	mk := func(id string) *hookflow.Delivery {
		return &hookflow.Delivery{ID: id, Origin: hookflow.OriginCampaign, UserID: "u1",
			State: hookflow.StatePending, DueAt: now, CreatedAt: now}
	}
	func() {
		defer func() { _ = recover() }()
		_ = s.Update(context.Background(), func(tx hookflow.Tx) error {
			if err := tx.Enqueue([]*hookflow.Delivery{mk("d1")}); err != nil {
				return err
			}
			panic("a bug in the caller")
		})
	}()
	if err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		return tx.Enqueue([]*hookflow.Delivery{mk("d2")})
	}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.GetDelivery(context.Background(), "d2")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != hookflow.StateSending {
		t.Errorf("after a call that panicked the next delivery is %s, want sending (handed off)", got.State)
	}
}
