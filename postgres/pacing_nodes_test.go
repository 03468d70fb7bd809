package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/postgres"
)

// TestPacingAcrossStores claims and paces one limited campaign's deliveries
// from two stores, as two nodes would, with two claimers each: the budget
// is in the database, so every delivery gets its own slot and the slots
// are exactly one interval apart.
func TestPacingAcrossStores(t *testing.T) {
	t.Parallel()
	url := schemaURL(t)
	stores := []*postgres.Store{openStore(t, url), openStore(t, url)}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const rows, batch, perMinute = 400, 7, 6000
	ds := make([]*hookflow.Delivery, rows)
	for i := range ds {
		ds[i] = &hookflow.Delivery{ID: fmt.Sprintf("d-%06d", i), Origin: hookflow.OriginCampaign,
			CampaignID: "c1", UserID: "u", DueAt: now}
	}
	if err := stores[0].Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue(ds) }); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}

	var mu sync.Mutex
	var slots []time.Duration
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func(s *postgres.Store) {
			defer wg.Done()
			for {
				got, err := s.Claim(ctx, now, batch, time.Hour)
				if err != nil || len(got) == 0 {
					errs <- err
					return
				}
				decisions, err := s.PaceClaimed(ctx, now, "c1", perMinute, got)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, d := range decisions {
					slots = append(slots, d.Slot.Sub(now))
				}
				mu.Unlock()
			}
		}(stores[i%2])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Claim or PaceClaimed: %v", err)
		}
	}

	want := make([]time.Duration, rows)
	for i := range want {
		want[i] = time.Duration(i) * hookflow.PaceInterval(perMinute)
	}
	slices.Sort(slots)
	if !slices.Equal(slots, want) {
		t.Errorf("slots:\n got %v\nwant %v", slots, want)
	}
}
