package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func dueNow(id string) *hookflow.Delivery {
	now := time.Now()
	return &hookflow.Delivery{ID: id, Origin: hookflow.OriginCampaign, UserID: "u1",
		State: hookflow.StatePending, DueAt: now, CreatedAt: now}
}

func stateOf(t *testing.T, s *Store, id string) string {
	t.Helper()
	d, _, err := s.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d.State
}

// A sender that stops while a call that leased it deliveries commits
// takes none of them: they are made pending again, not left leased.
func TestHandOffStoppedBeforeCommit(t *testing.T) {
	s := openInternal(t)
	stop := s.HandOff(time.Minute, 10)
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		if err := tx.Enqueue([]*hookflow.Delivery{dueNow("d1")}); err != nil {
			return err
		}
		// stop, as if called now; its hand-back of the held (none) is
		// not the point.
		s.handoff.mu.Lock()
		s.handoff.on = false
		s.handoff.mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, s, "d1"); got != hookflow.StatePending {
		t.Errorf("state = %s, want pending", got)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.handoff.count != 0 || s.handoff.bytes != 0 {
		t.Errorf("count %d, bytes %d after all settled; want 0, 0", s.handoff.count, s.handoff.bytes)
	}
}

// A call that ran twice (its group's commit failed, then it ran alone)
// hands off only what its last run committed.
func TestHandOffKeepsOnlyTheCommittedRun(t *testing.T) {
	s := openInternal(t)
	s.HandOff(time.Minute, 10)
	first, last := &tx{ho: &s.handoff}, &tx{ho: &s.handoff}
	for _, r := range []struct {
		t  *tx
		id string
	}{{first, "d1"}, {last, "d2"}} {
		if _, err := r.t.handOff(dueNow(r.id), 10); err != nil {
			t.Fatal(err)
		}
	}
	s.settleHandOff([]*tx{first, last}, true)

	out, _ := s.handoff.take(time.Now(), 10)
	if len(out) != 1 || out[0].ID != "d2" {
		t.Fatalf("handed out %v, want d2 alone", deliveryIDsOf(out))
	}
	if s.handoff.count != 0 || s.handoff.bytes != 0 {
		t.Errorf("count %d, bytes %d after all taken; want 0, 0", s.handoff.count, s.handoff.bytes)
	}
}

func deliveryIDsOf(ds []*hookflow.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}
