package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/receiver"
)

// Receiver-driven slowing through the senders: a 429 or 503 carrying
// Retry-After or X-RateLimit-Remaining: 0 with X-RateLimit-Reset slows the
// whole host, so another delivery to it, enqueued after the answer, waits
// in the queue until exactly the reset, with no attempt recorded and no
// request made, while a delivery to another host goes out at once.
func TestReceiverSlowsTheWholeHost(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header func(now time.Time) http.Header
		wait   time.Duration
	}{
		{"429, reset as a Unix time", http.StatusTooManyRequests, func(now time.Time) http.Header {
			return http.Header{"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"0"},
				"X-Ratelimit-Reset": {strconv.FormatInt(now.Add(30*time.Second).Unix(), 10)}}
		}, 30 * time.Second},
		{"503, reset in seconds, later than Retry-After", http.StatusServiceUnavailable, func(time.Time) http.Header {
			return http.Header{"Retry-After": {"20"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"45"}}
		}, 45 * time.Second},
		{"429, Retry-After only", http.StatusTooManyRequests, func(time.Time) http.Header {
			return http.Header{"Retry-After": {"12"}}
		}, 12 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := hookflowtest.NewClock(frT0)
			slowed := frReceiver(t, func(_ *receiver.Request, n int) receiver.Response {
				if n == 1 {
					return receiver.Response{Status: tt.status, Header: tt.header(clock.Now())}
				}
				return receiver.Response{Status: http.StatusOK}
			})
			other := frReceiver(t, receiver.Always(http.StatusOK))
			gate := hostgate.New(clock, hostgate.Options{})
			sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock, Gate: gate})
			frUser(sys, "u1", nil)
			frUser(sys, "u2", nil)
			slowedID := frAPICampaign(sys, "slowed", frPairs(slowed.URL()+"/a", "u", "{{${user_id}}}"))
			otherID := frAPICampaign(sys, "other", frPairs(other.URL()+"/b", "u", "{{${user_id}}}"))

			frTrigger(sys, slowedID, "u1")
			first := frWaitFor(t, sys, frOnly(t, sys, slowedID).ID, "the limited answer", func(d *hookflow.Delivery) bool {
				return d.Attempts == 1 && d.State == hookflow.StatePending
			})
			until := frT0.Add(tt.wait)
			if st := gate.State(hostOf(slowed.URL())); !st.SlowedUntil.Equal(until) {
				t.Fatalf("host slowed until %v, want %v", st.SlowedUntil, until)
			}

			// A second delivery to the host is held back without an attempt
			// until exactly the reset; the other host is not.
			frTrigger(sys, slowedID, "u2")
			second := sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: slowedID, UserID: "u2"}, 1)[0]
			frTrigger(sys, otherID, "u2")
			sys.WaitState(frOnly(t, sys, otherID).ID, hookflow.StateDelivered)
			second = frWaitFor(t, sys, second.ID, "the deferral to the reset", func(d *hookflow.Delivery) bool {
				return d.State == hookflow.StatePending && d.DueAt.Equal(until)
			})
			if second.Attempts != 0 || slowed.Count() != 1 {
				t.Fatalf("second delivery: %s, host got %d requests; want no attempt, 1 request",
					frDescribe(second), slowed.Count())
			}

			clock.Advance(tt.wait - time.Millisecond)
			frQuiet()
			if n := slowed.Count(); n != 1 {
				t.Fatalf("host got %d requests before the reset, want 1", n)
			}
			clock.Advance(time.Millisecond)
			d, attempts := sys.WaitState(second.ID, hookflow.StateDelivered)
			if d.Attempts != 1 || !attempts[0].StartedAt.Equal(until) {
				t.Errorf("second delivery: %d attempts, first at %v; want one at the reset %v",
					d.Attempts, attempts[0].StartedAt, until)
			}
			sys.WaitState(first.ID, hookflow.StateDelivered)
		})
	}
}
