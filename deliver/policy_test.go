package deliver

import (
	"net/http"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		kind   string
		want   Verdict
	}{
		{"200", 200, "", Delivered},
		{"204", 204, "", Delivered},
		{"299", 299, "", Delivered},
		{"200 body timed out (E1)", 200, KindTimeout, Retry},
		{"301", 301, KindRedirect, Fail},
		{"302", 302, KindRedirect, Fail},
		{"308", 308, KindRedirect, Fail},
		{"400", 400, KindStatus, Fail},
		{"403 (T1)", 403, KindStatus, Fail},
		{"404", 404, KindStatus, Fail},
		{"410", 410, KindStatus, Fail},
		{"403 body timed out", 403, KindTimeout, Fail},
		{"408", 408, KindStatus, Retry},
		{"429", 429, KindStatus, Retry},
		{"500", 500, KindStatus, Retry},
		{"503", 503, KindStatus, Retry},
		{"598 held by breaker", 598, KindStatus, Retry},
		{"1xx", 101, KindStatus, Fail},
		{"timeout", 0, KindTimeout, Retry},
		{"connect (T2)", 0, KindConnect, Retry},
		{"dns", 0, KindDNS, Retry},
		{"tls", 0, KindTLS, Retry},
		{"reset", 0, KindReset, Retry},
		{"canceled", 0, KindCanceled, Retry},
		{"protocol", 0, KindProtocol, Retry},
		{"refused by guard (E6)", 0, KindRefused, Fail},
		{"invalid request", 0, KindRequest, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(hookflow.Attempt{Status: tt.status, ErrorKind: tt.kind})
			if got != tt.want {
				t.Fatalf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := t0
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"7", 7 * time.Second, true}, // T3: seconds, not milliseconds
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Sun, 01 Mar 2026 12:05:00 GMT", 5 * time.Minute, true},
		{"Sunday, 01-Mar-26 12:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Sun Mar  1 12:00:10 2026", 10 * time.Second, true},       // ANSI C
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, false},  // past
		{"-5", 0, false},
		{"7.5", 0, false},
		{"7s", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		{"99999999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParseRetryAfterClampsHugeSeconds(t *testing.T) {
	got, ok := ParseRetryAfter("18446744073709551615", t0)
	if !ok || got <= 100*365*24*time.Hour {
		t.Fatalf("ParseRetryAfter(max uint64) = %v, %v; want a huge duration", got, ok)
	}
}

func TestBackoff(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		n    int
		rnd  float64
		want time.Duration
	}{
		{1, 0.5, 10 * time.Second},
		{2, 0.5, 20 * time.Second},
		{9, 0.5, 2560 * time.Second},
		{10, 0.5, time.Hour}, // 5120s capped at Max
		{100, 0.5, time.Hour},
		{1 << 30, 0.5, time.Hour},
		{0, 0.5, 10 * time.Second}, // treated as the first attempt
		{1, 0, 8 * time.Second},    // -20%
		{1, 0.75, 11 * time.Second},
		{10, 0, 48 * time.Minute},
		{10, 1, 72 * time.Minute}, // the +20% bound, never reached as rnd < 1
	}
	for _, tt := range tests {
		if got := p.Backoff(tt.n, tt.rnd); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.n, tt.rnd, got, tt.want)
		}
	}
}

func TestNext(t *testing.T) {
	p := DefaultPolicy()
	end := t0.Add(24 * time.Hour)
	tests := []struct {
		name       string
		n          int
		now        time.Time
		retryAfter time.Duration
		rnd        float64
		want       time.Time
		wantOK     bool
	}{
		{"first retry", 1, t0, 0, 0.5, t0.Add(10 * time.Second), true},
		{"jitter low", 1, t0, 0, 0, t0.Add(8 * time.Second), true},
		{"jitter high", 3, t0.Add(time.Minute), 0, 0.75, t0.Add(time.Minute + 44*time.Second), true},
		{"Retry-After 7 (T3)", 1, t0, 7 * time.Second, 0.5, t0.Add(7 * time.Second), true},
		{"Retry-After ignores jitter", 1, t0, 7 * time.Second, 0, t0.Add(7 * time.Second), true},
		{"Retry-After longer than backoff", 1, t0, 30 * time.Minute, 0.5, t0.Add(30 * time.Minute), true},
		{"Retry-After capped", 1, t0, 5 * time.Hour, 0.5, t0.Add(time.Hour), true},
		{"last attempt at window end", 30, end.Add(-10 * time.Minute), 0, 0.5, end, true},
		{"Retry-After past window", 2, end.Add(-time.Minute), time.Hour, 0.5, end, true},
		{"exactly at window end", 30, end.Add(-time.Hour), 0, 0.5, end, true},
		{"window closed", 33, end, 0, 0.5, time.Time{}, false},
		{"after window", 33, end.Add(time.Second), 0, 0.5, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.Next(tt.n, t0, tt.now, tt.retryAfter, tt.rnd)
			if !got.Equal(tt.want) || ok != tt.wantOK {
				t.Fatalf("Next = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// schedule runs a delivery that always fails instantly through p and
// returns the offset of every attempt from the first.
func schedule(t *testing.T, p Policy, rnd float64) []time.Duration {
	t.Helper()
	offsets := []time.Duration{0}
	now := t0
	for n := 1; ; n++ {
		next, ok := p.Next(n, t0, now, 0, rnd)
		if !ok {
			return offsets
		}
		if !next.After(now) {
			t.Fatalf("attempt %d at %v is not after attempt %d at %v", n+1, next, n, now)
		}
		now = next
		offsets = append(offsets, now.Sub(t0))
		if n > 1000 {
			t.Fatal("schedule never ends")
		}
	}
}

// TestDefaultScheduleMatchesDoc checks the table in the package doc.
func TestDefaultScheduleMatchesDoc(t *testing.T) {
	got := schedule(t, DefaultPolicy(), 0.5)

	want := []time.Duration{0, 10 * time.Second, 30 * time.Second, 70 * time.Second,
		150 * time.Second, 310 * time.Second, 630 * time.Second, 1270 * time.Second,
		2550 * time.Second, 5110 * time.Second}
	for h := 0; h <= 22; h++ { // attempts 11..33
		want = append(want, 8710*time.Second+time.Duration(h)*time.Hour)
	}
	want[len(want)-1] = 24 * time.Hour

	if len(got) != 33 || len(want) != 33 {
		t.Fatalf("default schedule has %d attempts, want 33 (%v)", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("attempt %d at %v, want %v", i+1, got[i], want[i])
		}
	}
}

func TestDefaultScheduleSpansWindowWhateverTheJitter(t *testing.T) {
	for _, rnd := range []float64{0, 0.25, 0.5, 0.75, 0.9999} {
		got := schedule(t, DefaultPolicy(), rnd)
		last := got[len(got)-1]
		if last != 24*time.Hour {
			t.Errorf("rnd %v: last attempt at %v, want 24h", rnd, last)
		}
		if len(got) < 28 || len(got) > 40 {
			t.Errorf("rnd %v: %d attempts, want about 33", rnd, len(got))
		}
	}
}

func TestDecide(t *testing.T) {
	p := DefaultPolicy()
	retryAfter := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	date := t0.Add(3 * time.Minute).Format(http.TimeFormat)
	tests := []struct {
		name      string
		a         hookflow.Attempt
		first     time.Time
		wantState string
		wantDue   time.Time
	}{
		{"delivered", hookflow.Attempt{Number: 1, StartedAt: t0, Status: 200},
			time.Time{}, hookflow.StateDelivered, time.Time{}},
		{"403 fails (T1)", hookflow.Attempt{Number: 1, StartedAt: t0, Status: 403, ErrorKind: KindStatus},
			time.Time{}, hookflow.StateFailed, time.Time{}},
		{"400 with Retry-After fails (T3)", hookflow.Attempt{Number: 1, StartedAt: t0, Status: 400,
			ErrorKind: KindStatus, ResponseHeaders: retryAfter("7")},
			time.Time{}, hookflow.StateFailed, time.Time{}},
		{"429 Retry-After 7 (T3)", hookflow.Attempt{Number: 1, StartedAt: t0, Duration: time.Second,
			Status: 429, ErrorKind: KindStatus, ResponseHeaders: retryAfter("7")},
			time.Time{}, hookflow.StatePending, t0.Add(8 * time.Second)},
		{"503 Retry-After date", hookflow.Attempt{Number: 4, StartedAt: t0, Status: 503,
			ErrorKind: KindStatus, ResponseHeaders: retryAfter(date)},
			t0.Add(-time.Hour), hookflow.StatePending, t0.Add(3 * time.Minute)},
		{"500 invalid Retry-After backs off", hookflow.Attempt{Number: 2, StartedAt: t0, Status: 500,
			ErrorKind: KindStatus, ResponseHeaders: retryAfter("later")},
			t0.Add(-time.Minute), hookflow.StatePending, t0.Add(20 * time.Second)},
		{"connect error backs off", hookflow.Attempt{Number: 1, StartedAt: t0, ErrorKind: KindConnect},
			time.Time{}, hookflow.StatePending, t0.Add(10 * time.Second)},
		{"window over", hookflow.Attempt{Number: 33, StartedAt: t0, ErrorKind: KindTimeout},
			t0.Add(-24 * time.Hour), hookflow.StateFailed, time.Time{}},
		{"refused by guard", hookflow.Attempt{Number: 1, StartedAt: t0, ErrorKind: KindRefused},
			time.Time{}, hookflow.StateFailed, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, due := p.Decide(tt.a, tt.first, 0.5)
			if state != tt.wantState || !due.Equal(tt.wantDue) {
				t.Fatalf("Decide = %s, %v; want %s, %v", state, due, tt.wantState, tt.wantDue)
			}
		})
	}
}

// DecideAt counts from the end its caller gives, ignoring the wall-clock
// Duration: with a manual clock standing at t0, Retry-After 7 is due at
// exactly t0+7s.
func TestDecideAtCountsFromGivenEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	a := hookflow.Attempt{Number: 1, StartedAt: t0, Duration: 3 * time.Millisecond, Status: 429,
		ErrorKind: KindStatus, ResponseHeaders: http.Header{"Retry-After": {"7"}}}
	state, due := DefaultPolicy().DecideAt(a, time.Time{}, t0, 0.5)
	if state != hookflow.StatePending || !due.Equal(t0.Add(7*time.Second)) {
		t.Fatalf("DecideAt = %s, %v; want pending, %v", state, due, t0.Add(7*time.Second))
	}
}
