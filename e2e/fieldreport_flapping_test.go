package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/receiver"
)

// frFlapThreshold is the breaker threshold of the flapping test: small, and
// above the four failures of one flap, so only failures counted across a
// success can trip it.
const frFlapThreshold = 5

// frFlapping is H1's flapping endpoint: 503 four times, then 200 once, and
// again. Every request of the test goes to one path, so n counts them all.
func frFlapping(_ *receiver.Request, n int) receiver.Response {
	if n%5 == 0 {
		return receiver.Response{Status: http.StatusOK}
	}
	return receiver.Response{Status: http.StatusServiceUnavailable}
}

// TestBreakerFlappingHost runs H1's flapping endpoint (4 failures, 1
// success, repeated) on loopback through the senders, with the breaker's
// threshold at 5 and an injected clock. It proves the documented rule
// exactly: the success between two flaps does not reset the count, the
// host is paused by the sixth failure in the window (threshold + 1, the
// seventh request) and not by the fifth; deliveries due during the pause
// are held with a 598 attempt and no request, never dropped; and once the
// host answers again every delivery ends delivered, each with exactly one
// 200, the receiver having seen exactly the requests the flapping needs.
func TestBreakerFlappingHost(t *testing.T) {
	rcv := frReceiver(t, frFlapping)
	clock := hookflowtest.NewClock(frT0)
	gate := hostgate.New(clock, hostgate.Options{MaxPerHost: 8, FailureThreshold: frFlapThreshold, Probes: 1})
	// Retries wait at most 2 s of the manual clock, so the many attempts a
	// flapping host costs stay well inside the 24 h retry window.
	policy := deliver.DefaultPolicy()
	policy.Base, policy.Max = 50*time.Millisecond, 2*time.Second
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock, Gate: gate, Policy: &policy})
	id := frEventCampaign(sys, "h1-flap", "ping", frPairs(rcv.URL()+"/flap", "u", "{{${user_id}}}"))
	host := hostOf(rcv.URL())

	// One delivery at a time, each attempt recorded before the next event,
	// so the n-th request is the n-th user's. The clock stands still: no
	// retry falls due and every failure stays in the window.
	wantFailures := []int{1, 2, 3, 4, 4, 5, 6}
	for i, want := range wantFailures {
		n := i + 1
		d := frFlapPing(t, sys, id, fmt.Sprintf("u%d", n), 1)
		wantStatus, wantState := http.StatusServiceUnavailable, hostgate.StateClosed
		if n == 5 {
			wantStatus = http.StatusOK
		}
		if n == len(wantFailures) {
			wantState = hostgate.StatePaused
		}
		st := gate.State(host)
		if d.LastStatus != wantStatus || rcv.Count() != n || st.State != wantState || st.Failures != want {
			t.Fatalf("request %d: status %d, %d requests, host %s with %d failures; want %d, %d, %s with %d",
				n, d.LastStatus, rcv.Count(), st.State, st.Failures, wantStatus, n, wantState, want)
		}
	}
	pauseEnd := clock.Now().Add(time.Minute)
	if st := gate.State(host); !st.PausedUntil.Equal(pauseEnd) || st.Trips != 1 {
		t.Fatalf("paused until %v after %d trips; want until %v, 1 trip", st.PausedUntil, st.Trips, pauseEnd)
	}

	// New deliveries during the pause are held: a 598 attempt, no request,
	// pending, due within 6 s after the pause.
	for _, u := range []string{"u8", "u9"} {
		d := frFlapPing(t, sys, id, u, 1)
		frFlapHeld(t, sys, d, 1, pauseEnd)
		if d.DueAt.After(pauseEnd.Add(6 * time.Second)) {
			t.Errorf("%s held until %v; want within 6 s after the pause ends at %v", u, d.DueAt, pauseEnd)
		}
	}

	// The six failed deliveries fall due during the pause: each is held
	// too, kept pending, and no request is made.
	clock.Advance(pauseEnd.Sub(clock.Now()) - time.Millisecond)
	for _, u := range []string{"u1", "u2", "u3", "u4", "u6", "u7"} {
		d := frFlapWait(t, sys, id, u, 2)
		frFlapHeld(t, sys, d, 2, pauseEnd)
	}
	if st := gate.State(host); st.State != hostgate.StatePaused || rcv.Count() != len(wantFailures) {
		t.Fatalf("a millisecond before the pause ends: host %s, %d requests; want paused, %d",
			st.State, rcv.Count(), len(wantFailures))
	}

	// From here the host keeps flapping: probes fail and pause it again,
	// a passed probe lets the backlog out, the backlog trips it again.
	// Nothing may be lost on the way.
	const users = 9
	frFlapDrive(t, sys, clock, id, users)
	frFlapDelivered(t, sys, rcv, id, users)
}

// frFlapPing tracks a "ping" for user and waits until the user's delivery
// has recorded the given number of attempts.
func frFlapPing(t *testing.T, sys *hookflowtest.System, id, user string, attempts int) *hookflow.Delivery {
	t.Helper()
	frEvent(sys, user, "ping", nil)
	return frFlapWait(t, sys, id, user, attempts)
}

// frFlapWait waits until the user's delivery has recorded the given number
// of attempts.
func frFlapWait(t *testing.T, sys *hookflowtest.System, id, user string, attempts int) *hookflow.Delivery {
	t.Helper()
	ds := sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id, UserID: user}, 1)
	return waitDelivery(t, sys, ds[0].ID, func(d *hookflow.Delivery) bool { return d.Attempts == attempts })
}

// frFlapHeld checks that d's attempt number n was a hold of the paused
// host, which left it pending and due after the pause.
func frFlapHeld(t *testing.T, sys *hookflowtest.System, d *hookflow.Delivery, n int, pauseEnd time.Time) {
	t.Helper()
	_, attempts, err := sys.Store.GetDelivery(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	a := attempts[n-1]
	if d.State != hookflow.StatePending || a.Status != hostgate.StatusHostUnhealthy ||
		a.ErrorKind != hostgate.KindUnhealthy || d.DueAt.Before(pauseEnd) {
		t.Fatalf("delivery %s, attempt %d during the pause: %s, attempt %+v, due %v; "+
			"want pending after a 598 %s, due from %v", d.ExternalID, n, frDescribe(d), a, d.DueAt,
			hostgate.KindUnhealthy, pauseEnd)
	}
}

// frFlapDrive moves the clock to each next due time until all n
// deliveries of campaign id are delivered, failing the test if one ends
// any other way. It moves the clock only while no delivery is claimed:
// a jump past a claim's lease would send that delivery a second time.
func frFlapDrive(t *testing.T, sys *hookflowtest.System, clock *hookflowtest.Clock, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		delivered, claimed := 0, false
		var next time.Time
		for _, d := range sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id}) {
			switch d.State {
			case hookflow.StateDelivered:
				delivered++
			case hookflow.StateSending:
				claimed = true
			case hookflow.StatePending:
				if next.IsZero() || d.DueAt.Before(next) {
					next = d.DueAt
				}
			default:
				t.Fatalf("delivery %s of %s: %s; want it kept until delivered", d.ID, d.ExternalID, frDescribe(d))
			}
		}
		if delivered == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries delivered after a minute (clock at %v)", delivered, n, clock.Now())
		}
		if !claimed && next.After(clock.Now()) {
			clock.Advance(next.Sub(clock.Now()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// frFlapDelivered checks the end of the flapping: every delivery sent
// exactly once with a 200 (the fifth, tenth, … request), after 503s and
// holds only; 4 × n 503s in all, so 5 × n requests; and no hold reached
// the receiver.
func frFlapDelivered(t *testing.T, sys *hookflowtest.System, rcv *receiver.Receiver, id string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rcv.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}

	sent := rcv.IDs()
	failures, holds := 0, 0
	for _, d := range sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id}) {
		_, attempts, err := sys.Store.GetDelivery(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		requests := 0
		for i, a := range attempts {
			switch {
			case a.Status == http.StatusOK && i == len(attempts)-1:
				requests++
			case a.Status == http.StatusServiceUnavailable:
				requests++
				failures++
			case a.Status == hostgate.StatusHostUnhealthy:
				holds++
			default:
				t.Errorf("%s: attempt %d of %d has status %d", d.ExternalID, i+1, len(attempts), a.Status)
			}
		}
		if d.State != hookflow.StateDelivered || sent[d.ID] != requests {
			t.Errorf("%s: %s, %d requests for %d attempts that were sent; want delivered, as many",
				d.ExternalID, frDescribe(d), sent[d.ID], requests)
		}
	}
	t.Logf("%d deliveries: %d requests, %d 503s, %d holds (598)", n, rcv.Count(), failures, holds)
	if rcv.Count() != 5*n || failures != 4*n || len(sent) != n {
		t.Errorf("receiver got %d requests for %d deliveries, %d of them 503; want %d for %d, %d",
			rcv.Count(), len(sent), failures, 5*n, n, 4*n)
	}
	// Two new deliveries and six retries were held during the first pause.
	if holds < 8 {
		t.Errorf("%d holds recorded, want at least the 8 of the first pause", holds)
	}
}
