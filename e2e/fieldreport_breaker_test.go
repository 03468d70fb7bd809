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

// H1 through the senders, on an injected clock: the host is paused at
// exactly the documented count (threshold + 1 failures in the window, not
// one sooner), for exactly a minute; deliveries due during the pause are
// held (an attempt with the synthetic status 598, no request made) and
// kept; after the pause a probe decides, and the held deliveries go out
// when the host is healthy again.
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

	// Three failures reach the threshold of three and do not pause the
	// host; the fourth, one more than the threshold, does, at once and for
	// exactly a minute. (The gate hears of an attempt before the attempt
	// is recorded, so once it is recorded the gate has counted it.)
	host := hostOf(rcv.URL())
	for i := 1; i <= 4; i++ {
		id := ping(fmt.Sprintf("u%d", i))
		waitDelivery(t, sys, id, func(d *hookflow.Delivery) bool { return d.Attempts == 1 })
		st := gate.State(host)
		want := hostgate.StateClosed
		if i == 4 {
			want = hostgate.StatePaused
		}
		if st.State != want || st.Failures != i {
			t.Fatalf("after %d failures: host %s with %d failures counted; want %s with %d", i, st.State, st.Failures, want, i)
		}
	}
	if st := gate.State(host); !st.PausedUntil.Equal(clock.Now().Add(time.Minute)) || st.Trips != 1 {
		t.Fatalf("paused until %v after %d trips; want until %v, 1 trip", st.PausedUntil, st.Trips, clock.Now().Add(time.Minute))
	}

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

	// The four failed ones fall due for their retries during the pause:
	// each is held too (a 598, no request) and kept, not failed.
	clock.Advance(pauseEnd.Sub(clock.Now()) - time.Millisecond)
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		ds := sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id, UserID: u})
		r := waitDelivery(t, sys, ds[0].ID, func(d *hookflow.Delivery) bool { return d.Attempts == 2 })
		if r.State != hookflow.StatePending || r.LastStatus != hostgate.StatusHostUnhealthy || r.DueAt.Before(pauseEnd) {
			t.Fatalf("%s during the pause: %s, due %v; want pending after a 598, due after %v", u, frDescribe(r), r.DueAt, pauseEnd)
		}
	}
	if st := gate.State(host); st.State != hostgate.StatePaused || rcv.Count() != 4 {
		t.Fatalf("a millisecond before the pause ends: host %s, %d requests; want paused, 4", st.State, rcv.Count())
	}

	// After the pause the first delivery due probes; the host answers 200,
	// full speed resumes and every delivery ends delivered.
	clock.Advance(time.Millisecond)
	if st := gate.State(host); st.State != hostgate.StateProbing && st.State != hostgate.StateClosed {
		t.Fatalf("when the pause ends: host %s, want probing (or closed once the probe passed)", st.State)
	}
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
	if st := gate.State(host); st.State != hostgate.StateClosed || st.Trips != 1 || st.Failures != 0 {
		t.Errorf("host after recovery: %s, %d trips, %d failures; want closed after 1 trip, window emptied",
			st.State, st.Trips, st.Failures)
	}
	// Four failures, then each of the five deliveries once: the held one
	// was never sent during the pause, and its 598 stays in its log.
	if n := rcv.Count(); n != 9 {
		t.Errorf("receiver got %d requests, want 9", n)
	}
	_, attempts, _ = sys.Store.GetDelivery(context.Background(), held)
	if len(attempts) != 2 || attempts[0].Status != hostgate.StatusHostUnhealthy || attempts[1].Status != 200 {
		t.Errorf("held delivery's attempts = %+v; want the 598, then the 200", attempts)
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
