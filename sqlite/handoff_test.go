package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// A sender that stops while a call that leased it deliveries commits
// takes none of them: they are made pending again, not left leased.
func TestHandOffStoppedBeforeCommit(t *testing.T) {
	s := openInternal(t)
	stop := s.HandOff(time.Minute, 10)
	now := time.Now()
	d := &hookflow.Delivery{ID: "d1", Origin: hookflow.OriginCampaign, UserID: "u1",
		State: hookflow.StatePending, DueAt: now, CreatedAt: now}
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		if err := tx.Enqueue([]*hookflow.Delivery{d}); err != nil {
			return err
		}
		s.handoff.Stop() // what stop does first, before its write
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.GetDelivery(context.Background(), "d1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != hookflow.StatePending {
		t.Errorf("state = %s, want pending", got.State)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
