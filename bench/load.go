package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// client posts to one Hookflow's API with its key, keeping connections
// alive across calls as a real integration would.
type client struct {
	http *http.Client
	base string
	key  string
}

func newClient(s *server, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: time.Minute}
	return &client{http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, base: s.url, key: s.key}
}

func (c *client) do(method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// mustPost posts and fails unless the status is 201, for setup calls.
func (c *client) mustPost(path string, body []byte) ([]byte, error) {
	status, data, err := c.do("POST", path, body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: status %d: %s", path, status, data)
	}
	return data, nil
}

// calls records every measured API call: when it was sent and when its
// response arrived (0 while none has, or when it failed). A call's id goes
// into the events or trigger properties it carries, so each webhook can be
// traced back to the moment its event was accepted.
type calls struct {
	mu    sync.Mutex
	sent  []int64
	done  []int64
	items []int // events or recipients in the call
	fails atomic.Int64
	// accepted counts the items of accepted calls, read while loading.
	accepted atomic.Int64
	// firstFailure says why the first refused call was refused.
	firstFailure atomic.Pointer[string]
}

func (c *calls) begin(items int) (int64, int64) {
	at := clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, at)
	c.done = append(c.done, 0)
	c.items = append(c.items, items)
	return int64(len(c.sent) - 1), at
}

func (c *calls) end(id int64, ok bool) {
	at := clock()
	if !ok {
		c.fails.Add(1)
		return
	}
	c.mu.Lock()
	c.done[id] = at
	items := c.items[id]
	c.mu.Unlock()
	c.accepted.Add(int64(items))
}

// post makes one measured call whose body is built around its id.
func (c *calls) post(cl *client, path string, items int, body func(id int64) []byte) {
	id, _ := c.begin(items)
	status, data, err := cl.do("POST", path, body(id))
	ok := err == nil && status == http.StatusCreated
	if !ok {
		why := fmt.Sprintf("status %d: %.300s", status, bytes.TrimSpace(data))
		if err != nil {
			why = err.Error()
		}
		c.firstFailure.CompareAndSwap(nil, &why)
	}
	c.end(id, ok)
}

// failures describes the refused calls for a result row.
func (c *calls) failures() string {
	n := c.fails.Load()
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%d; the first: %s", n, *c.firstFailure.Load())
}

// summary returns the accepted items and the latencies of accepted calls.
func (c *calls) summary() (accepted int, latencies []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, d := range c.done {
		if d != 0 {
			accepted += c.items[i]
			latencies = append(latencies, d-c.sent[i])
		}
	}
	return accepted, latencies
}

func (c *calls) acceptedAt(id int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id < 0 || id >= int64(len(c.done)) {
		return 0
	}
	return c.done[id]
}

// closedLoop runs workers that each call fn back to back until d has
// passed. Before each call, a worker waits while gate says no.
func closedLoop(workers int, d time.Duration, gate func() bool, fn func()) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if gate != nil && !gate() {
					time.Sleep(time.Millisecond)
					continue
				}
				fn()
			}
		})
	}
	wg.Wait()
}

// openLoop calls fn every interval for d, each call in its own goroutine,
// so a slow response never delays the next call: the offered rate stays
// fixed whatever Hookflow does.
func openLoop(interval, d time.Duration, fn func()) {
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; ; i++ {
		next := begin.Add(time.Duration(i) * interval)
		if next.Sub(begin) >= d {
			break
		}
		time.Sleep(time.Until(next))
		wg.Go(fn)
	}
	wg.Wait()
}

// event is one event of a /users/track body.
type event struct {
	name string
	user int
}

// trackBody renders a /users/track body whose events all carry the call id
// in properties.b.
func trackBody(call int64, evs []event) []byte {
	var b bytes.Buffer
	now := time.Now().UTC().Format(time.RFC3339)
	id := strconv.FormatInt(call, 10)
	b.WriteString(`{"events":[`)
	for i, e := range evs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_id":"u%d","name":%q,"time":%q,"properties":{"b":"%s","i":%d,"plan":"gold"}}`,
			e.user, e.name, now, id, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// events returns n events named name for random users of a pool of users.
func events(name string, n, users int) []event {
	evs := make([]event, n)
	for i := range evs {
		evs[i] = event{name: name, user: rand.IntN(users)}
	}
	return evs
}

// createUsers makes users u0 … u(n-1) through /users/track attributes, 75 a
// call, from workers clients; fan-out and broadcast need them to exist.
func createUsers(cl *client, n, workers int) error {
	var (
		next atomic.Int64
		errs = make(chan error, workers)
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				from := int(next.Add(75)) - 75
				if from >= n {
					return
				}
				if _, err := cl.mustPost("/users/track", attributesBody(from, min(from+75, n))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func attributesBody(from, to int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"attributes":[`)
	for u := from; u < to; u++ {
		if u > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_id":"u%d","first_name":"User %d","plan":"gold"}`, u, u)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}
