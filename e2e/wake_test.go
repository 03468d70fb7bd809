package e2e

// The wake-up test: on SQLite nothing but the API's wake-up tells an idle
// sender that a delivery was enqueued. Every other in-process test polls
// every 20 ms, which would hide a lost wake-up; this one polls every 30 s.
// Helpers are prefixed "wk".

import (
	"context"
	"testing"
	"time"

	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

const (
	// wkPoll is the senders' polling fallback: far longer than wkWithin, so
	// a delivery that arrives in time was woken for, not polled for.
	wkPoll = 30 * time.Second
	// wkWithin is how soon an enqueued delivery must reach the receiver.
	wkWithin = time.Second
	// wkSettle lets a new system's sender make its first, empty claim and
	// fall asleep on the poll timer, so the enqueue finds it idle; without
	// it, a slow start could pick the delivery up without any wake-up.
	wkSettle = 200 * time.Millisecond
)

// TestEnqueueWakesSenders proves that an enqueue through the API wakes an
// idle sender at once on SQLite, for both ways a campaign is enqueued: an
// event on POST /users/track firing an action-based campaign, and POST
// /campaigns/trigger/send. With the senders' poll interval at 30 s, each
// delivery must reach a loopback receiver within 1 s; without the wake-up
// it would wait for the next poll, up to 30 s.
func TestEnqueueWakesSenders(t *testing.T) {
	t.Run("track", func(t *testing.T) {
		sys, rcv := wkSystem(t)
		frEventCampaign(sys, "wake-track", "ping", frPairs(rcv.URL()+"/track", "u", "{{${user_id}}}"))
		time.Sleep(wkSettle)

		start := time.Now()
		frEvent(sys, "u1", "ping", nil)
		wkArrived(t, rcv, start)
	})

	t.Run("trigger", func(t *testing.T) {
		sys, rcv := wkSystem(t)
		id := frAPICampaign(sys, "wake-trigger", frPairs(rcv.URL()+"/trigger", "u", "{{${user_id}}}"))
		frUser(sys, "u1", nil)
		time.Sleep(wkSettle)

		start := time.Now()
		frTrigger(sys, id, "u1")
		wkArrived(t, rcv, start)
	})
}

// wkSystem starts a system whose senders poll only every wkPoll, and a
// receiver that accepts everything.
func wkSystem(t *testing.T) (*hookflowtest.System, *receiver.Receiver) {
	t.Helper()
	rcv := frReceiver(t, receiver.Always(200))
	sys := hookflowtest.Start(t, hookflowtest.Options{PollInterval: wkPoll})
	return sys, rcv
}

// wkArrived waits up to wkWithin for the one request of the test, and logs
// how long after start it arrived.
func wkArrived(t *testing.T, rcv *receiver.Receiver, start time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wkWithin)
	defer cancel()
	if err := rcv.WaitFor(ctx, 1); err != nil {
		t.Fatalf("no request within %v of the enqueue (poll interval %v): the senders were not woken",
			wkWithin, wkPoll)
	}
	reqs := rcv.Requests()
	latency := reqs[0].At.Sub(start)
	t.Logf("enqueue to arrival: %v", latency)
	if n := len(reqs); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
	if latency >= wkWithin {
		t.Errorf("arrived %v after the enqueue, want under %v", latency, wkWithin)
	}
}
