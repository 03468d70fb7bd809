package hostgate

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestReceiverSlowsTheHost(t *testing.T) {
	now := t0.Add(500 * time.Millisecond) // the release happens here
	epoch := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	const (
		remaining = "X-RateLimit-Remaining"
		reset     = "X-RateLimit-Reset"
	)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}

	tests := []struct {
		name   string
		status int
		header http.Header
		want   time.Duration // slowed until now + want; 0: not slowed
	}{
		{"429 Retry-After seconds", 429, h("Retry-After", "7"), 7 * time.Second},
		{"503 Retry-After seconds", 503, h("Retry-After", "120"), 2 * time.Minute},
		{"Retry-After HTTP date", 429, h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)),
			89*time.Second + 500*time.Millisecond}, // HTTP dates have whole seconds
		{"Retry-After capped", 429, h("Retry-After", "86400"), time.Hour},
		{"Retry-After 0", 429, h("Retry-After", "0"), 0},
		{"Retry-After past date", 503, h("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), 0},
		{"Retry-After garbage", 429, h("Retry-After", "soon"), 0},
		{"Retry-After on 400", 400, h("Retry-After", "7"), 0},
		{"Retry-After on 500", 500, h("Retry-After", "7"), 0},
		{"Retry-After on 200", 200, h("Retry-After", "7"), 0},
		{"429 without headers", 429, nil, 0},
		{"rate limit epoch reset", 429, h(remaining, "0", reset, epoch(45*time.Second)),
			44*time.Second + 500*time.Millisecond},
		{"rate limit delta reset", 429, h(remaining, "0", reset, "30"), 30 * time.Second},
		{"rate limit lower-case names", 429, h("x-ratelimit-remaining", "0", "x-ratelimit-reset", "30"),
			30 * time.Second},
		{"rate limit reset capped", 503, h(remaining, "0", reset, "100000"), time.Hour},
		{"rate limit remaining left", 429, h(remaining, "3", reset, "30"), 0},
		{"rate limit reset past", 429, h(remaining, "0", reset, epoch(-time.Minute)), 0},
		{"rate limit without reset", 429, h(remaining, "0"), 0},
		{"rate limit on 200", 200, h(remaining, "0", reset, "30"), 0},
		{"the later of both", 429, h("Retry-After", "10", remaining, "0", reset, "20"),
			20 * time.Second},
		{"the later of both, other way", 429, h("Retry-After", "20", remaining, "0", reset, "10"), 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			g := New(clock, Options{})
			release, _ := g.Acquire("a.example")
			clock.set(500 * time.Millisecond)
			release(Outcome{Status: tt.status, Header: tt.header})

			other, hold := g.Acquire("a.example")
			if tt.want == 0 {
				if other == nil {
					t.Fatalf("held %v until %v, want not slowed", hold.Reason, hold.Until)
				}
				return
			}
			until := now.Add(tt.want)
			if other != nil || hold.Reason != HoldSlowed || !hold.Until.Equal(until) {
				t.Fatalf("hold %v until %v, want slowed until %v", hold.Reason, hold.Until, until)
			}

			// The host opens at Until exactly, and other hosts never waited.
			clock.set(500*time.Millisecond + tt.want - time.Nanosecond)
			if release, _ := g.Acquire("a.example"); release != nil {
				t.Fatal("granted before Until")
			}
			send(t, g, "b.example", ok)
			clock.set(500*time.Millisecond + tt.want)
			send(t, g, "a.example", ok)
		})
	}
}

func TestSlowingNeverShortens(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{})
	first, _ := g.Acquire("a.example")
	second, _ := g.Acquire("a.example")
	first(Outcome{Status: 429, Header: http.Header{"Retry-After": {"60"}}})
	second(Outcome{Status: 429, Header: http.Header{"Retry-After": {"5"}}})

	want := t0.Add(time.Minute)
	if s := g.State("a.example"); !s.SlowedUntil.Equal(want) {
		t.Fatalf("slowed until %v, want %v", s.SlowedUntil, want)
	}
}

func TestRateLimitLimitIsKept(t *testing.T) {
	g := New(newClock(), Options{})
	send(t, g, "a.example", Outcome{Status: 200, Header: http.Header{"X-Ratelimit-Limit": {"600"}}})
	send(t, g, "a.example", Outcome{Status: 200, Header: http.Header{"X-Ratelimit-Limit": {"lots"}}})
	if s := g.State("a.example"); s.RateLimit != 600 {
		t.Fatalf("RateLimit = %d, want 600", s.RateLimit)
	}
}

// A slowed host's 429s still count as failures: slowing and the breaker
// are separate rules.
func TestSlowingAndBreakerBothApply(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{FailureThreshold: 1})
	var releases []func(Outcome)
	for range 2 {
		release, _ := g.Acquire("a.example")
		releases = append(releases, release)
	}
	for _, release := range releases {
		release(Outcome{Status: 429, Header: http.Header{"Retry-After": {"600"}}})
	}
	s := g.State("a.example")
	if s.State != StatePaused || !s.SlowedUntil.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("state = %+v, want paused and slowed 10m", s)
	}
	// Paused takes precedence: the caller records its 598.
	if _, hold := g.Acquire("a.example"); hold.Reason != HoldPaused {
		t.Fatalf("hold %v, want paused", hold.Reason)
	}
	// After the pause the slowing still holds, and no probe is sent.
	clock.advance(time.Minute)
	if _, hold := g.Acquire("a.example"); hold.Reason != HoldSlowed {
		t.Fatalf("hold %v, want slowed", hold.Reason)
	}
}
