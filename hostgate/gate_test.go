package hostgate

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/deliver"
)

var (
	fail    = Outcome{Status: http.StatusBadGateway}
	ok      = Outcome{Status: http.StatusOK}
	testBad = Outcome{Status: http.StatusBadGateway, Test: true}
)

// send makes one granted attempt to host with outcome o, failing the test
// if the gate holds it.
func send(t *testing.T, g *Gate, host string, o Outcome) {
	t.Helper()
	release, hold := g.Acquire(host)
	if release == nil {
		t.Fatalf("Acquire(%s) held: %v until %v", host, hold.Reason, hold.Until)
	}
	release(o)
}

func sendN(t *testing.T, g *Gate, host string, o Outcome, n int) {
	t.Helper()
	for range n {
		send(t, g, host, o)
	}
}

func TestJudgeCountsTheDocumentedFailures(t *testing.T) {
	tests := []struct {
		o    Outcome
		want verdict
	}{
		{Outcome{Status: 200}, healthy},
		{Outcome{Status: 404}, healthy},
		{Outcome{Status: 500}, healthy},
		{Outcome{Status: 501}, healthy},
		{Outcome{Status: 302, ErrorKind: deliver.KindRedirect}, healthy},
		{Outcome{Status: 408}, failing},
		{Outcome{Status: 429}, failing},
		{Outcome{Status: 502}, failing},
		{Outcome{Status: 503}, failing},
		{Outcome{Status: 504}, failing},
		{Outcome{Status: 529}, failing},
		{Outcome{ErrorKind: deliver.KindTimeout}, failing},
		{Outcome{Status: 200, ErrorKind: deliver.KindTimeout}, failing}, // E1: body trickled past the deadline
		{Outcome{ErrorKind: deliver.KindConnect}, failing},
		{Outcome{ErrorKind: deliver.KindDNS}, failing},
		{Outcome{ErrorKind: deliver.KindTLS}, failing},
		{Outcome{ErrorKind: deliver.KindReset}, failing},
		{Outcome{ErrorKind: deliver.KindProtocol}, healthy},
		{Outcome{ErrorKind: deliver.KindCanceled}, neutral},
		{Outcome{ErrorKind: deliver.KindRefused}, neutral},
		{Outcome{ErrorKind: deliver.KindRequest}, neutral},
		{Outcome{Status: 503, Test: true}, neutral},
		{Outcome{ErrorKind: deliver.KindTimeout, Test: true}, neutral},
	}
	for _, tt := range tests {
		if got := judge(tt.o); got != tt.want {
			t.Errorf("judge(%+v) = %d, want %d", tt.o, got, tt.want)
		}
	}
}

func TestBreakerTripsAtExactlyTheThreshold(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		failures  int
		spread    time.Duration // failures spread evenly over this span
		want      string
	}{
		{"default: 3000 do not trip", 0, 3000, 0, StateClosed},
		{"default: 3001 trip", 0, 3001, 0, StatePaused},
		{"default: 3001 over 59s trip", 0, 3001, 59 * time.Second, StatePaused},
		{"default: 3001 over 61s do not", 0, 3001, 61 * time.Second, StateClosed},
		{"threshold 1: one does not trip", 1, 1, 0, StateClosed},
		{"threshold 1: two trip", 1, 2, 0, StatePaused},
		{"disabled", -1, 10000, 0, StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			g := New(clock, Options{FailureThreshold: tt.threshold, MaxPerHost: -1})
			for i := range tt.failures {
				clock.set(tt.spread * time.Duration(i) / time.Duration(tt.failures))
				send(t, g, "a.example", fail)
			}
			if got := g.State("a.example").State; got != tt.want {
				t.Errorf("state = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFailuresSlideOutOfTheWindow(t *testing.T) {
	tests := []struct {
		name  string
		later time.Duration // when the 11th failure comes after the first 10
		want  string
	}{
		{"same second", 999 * time.Millisecond, StatePaused},
		{"last second of the window", 59*time.Second + 999*time.Millisecond, StatePaused},
		{"window moved on", 60 * time.Second, StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			g := New(clock, Options{FailureThreshold: 10})
			sendN(t, g, "a.example", fail, 10)
			clock.set(tt.later)
			send(t, g, "a.example", fail)
			if got := g.State("a.example").State; got != tt.want {
				t.Errorf("state = %s, want %s", got, tt.want)
			}
		})
	}
}

// H1: an endpoint that fails 4 times then succeeds once, again and again,
// trips exactly when its failures in one window exceed the threshold;
// successes do not reset the count.
func TestFlappingHostTripsByTheRule(t *testing.T) {
	t.Run("burst", func(t *testing.T) {
		g := New(newClock(), Options{MaxPerHost: -1})
		for range 750 {
			sendN(t, g, "flap.example", fail, 4)
			send(t, g, "flap.example", ok)
		}
		s := g.State("flap.example")
		if s.State != StateClosed || s.Failures != 3000 {
			t.Fatalf("after 750 cycles: %s with %d failures, want closed with 3000", s.State, s.Failures)
		}
		send(t, g, "flap.example", fail)
		if s := g.State("flap.example"); s.State != StatePaused || s.Failures != 3001 {
			t.Fatalf("after 3001st failure: %s with %d failures, want paused with 3001", s.State, s.Failures)
		}
	})

	// One cycle every 10 s puts 24 failures in any 60 s window (6 cycles).
	tests := []struct {
		threshold int
		tripAt    time.Duration // zero: never within ten minutes
	}{
		{24, 0},
		{23, 50 * time.Second},
	}
	for _, tt := range tests {
		t.Run("paced", func(t *testing.T) {
			clock := newClock()
			g := New(clock, Options{FailureThreshold: tt.threshold})
			for c := time.Duration(0); c < 10*time.Minute; c += 10 * time.Second {
				clock.set(c)
				sendN(t, g, "flap.example", fail, 4)
				if g.State("flap.example").State == StatePaused {
					if c != tt.tripAt {
						t.Fatalf("threshold %d: tripped at %v, want %v", tt.threshold, c, tt.tripAt)
					}
					return
				}
				send(t, g, "flap.example", ok)
			}
			if tt.tripAt != 0 {
				t.Fatalf("threshold %d: never tripped, want at %v", tt.threshold, tt.tripAt)
			}
		})
	}
}

// H1: a test send never changes an endpoint's health.
func TestTestSendsNeverChangeHealth(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{FailureThreshold: 2})

	sendN(t, g, "a.example", testBad, 100)
	slow := Outcome{Status: 429, Header: http.Header{"Retry-After": {"60"}}, Test: true}
	send(t, g, "a.example", slow)
	if s := g.State("a.example"); s.State != StateClosed || s.Failures != 0 || s.SlowedUntil.After(clock.Now()) {
		t.Fatalf("after test sends: %+v, want closed, 0 failures, not slowed", s)
	}

	// Nor does a test send granted while probing decide the probe.
	sendN(t, g, "a.example", fail, 3)
	clock.advance(time.Minute)
	send(t, g, "a.example", testBad)
	send(t, g, "a.example", Outcome{Status: 200, Test: true})
	if s := g.State("a.example"); s.State != StateProbing {
		t.Fatalf("after test sends while probing: %s, want probing", s.State)
	}
}

func TestPauseThenProbes(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{FailureThreshold: 5, Pause: time.Minute, Probes: 3})
	clock.set(1500 * time.Millisecond)
	sendN(t, g, "a.example", fail, 6)
	tripped := clock.Now()
	until := tripped.Add(time.Minute)

	// Paused for exactly Pause, every caller told until when.
	clock.set(1500*time.Millisecond + time.Minute - time.Nanosecond)
	release, hold := g.Acquire("a.example")
	if release != nil || hold.Reason != HoldPaused || !hold.Until.Equal(until) {
		t.Fatalf("just before the pause ends: hold %v until %v, want paused until %v",
			hold.Reason, hold.Until, until)
	}
	a := hold.Attempt(clock.Now())
	if a.Status != 598 || a.ErrorKind != KindUnhealthy || !a.StartedAt.Equal(clock.Now()) ||
		!strings.Contains(a.Error, "a.example") {
		t.Errorf("synthetic attempt = %+v", a)
	}

	// Then exactly Probes probes, all at once.
	clock.set(1500*time.Millisecond + time.Minute)
	var probes []func(Outcome)
	for range 3 {
		release, hold := g.Acquire("a.example")
		if release == nil {
			t.Fatalf("probe held: %v", hold.Reason)
		}
		probes = append(probes, release)
	}
	if release, hold := g.Acquire("a.example"); release != nil || hold.Reason != HoldBusy {
		t.Fatalf("fourth attempt while probing: hold %v, want busy", hold.Reason)
	}
	if s := g.State("a.example"); s.State != StateProbing || s.InFlight != 3 || s.Limit != 3 {
		t.Fatalf("probing state = %+v", s)
	}

	// Two pass: still probing, and no further probe is granted.
	probes[0](ok)
	probes[1](Outcome{Status: 404})
	if release, hold := g.Acquire("a.example"); release != nil || hold.Reason != HoldBusy {
		t.Fatalf("after two probes passed: hold %v, want busy", hold.Reason)
	}

	// The third passes: full speed, with an empty window.
	probes[2](ok)
	s := g.State("a.example")
	if s.State != StateClosed || s.Failures != 0 || s.Trips != 1 || s.Limit != 16 {
		t.Fatalf("after probes passed: %+v, want closed, 0 failures, 1 trip", s)
	}
	for range 16 {
		if release, _ := g.Acquire("a.example"); release == nil {
			t.Fatal("full speed not resumed")
		}
	}
}

func TestProbeFailurePausesAgain(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{FailureThreshold: 1, Pause: 30 * time.Second, Probes: 2})
	sendN(t, g, "a.example", fail, 2)
	clock.advance(30 * time.Second)

	first, _ := g.Acquire("a.example")
	second, _ := g.Acquire("a.example")
	if first == nil || second == nil {
		t.Fatal("probes not granted")
	}
	clock.advance(5 * time.Second)
	first(Outcome{ErrorKind: deliver.KindConnect})
	want := clock.Now().Add(30 * time.Second)

	// The other probe's late success does not undo the new pause.
	second(ok)
	s := g.State("a.example")
	if s.State != StatePaused || !s.PausedUntil.Equal(want) || s.Trips != 2 {
		t.Fatalf("after a failed probe: %+v, want paused until %v, 2 trips", s, want)
	}
	if _, hold := g.Acquire("a.example"); hold.Reason != HoldPaused || !hold.Until.Equal(want) {
		t.Fatalf("hold %v until %v, want paused until %v", hold.Reason, hold.Until, want)
	}
}

func TestNeutralProbeGivesItsSlotBack(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{FailureThreshold: 1, Probes: 1})
	sendN(t, g, "a.example", fail, 2)
	clock.advance(time.Minute)

	send(t, g, "a.example", Outcome{ErrorKind: deliver.KindCanceled})
	if s := g.State("a.example"); s.State != StateProbing {
		t.Fatalf("after a canceled probe: %s, want probing", s.State)
	}
	send(t, g, "a.example", ok)
	if s := g.State("a.example"); s.State != StateClosed {
		t.Fatalf("after a passed probe: %s, want closed", s.State)
	}
}

// Attempts under way when the host tripped end later; their outcomes
// neither count as probes nor re-trip the host.
func TestAttemptsFromBeforeTheTripAreIgnored(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{FailureThreshold: 1, Probes: 1})
	slowOK, _ := g.Acquire("a.example")
	slowFail, _ := g.Acquire("a.example")
	sendN(t, g, "a.example", fail, 2)

	clock.advance(time.Minute)
	probe, _ := g.Acquire("a.example")
	if probe == nil {
		t.Fatal("probe not granted")
	}
	slowOK(ok)
	slowFail(fail)
	if s := g.State("a.example"); s.State != StateProbing || s.InFlight != 1 {
		t.Fatalf("after stale outcomes: %+v, want probing with the probe in flight", s)
	}
	probe(ok)
	if s := g.State("a.example"); s.State != StateClosed {
		t.Fatalf("after the probe: %s, want closed", s.State)
	}
}

func TestPerHostLimit(t *testing.T) {
	g := New(newClock(), Options{MaxPerHost: 2})

	// E1: a host whose attempts never end takes its own slots only.
	a1, _ := g.Acquire("slow.example")
	a2, _ := g.Acquire("slow.example")
	if a1 == nil || a2 == nil {
		t.Fatal("slots under the limit not granted")
	}
	release, hold := g.Acquire("slow.example")
	if release != nil || hold.Reason != HoldBusy || !hold.Until.IsZero() {
		t.Fatalf("third attempt: hold %v until %v, want busy", hold.Reason, hold.Until)
	}
	for range 10 {
		send(t, g, "fast.example", ok)
	}
	b1, _ := g.Acquire("fast.example")
	b2, _ := g.Acquire("fast.example")
	if b1 == nil || b2 == nil {
		t.Fatal("another host's slots not independent")
	}

	// Host names are case-insensitive.
	if release, _ := g.Acquire("SLOW.example"); release != nil {
		t.Fatal("SLOW.example got a slot beyond slow.example's limit")
	}

	// Busy does not count as anything; a release frees the slot.
	a1(ok)
	a1(fail) // a second call is ignored
	if s := g.State("slow.example"); s.InFlight != 1 || s.Failures != 0 {
		t.Fatalf("after release: %+v, want 1 in flight, 0 failures", s)
	}
	if release, _ := g.Acquire("slow.example"); release == nil {
		t.Fatal("freed slot not granted")
	}
}

func TestNoPerHostLimit(t *testing.T) {
	g := New(newClock(), Options{MaxPerHost: -1})
	for i := range 1000 {
		if release, _ := g.Acquire("a.example"); release == nil {
			t.Fatalf("attempt %d held without a limit", i)
		}
	}
	if s := g.State("a.example"); s.Limit != -1 || s.InFlight != 1000 {
		t.Fatalf("state = %+v", s)
	}
}

func TestTripIsLogged(t *testing.T) {
	var buf bytes.Buffer
	clock := newClock()
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := New(clock, Options{FailureThreshold: 1, Probes: 1, Log: log})
	sendN(t, g, "a.example", fail, 2)
	clock.advance(time.Minute)
	send(t, g, "a.example", ok)

	for _, want := range []string{
		`level=WARN msg="host unhealthy, paused" host=a.example failures=2`,
		`level=INFO msg="host pause over, probing" host=a.example probes=1`,
		`level=INFO msg="host healthy again" host=a.example`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestOptionDefaults(t *testing.T) {
	tests := []struct {
		in, want Options
	}{
		{Options{}, Options{MaxPerHost: 16, FailureThreshold: 3000, Window: time.Minute, Pause: time.Minute,
			Probes: 3, SlowCap: time.Hour}},
		{Options{MaxPerHost: 2, Probes: 5, Window: 1500 * time.Millisecond}, Options{MaxPerHost: 2,
			FailureThreshold: 3000, Window: 2 * time.Second, Pause: time.Minute, Probes: 2, SlowCap: time.Hour}},
		{Options{MaxPerHost: -1, FailureThreshold: -1, Window: time.Millisecond}, Options{MaxPerHost: -1,
			FailureThreshold: -1, Window: time.Second, Pause: time.Minute, Probes: 3, SlowCap: time.Hour}},
	}
	for _, tt := range tests {
		got := tt.in
		got.defaults()
		got.Log = nil
		if got != tt.want {
			t.Errorf("defaults(%+v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
