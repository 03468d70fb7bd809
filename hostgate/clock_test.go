package hostgate

import (
	"sync"
	"time"
)

// manualClock is a hookflow.Clock that moves only when told to, so windows
// and pauses are tested to the nanosecond without sleeping.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

// t0 is on a whole second, so offsets from it name buckets plainly.
var t0 = time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC)

func newClock() *manualClock { return &manualClock{t: t0} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// set moves the clock to t0 + d.
func (c *manualClock) set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t0.Add(d)
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
