package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/receiver"
)

// H1 through the senders: once a host fails more than the threshold, a
// delivery due during the pause is held (an attempt with the synthetic
// status 598, no request made) and kept; after the pause a probe decides,
// and the held delivery goes out when the host is healthy again.
func TestBreakerHoldsThenDelivers(t *testing.T) {
	rcv, err := receiver.Start(receiver.Sequence(503, 503, 503, 503, 200))
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()

	clock := hookflowtest.NewClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	gate := hostgate.New(clock, hostgate.Options{MaxPerHost: 8, FailureThreshold: 3, Probes: 1})
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock, Gate: gate})
	id := sys.CreateCampaign(map[string]any{
		"name": "h1", "delivery_type": "action_based", "reeligibility_seconds": 0,
		"trigger": map[string]any{"event": "ping"},
		"webhook": map[string]any{"method": "POST", "url": rcv.URL() + "/h1", "body_type": "json",
			"body_pairs": []map[string]string{{"key": "u", "value": "{{${user_id}}}"}}},
	})
	ping := func(user string) string {
		sys.Track(fmt.Sprintf(`{"events": [{"external_id": %q, "name": "ping", "time": "2026-12-03T11:00:00Z"}]}`, user))
		ds := sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id, UserID: user}, 1)
		return ds[0].ID
	}

	// Four failures: one more than the threshold of three pauses the host.
	for i := 1; i <= 4; i++ {
		ping(fmt.Sprintf("u%d", i))
		frWaitCount(t, rcv, i)
	}
	waitFor(t, "host paused", func() bool { return gate.State(hostOf(rcv.URL())).State == hostgate.StatePaused })

	held := ping("u5")
	d := waitDelivery(t, sys, held, func(d *hookflow.Delivery) bool { return d.Attempts == 1 })
	_, attempts, _ := sys.Store.GetDelivery(context.Background(), held)
	if d.State != hookflow.StatePending || attempts[0].Status != hostgate.StatusHostUnhealthy ||
		attempts[0].ErrorKind != hostgate.KindUnhealthy || rcv.Count() != 4 {
		t.Fatalf("held delivery: state %s, attempt %+v, %d requests; want pending, 598 unhealthy, 4",
			d.State, attempts[0], rcv.Count())
	}
	pauseEnd := clock.Now().Add(60 * time.Second)
	if d.DueAt.Before(pauseEnd) || d.DueAt.After(pauseEnd.Add(6*time.Second)) {
		t.Errorf("held delivery due %v; want within 6 s after the pause ends at %v", d.DueAt, pauseEnd)
	}

	// After the pause the held delivery (or a retry) probes; the host answers
	// 200 and every delivery ends delivered.
	clock.Advance(d.DueAt.Sub(clock.Now()))
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		ds := sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id, UserID: u})
		waitDelivery(t, sys, ds[0].ID, func(d *hookflow.Delivery) bool {
			if d.State != hookflow.StateDelivered {
				clock.Advance(time.Second) // lets deferred and retried ones fall due
				return false
			}
			return true
		})
	}
	if st := gate.State(hostOf(rcv.URL())); st.State != hostgate.StateClosed {
		t.Errorf("host state after recovery = %s, want closed", st.State)
	}
}

func waitDelivery(t *testing.T, sys *hookflowtest.System, id string, ok func(*hookflow.Delivery) bool) *hookflow.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, _, err := sys.Store.GetDelivery(context.Background(), id)
		if err == nil && ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s never reached the expected state: %+v", id, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hostOf(rawURL string) string {
	return rawURL[len("http://"):]
}
