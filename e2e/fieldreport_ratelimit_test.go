package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// frArrivals is a receiver that answers the first request with first and
// the others with 200, and records when, on the test clock, each arrived.
type frArrivals struct {
	*receiver.Receiver
	mu sync.Mutex
	at []time.Duration
}

func frArrivalsOn(t *testing.T, clock *hookflowtest.Clock, first int) *frArrivals {
	a := &frArrivals{}
	a.Receiver = frReceiver(t, func(_ *receiver.Request, n int) receiver.Response {
		a.mu.Lock()
		a.at = append(a.at, clock.Now().Sub(frT0))
		a.mu.Unlock()
		if n == 1 {
			return receiver.Response{Status: first}
		}
		return receiver.Response{Status: http.StatusOK}
	})
	return a
}

func (a *frArrivals) times() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.at)
}

// frLimitedCampaign creates an API-triggered campaign limited to perMinute
// sends a minute, and n users to send it to.
func frLimitedCampaign(sys *hookflowtest.System, url string, perMinute, n int) (string, []string) {
	id := sys.CreateCampaign(map[string]any{
		"name": "limited", "delivery_type": "api_triggered", "reeligibility_seconds": 0,
		"rate_limit_per_minute": perMinute, "webhook": frPairs(url, "user", "{{${user_id}}}"),
	})
	var users []string
	for i := 1; i <= n; i++ {
		users = append(users, fmt.Sprintf("u%d", i))
		frUser(sys, users[i-1], nil)
	}
	return id, users
}

// frStep advances the clock to just before at (since frT0) and checks
// that the receiver still has had only want-1 requests, then to at, and
// waits for the want-th.
func frStep(t *testing.T, clock *hookflowtest.Clock, rcv *frArrivals, at time.Duration, want int) {
	t.Helper()
	clock.Advance(at - time.Millisecond - clock.Now().Sub(frT0))
	frQuiet()
	if got := rcv.Count(); got != want-1 {
		t.Fatalf("at %v less 1 ms: receiver got %d requests, want %d", at, got, want-1)
	}
	clock.Advance(time.Millisecond)
	frWaitCount(t, rcv.Receiver, want)
}

// H2: a campaign limited to 1 message a minute, triggered for 5 users at
// once: one goes out now and the other four follow a minute apart; none
// is marked failed, and the retry of the first (the receiver answers 500
// once) takes a slot of its own, after the four.
func TestFieldReportH2RateLimit(t *testing.T) {
	clock := hookflowtest.NewClock(frT0)
	rcv := frArrivalsOn(t, clock, http.StatusInternalServerError)
	p := deliver.DefaultPolicy()
	p.Base, p.Jitter = 10*time.Second, 0
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock, Policy: &p})
	id, users := frLimitedCampaign(sys, rcv.URL()+"/h2", 1, 5)
	for _, u := range users {
		frTrigger(sys, id, u)
	}

	frWaitCount(t, rcv.Receiver, 1)
	ds := sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id}, 5)
	var failedFirst *hookflow.Delivery
	for _, d := range ds {
		// Pending and due later: waiting for a slot, or for its retry.
		d := frWaitFor(t, sys, d.ID, "pending after the first slot", func(d *hookflow.Delivery) bool {
			return d.State == hookflow.StatePending && d.DueAt.After(frT0)
		})
		if d.Attempts == 1 {
			failedFirst = d
		}
	}
	if failedFirst == nil {
		t.Fatalf("after the first slot no delivery has made its attempt")
	}
	retryAt := failedFirst.DueAt.Sub(frT0)
	if retryAt <= 0 || retryAt >= time.Minute {
		t.Fatalf("the retry is due %v after t0; the test needs it within the first minute", retryAt)
	}

	// The four others wait, not failed, their attempts unchanged, due a
	// minute apart.
	var waiting []time.Duration
	for _, d := range ds {
		if d.ID == failedFirst.ID {
			continue
		}
		v := frGet(sys, d.ID)
		if v.State != hookflow.StatePending || v.Attempts != 0 || v.NextAttemptAt == nil {
			t.Fatalf("waiting delivery %s: state %s, %d attempts; want pending, 0, with a next attempt", d.ID, v.State, v.Attempts)
		}
		waiting = append(waiting, v.NextAttemptAt.Sub(frT0))
	}
	slices.Sort(waiting)
	frEqualDurations(t, "waiting deliveries' next attempts", waiting,
		[]time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute})

	// The retry falls due, and is sent back to wait for the sixth slot.
	clock.Advance(retryAt)
	d := frWaitFor(t, sys, failedFirst.ID, "the retry paced", func(d *hookflow.Delivery) bool {
		return d.State == hookflow.StatePending && d.DueAt.Equal(frT0.Add(5*time.Minute))
	})
	if d.Attempts != 1 {
		t.Errorf("paced retry: %d attempts, want 1", d.Attempts)
	}

	for k := 1; k <= 5; k++ {
		frStep(t, clock, rcv, time.Duration(k)*time.Minute, k+1)
	}
	frEqualDurations(t, "arrivals", rcv.times(), []time.Duration{
		0, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute})

	for _, d := range ds {
		got, attempts := sys.WaitState(d.ID, hookflow.StateDelivered)
		want := 1
		if d.ID == failedFirst.ID {
			want = 2
		}
		if got.Attempts != want || len(attempts) != want {
			t.Errorf("delivery %s: %d attempts recorded, want %d", d.ID, len(attempts), want)
		}
	}
	if n := len(sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id, State: hookflow.StateFailed})); n != 0 {
		t.Errorf("%d deliveries failed, want none", n)
	}
}

// An edit of the limit applies to the deliveries still waiting; a test
// send is not limited and takes no slot.
func TestRateLimitEditAndTestSend(t *testing.T) {
	clock := hookflowtest.NewClock(frT0)
	rcv := frArrivalsOn(t, clock, http.StatusOK)
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock})
	id, users := frLimitedCampaign(sys, rcv.URL()+"/edit", 1, 3)
	for _, u := range users {
		frTrigger(sys, id, u)
	}
	frWaitCount(t, rcv.Receiver, 1)
	for _, d := range sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id}, 3) {
		frWaitFor(t, sys, d.ID, "sent or waiting", func(d *hookflow.Delivery) bool {
			return d.State == hookflow.StateDelivered || d.State == hookflow.StatePending && d.DueAt.After(frT0)
		})
	}

	// A test send goes at once, at the same instant as the campaign's
	// first send, whatever the limit.
	sys.MustDo(http.StatusOK, "POST", "/v1/campaigns/"+id+"/test", map[string]any{"external_id": "u1"}, nil)
	if got := rcv.Count(); got != 2 {
		t.Fatalf("after the test send the receiver has %d requests, want 2", got)
	}

	// One a second from now on: the two waiting go at 1 s and 2 s, not at
	// 1 and 2 minutes.
	clock.Advance(time.Second)
	var c hookflow.Campaign
	sys.MustDo(http.StatusOK, "GET", "/v1/campaigns/"+id, nil, &c)
	sys.MustDo(http.StatusOK, "PUT", "/v1/campaigns/"+id, map[string]any{
		"name": c.Name, "delivery_type": c.DeliveryType, "reeligibility_seconds": 0,
		"webhook": c.Webhook, "rate_limit_per_minute": 60,
	}, nil)
	frWaitCount(t, rcv.Receiver, 3)
	frStep(t, clock, rcv, 2*time.Second, 4)
	frEqualDurations(t, "arrivals", rcv.times(), []time.Duration{0, 0, time.Second, 2 * time.Second})
}

// The setting is checked and shown: 1 to 500,000 a minute or null, kept by
// PUT, removed by a PUT without it.
func TestAPICampaignRateLimit(t *testing.T) {
	e := apStart(t)
	body := func(limit any) map[string]any {
		return map[string]any{"name": "limited", "delivery_type": "api_triggered",
			"webhook": e.apHook("/r"), "rate_limit_per_minute": limit}
	}
	const refused = "rate_limit_per_minute: must be between 1 and 500000 messages a minute, or null for no limit"
	for _, tt := range []struct {
		limit   any
		message string
	}{
		{0, refused},
		{-5, refused},
		{500_001, refused},
		{1.5, "rate_limit_per_minute: expected whole number, got JSON number 1.5"},
		{"10", "rate_limit_per_minute: expected whole number, got JSON string"},
	} {
		status, out := e.sys.Do("POST", "/v1/campaigns", body(tt.limit))
		apError(t, status, out, http.StatusBadRequest, tt.message)
	}

	var c map[string]any
	e.sys.MustDo(http.StatusCreated, "POST", "/v1/campaigns", body(1), &c)
	if c["rate_limit_per_minute"] != 1.0 {
		t.Errorf("created: rate_limit_per_minute %v, want 1", c["rate_limit_per_minute"])
	}
	id := c["id"].(string)
	e.sys.MustDo(http.StatusOK, "GET", "/v1/campaigns/"+id, nil, &c)
	if c["rate_limit_per_minute"] != 1.0 {
		t.Errorf("read back: rate_limit_per_minute %v, want 1", c["rate_limit_per_minute"])
	}
	e.sys.MustDo(http.StatusOK, "PUT", "/v1/campaigns/"+id, body(500_000), &c)
	if c["rate_limit_per_minute"] != 500_000.0 {
		t.Errorf("updated: rate_limit_per_minute %v, want 500000", c["rate_limit_per_minute"])
	}
	status, out := e.sys.Do("PUT", "/v1/campaigns/"+id, body(0))
	apError(t, status, out, http.StatusBadRequest, refused)

	unlimited := body(nil)
	delete(unlimited, "rate_limit_per_minute")
	e.sys.MustDo(http.StatusOK, "PUT", "/v1/campaigns/"+id, unlimited, &c)
	if v, ok := c["rate_limit_per_minute"]; !ok || v != nil {
		t.Errorf("after a PUT without it: rate_limit_per_minute %v (present %v), want null", v, ok)
	}
}

func frEqualDurations(t *testing.T, what string, got, want []time.Duration) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}
