package hostgate

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
)

// Outcome is what the Gate needs to know about a finished attempt.
type Outcome struct {
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// ErrorKind is the attempt's deliver.Kind*, empty on a clean exchange.
	ErrorKind string
	// Header holds the response headers, read for Retry-After and
	// X-RateLimit-*. It may be nil.
	Header http.Header
	// Test marks a test send: it never changes the host's health.
	Test bool
}

// OutcomeOf returns the Outcome of a recorded attempt.
func OutcomeOf(a hookflow.Attempt, test bool) Outcome {
	return Outcome{Status: a.Status, ErrorKind: a.ErrorKind, Header: a.ResponseHeaders, Test: test}
}

// verdict is what an outcome says about the host's health.
type verdict int

const (
	healthy verdict = iota // the host answered
	failing                // a counted failure
	neutral                // says nothing about the host
)

// judge applies the counting rule of the package doc. Error kinds are
// checked first: a 2xx whose body timed out is a timeout.
func judge(o Outcome) verdict {
	if o.Test {
		return neutral
	}

	switch o.ErrorKind {
	case deliver.KindTimeout, deliver.KindConnect, deliver.KindDNS, deliver.KindTLS, deliver.KindReset:
		return failing
	case deliver.KindCanceled, deliver.KindRefused, deliver.KindRequest:
		// Our own shutdown, the address guard, or a request we could not
		// build: the host never judged anything.
		return neutral
	}

	switch o.Status {
	case 408, 429, 502, 503, 504, 529:
		return failing
	}
	return healthy
}

// slowUntil returns until when the receiver asked the host to be slowed,
// per the rule of the package doc, and false when it did not ask.
func slowUntil(o Outcome, now time.Time, maxWait time.Duration) (time.Time, bool) {
	if o.Status != http.StatusTooManyRequests && o.Status != http.StatusServiceUnavailable {
		return time.Time{}, false
	}

	var wait time.Duration
	if d, ok := deliver.ParseRetryAfter(o.Header.Get("Retry-After"), now); ok {
		wait = d
	}
	if d, ok := rateLimitReset(o.Header, now); ok {
		wait = max(wait, d)
	}
	if wait <= 0 {
		return time.Time{}, false
	}
	return now.Add(min(wait, maxWait)), true
}

// epochCutoff tells a Unix time from a count of seconds in X-RateLimit-Reset:
// 1,000,000,000 seconds is September 2001, while a delta that large would be
// 31 years.
const epochCutoff = 1_000_000_000

// rateLimitReset returns how long until X-RateLimit-Reset when
// X-RateLimit-Remaining is 0.
func rateLimitReset(h http.Header, now time.Time) (time.Duration, bool) {
	remaining, ok := headerInt(h, "X-RateLimit-Remaining")
	if !ok || remaining != 0 {
		return 0, false
	}
	reset, ok := headerInt(h, "X-RateLimit-Reset")
	if !ok || reset <= 0 {
		return 0, false
	}

	var d time.Duration
	if reset >= epochCutoff {
		d = time.Unix(reset, 0).Sub(now)
	} else {
		d = time.Duration(reset) * time.Second
	}
	return d, d > 0
}

// rateLimitLimit returns X-RateLimit-Limit, or 0 when absent or malformed.
func rateLimitLimit(h http.Header) int {
	n, ok := headerInt(h, "X-RateLimit-Limit")
	if !ok || n < 0 || n > 1<<31-1 {
		return 0
	}
	return int(n)
}

// headerInt parses a header holding a decimal integer. Values above about
// 292 years of seconds are refused, so no later multiplication overflows.
func headerInt(h http.Header, name string) (int64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > int64(1<<63-1)/int64(time.Second) {
		return 0, false
	}
	return n, true
}
