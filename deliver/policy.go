package deliver

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

// Verdict is what one finished attempt means for its delivery.
type Verdict int

const (
	// Delivered: the receiver answered 2xx and the exchange completed.
	Delivered Verdict = iota
	// Retry: the failure may pass (throttling, server error, network).
	Retry
	// Fail: retrying cannot help; the delivery fails now.
	Fail
)

func (v Verdict) String() string {
	switch v {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Fail:
		return "fail"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Classify decides what an attempt means, per the delivery contract:
//
//   - 2xx is delivered, unless the response body could not be read to its
//     cap (a receiver trickling its body until the deadline): that retries,
//     since a half-finished exchange proves nothing.
//   - 408, 429 and 5xx retry: the receiver is throttling or unwell, and
//     sending the same bytes later may succeed.
//   - 3xx fails: redirects are never followed, because following one would
//     carry the signature and secret headers to another place.
//   - any other 4xx fails: the receiver refused this request and will refuse
//     it again, whatever Retry-After says.
//   - no response: network trouble (timeout, connect, dns, tls, reset,
//     canceled, protocol) retries; a dial refused by the address guard and
//     an invalid request fail, as they would fail every time.
func Classify(a hookflow.Attempt) Verdict {
	switch a.ErrorKind {
	case KindRefused, KindRequest:
		return Fail
	}

	switch s := a.Status; {
	case s == 0:
		return Retry
	case s >= 200 && s <= 299:
		if a.ErrorKind != "" {
			return Retry
		}
		return Delivered
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		return Retry
	}
	return Fail
}

// ParseRetryAfter parses a Retry-After value: delta-seconds ("7" is seven
// seconds, not milliseconds) or an HTTP-date, taken relative to now. Empty,
// malformed, negative and past values report false.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}

	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, false
		}
		// Clamp absurd values rather than overflow; the policy caps them.
		maxSecs := uint64(math.MaxInt64 / int64(time.Second))
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}

	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := at.Sub(now)
	if d < 0 {
		return 0, false
	}
	return d, true
}

// Policy is the retry schedule of deliveries. The zero value is not
// useful; start from DefaultPolicy.
type Policy struct {
	// Base is the first backoff step; each later step doubles. Default 10s.
	Base time.Duration
	// Max is the longest backoff step. Default 1h.
	Max time.Duration
	// Window is how long after the first attempt retries continue. The last
	// attempt happens at the window's end at the latest. Default 24h.
	Window time.Duration
	// RetryAfterCap is the longest Retry-After honoured; longer values wait
	// this long. Default 1h.
	RetryAfterCap time.Duration
	// Jitter spreads each backoff step by up to this fraction either way,
	// so deliveries that failed together do not retry together. Default 0.2.
	Jitter float64
}

// DefaultPolicy returns the schedule described in the package doc.
func DefaultPolicy() Policy {
	return Policy{
		Base:          10 * time.Second,
		Max:           time.Hour,
		Window:        24 * time.Hour,
		RetryAfterCap: time.Hour,
		Jitter:        0.2,
	}
}

// Backoff returns the jittered wait after failed attempt n (1-based):
// min(Base·2^(n-1), Max) scaled by 1 + Jitter·(2·rnd-1), rnd in [0,1).
func (p Policy) Backoff(n int, rnd float64) time.Duration {
	n = max(n, 1)
	step := p.Max
	if shift := n - 1; shift < 62 && p.Base <= p.Max>>shift {
		step = p.Base << shift
	}
	return time.Duration(float64(step) * (1 + p.Jitter*(2*rnd-1)))
}

// Next returns when attempt n+1 should start, after attempt n failed
// retryably at now; firstAttempt is when attempt 1 started. A positive
// retryAfter (the receiver's Retry-After) replaces the backoff: the retry
// waits exactly min(retryAfter, RetryAfterCap), without jitter, so it is
// never earlier than the receiver asked unless the cap cuts it. A time past
// the window moves to the window's end for one last attempt; if the window
// has already closed, Next reports false: give up.
func (p Policy) Next(n int, firstAttempt, now time.Time, retryAfter time.Duration,
	rnd float64) (time.Time, bool) {
	wait := p.Backoff(n, rnd)
	if retryAfter > 0 {
		wait = min(retryAfter, p.RetryAfterCap)
	}
	next := now.Add(wait)

	end := firstAttempt.Add(p.Window)
	if !next.After(end) {
		return next, true
	}
	if end.After(now) {
		return end, true
	}
	return time.Time{}, false
}

// Decide turns a finished attempt into the delivery's next state: delivered,
// failed, or pending with the time of the next attempt. firstAttempt is when
// attempt 1 started (zero when a is the first). The attempt ended at
// a.StartedAt + a.Duration; backoff and Retry-After count from then.
// Retry-After is honoured on every retryable response (408, 429, 5xx), not
// only 429 and 503: a receiver that says when to come back knows best.
func (p Policy) Decide(a hookflow.Attempt, firstAttempt time.Time, rnd float64) (string, time.Time) {
	return p.DecideAt(a, firstAttempt, a.StartedAt.Add(a.Duration), rnd)
}

// DecideAt is Decide with the attempt's end given by the caller's clock.
// a.Duration is measured on the wall clock; adding it to a StartedAt taken
// from an injected clock would mix two timelines, and a manual clock would
// then never reach the retry's due time.
func (p Policy) DecideAt(a hookflow.Attempt, firstAttempt, end time.Time, rnd float64) (string, time.Time) {
	switch Classify(a) {
	case Delivered:
		return hookflow.StateDelivered, time.Time{}
	case Fail:
		return hookflow.StateFailed, time.Time{}
	}

	if firstAttempt.IsZero() {
		firstAttempt = a.StartedAt
	}
	retryAfter, _ := ParseRetryAfter(a.ResponseHeaders.Get("Retry-After"), end)

	due, ok := p.Next(a.Number, firstAttempt, end, retryAfter, rnd)
	if !ok {
		return hookflow.StateFailed, time.Time{}
	}
	return hookflow.StatePending, due
}
