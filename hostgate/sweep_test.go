package hostgate

import (
	"net/http"
	"testing"
	"time"
)

func TestSweepForgetsIdleHosts(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{FailureThreshold: 1, Probes: 1})

	send(t, g, "idle.example", ok)
	busy, _ := g.Acquire("busy.example")
	send(t, g, "failed.example", fail)
	sendN(t, g, "paused.example", fail, 2)
	send(t, g, "slowed.example", Outcome{Status: 503, Header: http.Header{"Retry-After": {"90"}}})

	hosts := func() []string {
		var out []string
		for _, s := range g.Hosts() {
			out = append(out, s.Host)
		}
		return out
	}
	check := func(when string, want ...string) {
		t.Helper()
		got := hosts()
		if len(got) != len(want) {
			t.Fatalf("%s: hosts %v, want %v", when, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: hosts %v, want %v", when, got, want)
			}
		}
	}

	if n := g.Sweep(); n != 1 {
		t.Errorf("first sweep forgot %d, want 1", n)
	}
	check("at once", "busy.example", "failed.example", "paused.example", "slowed.example")

	// A minute on: the failure left the window; the pause is over but the
	// host still has to probe; slowing lasts 90 s.
	clock.advance(time.Minute)
	busy(ok)
	g.Sweep()
	check("a minute on", "paused.example", "slowed.example")

	clock.advance(30 * time.Second)
	send(t, g, "paused.example", ok) // the probe passes
	g.Sweep()
	check("90s on")
}

func TestAcquireSweepsOncePerWindow(t *testing.T) {
	clock := newClock()
	g := New(clock, Options{})
	for _, h := range []string{"a.example", "b.example", "c.example"} {
		send(t, g, h, ok)
	}

	clock.advance(59 * time.Second)
	send(t, g, "d.example", ok)
	if n := len(g.Hosts()); n != 4 {
		t.Fatalf("before a window passed: %d hosts, want 4", n)
	}

	clock.advance(time.Second)
	send(t, g, "d.example", ok)
	if hs := g.Hosts(); len(hs) != 1 || hs[0].Host != "d.example" {
		t.Fatalf("after a window: %+v, want d.example only", hs)
	}
}
