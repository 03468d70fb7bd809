package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// API writes (here: blocked inside Update) hold one connection of the
// pool whatever their number: the calls of a group take turns on the
// committer's, and the others wait for the next group without one, while
// the sender's claim and reads still get a connection from a pool of two.
// Without a bound, four blocked Updates took the whole pool and a claim
// waited for as long as they did.
func TestUpdatesLeaveConnectionsToTheQueue(t *testing.T) {
	s := openStore(t, schemaURL(t)+"&pool_max_conns=2")
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

	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := s.Claim(cctx, time.Now(), 10, time.Minute); err != nil {
		t.Fatalf("Claim while Updates wait: %v", err)
	}
	if _, err := s.GetCampaign(cctx, "nope"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Fatalf("GetCampaign while Updates wait: %v, want ErrNotFound", err)
	}
	if n := len(entered); n != 0 {
		t.Errorf("%d more Updates ran while one held the group, want 0", n)
	}

	// An Update that waits for its turn gives up with its context, its
	// function never run.
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	ran := false
	err := s.Update(short, func(hookflow.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Errorf("Update waiting for its turn: err %v, ran %v; want DeadlineExceeded, not run", err, ran)
	}
}
