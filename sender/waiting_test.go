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
		// second; 200 ms of that is 4,000.
		{1000, 0, maxWaitersPerHost},
		{1020, 400, 4000},
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
		if got := h.limit(at(st.ms)); got != st.limit {
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
		if !w.add("slow.example", o(i), 100) {
			t.Fatalf("waiter %d of slow.example refused", i)
		}
	}
	if w.add("slow.example", o(0), 100) {
		t.Error("slow.example took more than maxWaitersPerHost waiters")
	}
	if !w.add("other.example", o(0), 100) {
		t.Error("other.example refused while its own wait is empty")
	}
	if w.add("third.example", o(0), maxWaitersPerHost+1) {
		t.Error("a waiter beyond the global limit was taken")
	}
	if w.count != maxWaitersPerHost+1 {
		t.Errorf("count %d, want %d", w.count, maxWaitersPerHost+1)
	}
}

// A fast host that never had to wait is known to be fast the first time
// its slots fill: its wait takes its turnover, not the small bound, so a
// moment's hiccup does not send its deliveries back to the queue.
func TestAFastHostsFirstWaitFollowsItsAttempts(t *testing.T) {
	var w waiting
	o := outgoing{Delivery: &hookflow.Delivery{ID: "d"}}
	for range 100 { // well within 10 ms: 10,000 a second or more
		w.started("fast.example")
	}
	w.started("slow.example")
	accepted := func(host string) (n int) {
		for w.add(host, o, 10000) {
			n++
		}
		return n
	}
	if n := accepted("fast.example"); n < 1000 {
		t.Errorf("fast.example, 100 attempts started at once, took %d waiters; want its turnover's, 1,000 or more", n)
	}
	if n := accepted("slow.example"); n > 2*maxWaitersPerHost {
		t.Errorf("slow.example, one attempt started, took %d waiters; want about maxWaitersPerHost", n)
	}
}
