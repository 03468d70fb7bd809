package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// T5: a receiver fails five times, then recovers; two sender nodes share
// the queue. Every due retry runs within the polling interval of its due
// time, whichever node takes it, and the delivery ends delivered.
func TestT5RetriesDueArePickedUpByEitherNode(t *testing.T) {
	rcv, err := receiver.Start(receiver.Sequence(500, 500, 500, 500, 500, 200))
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()

	const poll = 100 * time.Millisecond
	clock := hookflowtest.NewClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "hookflow.db")
	a := hookflowtest.Start(t, hookflowtest.Options{Clock: clock, Path: path, PollInterval: poll})
	hookflowtest.Start(t, hookflowtest.Options{Clock: clock, Path: path, PollInterval: poll})

	id := a.CreateCampaign(map[string]any{
		"name": "t5", "delivery_type": "action_based", "trigger": map[string]any{"event": "ping"},
		"webhook": map[string]any{"method": "POST", "url": rcv.URL() + "/t5", "body_type": "json",
			"body_pairs": []map[string]string{{"key": "u", "value": "{{${user_id}}}"}}},
	})
	a.Track(`{"events": [{"external_id": "u1", "name": "ping", "time": "2026-12-03T11:00:00Z"}]}`)
	d := a.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id}, 1)[0]

	// After each failure, move the clock to the retry's due time and time
	// how long the next request takes to arrive.
	ctx := context.Background()
	for n := 1; n <= 5; n++ {
		frWaitCount(t, rcv, n)
		var due time.Time
		for {
			cur, _, err := a.Store.GetDelivery(ctx, d.ID)
			if err == nil && cur.State == hookflow.StatePending && cur.Attempts == n {
				due = cur.DueAt
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		clock.Advance(due.Sub(clock.Now()))
		start := time.Now()
		frWaitCount(t, rcv, n+1)
		// The bound is the polling interval, with room for a claim on a
		// loaded 2-core machine; a retry never picked up fails by far more.
		if waited := time.Since(start); waited > poll+400*time.Millisecond {
			t.Errorf("retry %d ran %v after its due time; want within the %v poll interval", n, waited, poll)
		}
	}

	got, attempts := a.WaitState(d.ID, hookflow.StateDelivered)
	if len(attempts) != 6 || got.LastStatus != 200 || rcv.Count() != 6 {
		t.Errorf("%d attempts, last status %d, %d requests; want 6, 200, 6", len(attempts), got.LastStatus, rcv.Count())
	}
	for _, r := range rcv.Requests() {
		if r.Header.Get("Webhook-Id") != d.ID {
			t.Errorf("request carries webhook-id %q, want %q", r.Header.Get("Webhook-Id"), d.ID)
		}
	}
}
