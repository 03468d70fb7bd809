package e2e

import (
	"bytes"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// T1: a permanent error gets exactly one request; the delivery fails with
// the status and the response body in the activity log, which shows the
// attempt's time, duration and response headers too.
func TestFieldReportT1PermanentError(t *testing.T) {
	rcv := frReceiver(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Status: http.StatusForbidden, Body: []byte("token revoked"),
			Header: http.Header{"X-Reason": {"revoked"}}, Delay: 20 * time.Millisecond}
	})
	start := time.Now()
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	frUser(sys, "u1", nil)
	id := frAPICampaign(sys, "t1", frPairs(rcv.URL()+"/t1", "a", "b"))
	frTrigger(sys, id, "u1")

	d, _ := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateFailed)
	v := frGet(sys, d.ID)
	if v.State != hookflow.StateFailed || v.Attempts != 1 || v.LastStatus != 403 || len(v.AttemptLog) != 1 {
		t.Fatalf("delivery = %+v; want failed after 1 attempt with status 403", v)
	}
	if a := v.AttemptLog[0]; a.Status != 403 || a.ResponseBody != "token revoked" || a.Truncated {
		t.Errorf("attempt = %+v; want status 403 and body %q", a, "token revoked")
	}
	if a := v.AttemptLog[0]; a.Number != 1 || a.StartedAt.Before(start.Add(-time.Second)) || a.StartedAt.After(time.Now()) ||
		a.DurationMS < 20 || a.ResponseHeaders.Get("X-Reason") != "revoked" {
		t.Errorf("attempt = %+v; want number 1, started during the test, at least 20 ms, header X-Reason", a)
	}
	if rcv.Count() != 1 {
		t.Errorf("receiver got %d requests, want 1", rcv.Count())
	}
}

// T2: while the endpoint's port is closed the attempts fail with connect
// errors and are retried; once it opens, the delivery arrives, and the
// activity log lists the earlier errors.
func TestFieldReportT2PortClosedThenOpen(t *testing.T) {
	// Reserve a port, then close it so connecting is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	// Without jitter the second retry comes 600ms after the second
	// attempt: ample time to open the port in between.
	p := deliver.DefaultPolicy()
	p.Base, p.Jitter = 300*time.Millisecond, 0
	sys := hookflowtest.Start(t, hookflowtest.Options{Policy: &p})
	frUser(sys, "u1", nil)
	id := frAPICampaign(sys, "t2", frPairs("http://"+addr+"/t2", "a", "b"))
	frTrigger(sys, id, "u1")

	d := frWaitFor(t, sys, frOnly(t, sys, id).ID, "two attempts", func(d *hookflow.Delivery) bool {
		return d.Attempts >= 2
	})
	rcv, err := receiver.StartOn(addr, nil)
	if err != nil {
		t.Fatalf("reopening %s: %v", addr, err)
	}
	t.Cleanup(func() { rcv.Close() })
	sys.WaitState(d.ID, hookflow.StateDelivered)

	v := frGet(sys, d.ID)
	n := len(v.AttemptLog)
	if n < 3 || v.AttemptLog[n-1].Status != 200 {
		t.Fatalf("attempt log = %+v; want connect errors then a 200", v.AttemptLog)
	}
	for _, a := range v.AttemptLog[:n-1] {
		if a.ErrorKind != deliver.KindConnect || a.Status != 0 || a.Error == "" {
			t.Errorf("attempt %d = %+v; want a connect error", a.Number, a)
		}
	}
	if rcv.Count() != 1 {
		t.Errorf("receiver got %d requests, want 1", rcv.Count())
	}
}

// frRetryAfter starts a system on a manual clock whose receiver answers the
// first request with status and header Retry-After: retryAfter (computed
// from the clock), then 200, and returns the delivery after its first
// attempt.
func frRetryAfter(t *testing.T, status int, retryAfter func(now time.Time) string) (*hookflowtest.System, *hookflowtest.Clock, *receiver.Receiver, *hookflow.Delivery) {
	t.Helper()
	clock := hookflowtest.NewClock(frT0)
	rcv := frReceiver(t, func(_ *receiver.Request, n int) receiver.Response {
		if n > 1 {
			return receiver.Response{Status: 200}
		}
		return receiver.Response{Status: status, Header: http.Header{"Retry-After": {retryAfter(clock.Now())}}}
	})
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock})
	frUser(sys, "u1", nil)
	id := frAPICampaign(sys, "t3", frPairs(rcv.URL()+"/t3", "a", "b"))
	frTrigger(sys, id, "u1")
	d := frWaitFor(t, sys, frOnly(t, sys, id).ID, "one attempt", func(d *hookflow.Delivery) bool {
		return d.Attempts == 1 && d.State != hookflow.StateSending
	})
	return sys, clock, rcv, d
}

// T3: Retry-After is seconds (or an HTTP date): the retry is due exactly
// that long after the attempt (capped), nothing goes out before, and it goes
// out after. A 400 is never retried, whatever its headers.
func TestFieldReportT3RetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		value func(now time.Time) string
		wait  time.Duration
	}{
		{"seconds", func(time.Time) string { return "7" }, 7 * time.Second},
		{"http-date", func(now time.Time) string { return now.Add(10 * time.Second).Format(http.TimeFormat) }, 10 * time.Second},
		// A day is capped at the policy's RetryAfterCap, an hour.
		{"capped", func(time.Time) string { return "86400" }, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys, clock, rcv, d := frRetryAfter(t, http.StatusTooManyRequests, tt.value)
			if d.State != hookflow.StatePending || !d.DueAt.Equal(d.FirstAttemptAt.Add(tt.wait)) {
				t.Fatalf("after the 429: %s, due %s; want pending, due %s after the attempt at %s",
					frDescribe(d), d.DueAt, tt.wait, d.FirstAttemptAt)
			}

			clock.Advance(tt.wait - time.Millisecond)
			frQuiet()
			if rcv.Count() != 1 {
				t.Fatalf("receiver got %d requests before Retry-After passed, want 1", rcv.Count())
			}
			clock.Advance(time.Millisecond)
			sys.WaitState(d.ID, hookflow.StateDelivered)
			if rcv.Count() != 2 {
				t.Errorf("receiver got %d requests, want 2", rcv.Count())
			}
		})
	}

	t.Run("400", func(t *testing.T) {
		_, _, rcv, d := frRetryAfter(t, http.StatusBadRequest, func(time.Time) string { return "1" })
		if d.State != hookflow.StateFailed || d.LastStatus != 400 {
			t.Fatalf("after a 400 with Retry-After: %s; want failed", frDescribe(d))
		}
		if rcv.Count() != 1 {
			t.Errorf("receiver got %d requests, want 1", rcv.Count())
		}
	})
}

// T6: a body that reads the time is rendered once: the retry after a 500
// carries the same webhook-id and the same bytes, although a second has
// passed.
func TestFieldReportT6RenderedOnce(t *testing.T) {
	t.Parallel()
	rcv := frReceiver(t, receiver.Sequence(500, 200))
	// A retry more than a second later would render another %s.
	p := deliver.DefaultPolicy()
	p.Base, p.Jitter = 1100*time.Millisecond, 0
	sys := hookflowtest.Start(t, hookflowtest.Options{Policy: &p})
	frUser(sys, "u1", nil)
	id := frAPICampaign(sys, "t6", frRaw(rcv.URL()+"/t6", `{"at": {{ 'now' | date: '%s' }}}`))
	frTrigger(sys, id, "u1")

	d, _ := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateDelivered)
	reqs := rcv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Header.Get("Webhook-Id"); got != d.ID {
			t.Errorf("request %d: webhook-id %q, want %q", i+1, got, d.ID)
		}
	}
	if !bytes.Equal(reqs[0].Body, reqs[1].Body) || !bytes.Equal(reqs[0].Body, d.Request.Body) {
		t.Errorf("bodies differ: %q then %q (stored %q)", reqs[0].Body, reqs[1].Body, d.Request.Body)
	}
}

// T6, slow receiver: an attempt that takes most of the request timeout
// is not sent again while it runs, because the lease outlasts it.
func TestFieldReportT6SlowReceiverOneCopy(t *testing.T) {
	t.Parallel()
	rcv := frReceiver(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Status: 200, Delay: 2 * time.Second}
	})
	sys := hookflowtest.Start(t, hookflowtest.Options{Timeout: 3 * time.Second})
	frUser(sys, "u1", nil)
	id := frAPICampaign(sys, "slow", frPairs(rcv.URL()+"/slow", "a", "b"))
	frTrigger(sys, id, "u1")

	d, attempts := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateDelivered)
	if d.Attempts != 1 || len(attempts) != 1 || rcv.Count() != 1 {
		t.Errorf("%s; receiver got %d requests; want one attempt, one request", frDescribe(d), rcv.Count())
	}
}

// T2, reset variant: a receiver that resets the connection twice, then
// answers, gets the delivery on the third attempt; the log shows the resets.
func TestFieldReportT2ResetThenUp(t *testing.T) {
	rcv := frReceiver(t, func(_ *receiver.Request, n int) receiver.Response {
		return receiver.Response{Status: 200, Drop: n <= 2}
	})
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	frUser(sys, "u1", nil)
	id := frAPICampaign(sys, "reset", frPairs(rcv.URL()+"/reset", "a", "b"))
	frTrigger(sys, id, "u1")

	d, _ := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateDelivered)
	v := frGet(sys, d.ID)
	if len(v.AttemptLog) != 3 || rcv.Count() != 3 {
		t.Fatalf("attempt log = %+v, %d requests; want 3 of each", v.AttemptLog, rcv.Count())
	}
	for _, a := range v.AttemptLog[:2] {
		if a.Status != 0 || a.ErrorKind != deliver.KindReset {
			t.Errorf("attempt %d = %+v; want a reset", a.Number, a)
		}
	}
}
