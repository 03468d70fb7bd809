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

// A store closed while its hand-off is on (the sender never stopped it)
// hands what it holds back to the table first: reopened, the delivery is
// pending, not sending under a lease no process will use.
func TestCloseHandsBackWhatItHolds(t *testing.T) {
	path := t.TempDir() + "/hookflow.db"
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.HandOff(time.Minute, 10)
	now := time.Now()
	d := &hookflow.Delivery{ID: "held", Origin: hookflow.OriginCampaign, UserID: "u1",
		State: hookflow.StatePending, DueAt: now, CreatedAt: now}
	if err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		return tx.Enqueue([]*hookflow.Delivery{d})
	}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.GetDelivery(context.Background(), "held"); err != nil || got.State != hookflow.StateSending {
		t.Fatalf("before Close: %+v, %v; want it held, sending", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, _, err := s.GetDelivery(context.Background(), "held")
	if err != nil || got.State != hookflow.StatePending {
		t.Errorf("after Close: %+v, %v; want it pending in the table", got, err)
	}
}

// A held delivery is handed out with the profile it carries, unless its
// user was written since: a user deleted, or updated, after the event
// is read again by the sender, which then finds it gone or changed.
func TestHeldProfileGoesOnlyUnwritten(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)
	stop := s.HandOff(time.Minute, 10)
	defer stop(ctx)
	users := map[string]*hookflow.User{}
	if err := s.Update(ctx, func(tx hookflow.Tx) error {
		for _, ext := range []string{"kept", "deleted", "updated"} {
			users[ext] = &hookflow.User{ID: hookflow.NewUserID(), ExternalID: ext, Attributes: map[string]any{}}
			if err := tx.InsertUser(users[ext]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	var ds []*hookflow.Delivery
	for _, ext := range []string{"kept", "deleted", "updated"} {
		ds = append(ds, &hookflow.Delivery{ID: "d-" + ext, Origin: hookflow.OriginCampaign,
			UserID: users[ext].ID, State: hookflow.StatePending, DueAt: now, CreatedAt: now,
			Profile: users[ext]})
	}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue(ds) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx hookflow.Tx) error {
		if err := tx.DeleteUser(users["deleted"].ID); err != nil {
			return err
		}
		u := *users["updated"]
		u.Attributes = map[string]any{"plan": "gold"}
		return tx.UpdateUser(&u)
	}); err != nil {
		t.Fatal(err)
	}

	out, err := s.SaveAndClaim(ctx, now, hookflow.QueueWrite{}, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	carried := map[string]bool{}
	for _, d := range out {
		carried[d.ID] = d.Profile != nil
	}
	want := map[string]bool{"d-kept": true, "d-deleted": false, "d-updated": false}
	for id, w := range want {
		if got, ok := carried[id]; !ok || got != w {
			t.Errorf("%s handed out: %v, with its profile: %v; want with it %v", id, ok, got, w)
		}
	}
}
