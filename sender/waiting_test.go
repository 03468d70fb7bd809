package sender

import (
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func TestWaitersOfAHostFollowItsTurnover(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	h := &hostWait{window: start}
	for _, st := range []struct {
		ms, n, limit int
	}{
		{100, 3, maxWaitersPerHost}, // a slow host: a few a second
		{600, 2, maxWaitersPerHost},
		// A burst: 400 within 20 ms of a new window is 20,000 a
		// second, and 200 ms of that would be 4,000; but the host has
		// started only 405 in all.
		{1000, 0, maxWaitersPerHost},
		{1020, 400, 405},
		// A second later, 1,000 more in 0.5 s of the new window are
		// 2,000 a second, but 1,400 over the last 1.5 s is fewer.
		{2500, 1000, 400},
		// Slower: 10 in the next 0.4 s; 1,010 in 0.9 s is faster
		// than 1,410 in 1.9 s.
		{2900, 10, 224},
		// Two idle seconds: back to the small bound.
		{4600, 0, maxWaitersPerHost},
	} {
		h.took(st.n, at(st.ms))
		if got := h.limit(at(st.ms), 0); got != st.limit {
			t.Errorf("at +%d ms, after %d more: limit %d, want %d", st.ms, st.n, got, st.limit)
		}
	}
}

func TestWaitingAddHonoursBothBounds(t *testing.T) {
	var w waiting
	o := func(i int) outgoing {
		return outgoing{Delivery: &hookflow.Delivery{ID: string(rune('a' + i))}}
	}
	for i := range maxWaitersPerHost {
		if !w.add("slow.example", o(i), 100, time.Now()) {
			t.Fatalf("waiter %d of slow.example refused", i)
		}
	}
	if w.add("slow.example", o(0), 100, time.Now()) {
		t.Error("slow.example took more than maxWaitersPerHost waiters")
	}
	if !w.add("other.example", o(0), 100, time.Now()) {
		t.Error("other.example refused while its own wait is empty")
	}
	if w.add("third.example", o(0), maxWaitersPerHost+1, time.Now()) {
		t.Error("a waiter beyond the global limit was taken")
	}
	if w.count != maxWaitersPerHost+1 {
		t.Errorf("count %d, want %d", w.count, maxWaitersPerHost+1)
	}
}

// A fast host that never had to wait is known to be fast the first time
// its slots fill: its wait takes its turnover, not the small bound, so a
// moment's hiccup does not send its deliveries back to the queue. A slow
// host that fills its idle slots at once has shown no turnover at all,
// and keeps the small bound, round after round.
func TestAHostsWaitFollowsTheSlotsItReused(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	w := waiting{perHost: 32}
	o := outgoing{Delivery: &hookflow.Delivery{ID: "d"}}
	accepted := func(host string, now time.Time) (n int) {
		for w.add(host, o, 10000, now) {
			n++
		}
		return n
	}

	// One start a millisecond for a second: 1,000 a second, 200 of
	// them in waitAhead.
	for ms := range 1000 {
		if !w.start("fast.example", at(ms)) {
			t.Fatalf("fast.example not idle at +%d ms", ms)
		}
	}
	if n := accepted("fast.example", at(1000)); n != 200 {
		t.Errorf("fast.example, 1,000 attempts a second, took %d waiters; want 200", n)
	}
	if w.start("fast.example", at(1001)) {
		t.Error("fast.example reported idle with 200 waiting")
	}

	// 32 idle slots filled at once, then nothing for 3 s, twice: the
	// starts are not above the host's slots.
	for round := range 2 {
		for range 32 {
			w.start("slow.example", at(3000*round))
		}
		if n := accepted("slow.example", at(3000*round+1)); n != maxWaitersPerHost {
			t.Errorf("round %d: slow.example, 32 starts into idle slots, took %d waiters; want %d",
				round, n, maxWaitersPerHost)
		}
		if w.fast("slow.example", at(3000*round+1)) {
			t.Errorf("round %d: slow.example counted as fast", round)
		}
		w.hosts["slow.example"].queue, w.count = nil, w.count-maxWaitersPerHost
	}
}

// forget drops a host that only had starts once it is quiet, even while
// another host's deliveries wait, and keeps a host with waiters.
func TestWaitingForgetsQuietHostsWhileOthersWait(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	w := waiting{perHost: 32}
	w.start("once.example", start)
	if !w.add("busy.example", outgoing{Delivery: &hookflow.Delivery{ID: "d"}}, 100, start) {
		t.Fatal("busy.example refused its first waiter")
	}
	w.forget(start.Add(time.Second))
	if len(w.hosts) != 2 {
		t.Fatalf("after 1 s, %d hosts known; want both", len(w.hosts))
	}
	w.forget(start.Add(3 * time.Second))
	if _, ok := w.hosts["once.example"]; ok {
		t.Error("once.example, quiet for 3 s, still known")
	}
	if _, ok := w.hosts["busy.example"]; !ok {
		t.Error("busy.example forgotten with a delivery waiting")
	}
}
