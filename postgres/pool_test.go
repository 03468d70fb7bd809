package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/postgres"
)

func TestUpdateSlots(t *testing.T) {
	for _, tc := range []struct {
		pool int32
		want int
	}{
		{1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {6, 4}, {16, 4}, {100, 4},
	} {
		if got := postgres.UpdateSlots(tc.pool); got != tc.want {
			t.Errorf("UpdateSlots(%d) = %d, want %d", tc.pool, got, tc.want)
		}
	}
}

// API writes waiting on one another (here: blocked inside Update) never
// hold every connection of the pool: with four connections, two Updates
// run and the others wait for a slot, without a connection, while the
// sender's claim and reads still get one. Unbounded, four blocked Updates
// took the whole pool and a claim waited for as long as they did.
func TestUpdatesLeaveConnectionsToTheQueue(t *testing.T) {
	s := openStore(t, schemaURL(t)+"&pool_max_conns=4")
	ctx := context.Background()

	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			err := s.Update(ctx, func(hookflow.Tx) error {
				entered <- struct{}{}
				<-release
				return nil
			})
			if err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
	defer wg.Wait()
	defer close(release)
	<-entered
	<-entered

	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := s.Claim(cctx, time.Now(), 10, time.Minute); err != nil {
		t.Fatalf("Claim while Updates wait: %v", err)
	}
	if _, err := s.GetCampaign(cctx, "nope"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Fatalf("GetCampaign while Updates wait: %v, want ErrNotFound", err)
	}
	if n := len(entered); n != 0 {
		t.Errorf("%d more Updates ran while two held their slots, want 0", n)
	}

	// An Update that cannot get a slot gives up with its context, its
	// function never run.
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	ran := false
	err := s.Update(short, func(hookflow.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Errorf("Update without a slot: err %v, ran %v; want DeadlineExceeded, not run", err, ran)
	}
}
