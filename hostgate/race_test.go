package hostgate

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many goroutines acquiring and releasing across hosts, while the clock
// moves and operators read state: run with -race. The per-host limit must
// hold at every moment, and everything granted must be released.
func TestConcurrentUse(t *testing.T) {
	const (
		workers = 16
		rounds  = 2000
		limit   = 4
	)
	hosts := []string{"a.example", "b.example", "c.example", "d.example", "e.example"}
	clock := newClock()
	g := New(clock, Options{
		MaxPerHost: limit, FailureThreshold: 50, Pause: 2 * time.Second, Window: 5 * time.Second,
	})
	outcomes := []Outcome{{Status: 429, Header: http.Header{"Retry-After": {"1"}}}, {Status: 200, Test: true}}
	for range 10 {
		outcomes = append(outcomes, ok, fail)
	}

	var inFlight [5]atomic.Int32
	var granted, held atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for range rounds {
				clock.advance(time.Millisecond)
				i := rnd.IntN(len(hosts))
				release, _ := g.Acquire(hosts[i])
				if release == nil {
					held.Add(1)
					continue
				}
				granted.Add(1)
				if n := inFlight[i].Add(1); n > limit {
					t.Errorf("%s: %d in flight, limit %d", hosts[i], n, limit)
				}
				inFlight[i].Add(-1)
				release(outcomes[rnd.IntN(len(outcomes))])
			}
		})
	}
	wg.Go(func() {
		for i := range 500 {
			g.State(hosts[i%len(hosts)])
			g.Hosts()
			if i%50 == 0 {
				g.Sweep()
			}
		}
	})
	wg.Wait()

	for _, s := range g.Hosts() {
		if s.InFlight != 0 {
			t.Errorf("%s: %d still in flight", s.Host, s.InFlight)
		}
	}
	if granted.Load() == 0 || held.Load() == 0 {
		t.Errorf("granted %d, held %d: the test exercised too little", granted.Load(), held.Load())
	}
	t.Logf("granted %d, held %d, trips %d", granted.Load(), held.Load(), trips(g))
}

func trips(g *Gate) int {
	n := 0
	for _, s := range g.Hosts() {
		n += s.Trips
	}
	return n
}
