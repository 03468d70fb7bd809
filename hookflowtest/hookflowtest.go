// Package hookflowtest runs a whole Hookflow in-process for tests: a real
// SQLite file, the API on a loopback httptest server, the senders, and an
// API key with every scope. It runs due schedules every PollInterval.
// Time can be a manual clock, so retries and
// delays are tested without sleeping.
package hookflowtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/netguard"
	"github.com/hookflow/hookflow/sender"
	"github.com/hookflow/hookflow/sqlite"
	"github.com/hookflow/hookflow/trigger"
)

// Clock is a manual clock: it stands still until Advance or Set.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t.UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Options tune a System. Zero values take test-friendly defaults.
type Options struct {
	// Clock defaults to the system clock.
	Clock hookflow.Clock
	// Policy defaults to deliver.DefaultPolicy with Base 50ms, so retries in
	// real time stay short.
	Policy *deliver.Policy
	// Timeout is the request timeout; defaults to 5s.
	Timeout time.Duration
	// Allow is the destination allow-list; defaults to loopback, where the
	// test receivers listen.
	Allow []string
	// PollInterval defaults to 20ms.
	PollInterval time.Duration
	// Path is the SQLite file; defaults to one in t.TempDir().
	Path string
	// Gate isolates hosts as `hookflow serve` does (per-host limit,
	// breaker, slowing); build it on the same Clock. Nil means no
	// isolation.
	Gate *hostgate.Gate
}

// System is a running Hookflow.
type System struct {
	t      testing.TB
	Store  *sqlite.Store
	Sender *sender.Sender
	Clock  hookflow.Clock
	// URL is the API's base URL.
	URL string
	// Key is a secret with every scope.
	Key string

	stop func()
}

// Start runs a System until the test ends.
func Start(t testing.TB, o Options) *System {
	t.Helper()
	o.defaults(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	store, err := sqlite.Open(context.Background(), o.Path, log)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	guard, err := netguard.New(o.Allow)
	if err != nil {
		t.Fatalf("guard: %v", err)
	}
	client := deliver.NewClient(deliver.Options{
		Timeout:     o.Timeout,
		DialContext: guard.DialContext(&net.Dialer{Timeout: o.Timeout}),
	})
	snd := sender.New(store, client, *o.Policy, o.Clock, log, sender.Options{
		PollInterval: o.PollInterval, Lease: max(o.Timeout+10*time.Second, sender.MinLease(o.Timeout)), Gate: o.Gate,
	})
	srv := api.New(api.Config{
		Store: store, Enqueue: trigger.New(o.Clock), Waker: snd, Guard: guard, Clock: o.Clock, Log: log,
		Deliver: client, SchedulePoll: o.PollInterval,
	})
	hs := httptest.NewServer(srv.Handler())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		snd.Run(ctx)
		close(done)
	}()
	// One System is one node: it runs the schedules itself.
	scheduled := make(chan struct{})
	go func() {
		srv.RunSchedules(ctx)
		close(scheduled)
	}()

	key, secret := api.NewKey("test", []string{hookflow.ScopeAll}, o.Clock.Now())
	if err := store.CreateKey(context.Background(), key); err != nil {
		t.Fatalf("creating key: %v", err)
	}
	s := &System{t: t, Store: store, Sender: snd, Clock: o.Clock, URL: hs.URL, Key: secret}
	s.stop = func() {
		hs.Close()
		cancel()
		<-done
		<-scheduled
		client.Close()
		store.Close()
	}
	t.Cleanup(s.stop)
	return s
}

func (o *Options) defaults(t testing.TB) {
	if o.Clock == nil {
		o.Clock = hookflow.SystemClock{}
	}
	if o.Policy == nil {
		p := deliver.DefaultPolicy()
		p.Base = 50 * time.Millisecond
		o.Policy = &p
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Allow == nil {
		o.Allow = []string{"127.0.0.0/8", "::1/128"}
	}
	if o.PollInterval == 0 {
		o.PollInterval = 20 * time.Millisecond
	}
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "hookflow.db")
	}
}

// Do sends an authorized API request; body is JSON-encoded unless it is a
// string or []byte. It returns the status and the response body.
func (s *System) Do(method, path string, body any) (int, []byte) {
	s.t.Helper()
	return s.DoKey(s.Key, method, path, body)
}

// DoKey is Do with another key ("" sends none).
func (s *System) DoKey(key, method, path string, body any) (int, []byte) {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatalf("encoding body: %v", err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		s.t.Fatalf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading response: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// MustDo is Do that fails the test unless the status is want, and decodes
// the response into out when out is not nil.
func (s *System) MustDo(want int, method, path string, body, out any) {
	s.t.Helper()
	status, data := s.Do(method, path, body)
	if status != want {
		s.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

// CreateCampaign creates a campaign from its JSON and returns its id.
func (s *System) CreateCampaign(campaign any) string {
	s.t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	s.MustDo(http.StatusCreated, "POST", "/v1/campaigns", campaign, &out)
	return out.ID
}

// Track posts a /users/track body and fails the test unless it is accepted.
func (s *System) Track(body any) {
	s.t.Helper()
	s.MustDo(http.StatusCreated, "POST", "/users/track", body, nil)
}

// WaitState waits until the delivery with id is in state, and returns it
// with its attempts. It fails the test after 15 seconds.
func (s *System) WaitState(id, state string) (*hookflow.Delivery, []hookflow.Attempt) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, as, err := s.Store.GetDelivery(context.Background(), id)
		if err == nil && d.State == state {
			return d, as
		}
		if time.Now().After(deadline) {
			got := "no delivery"
			if d != nil {
				got = fmt.Sprintf("state %s, attempts %d, last error %q", d.State, d.Attempts, d.LastError)
			}
			s.t.Fatalf("delivery %s: want state %s, have %s", id, state, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Deliveries lists deliveries matching f, newest first.
func (s *System) Deliveries(f hookflow.DeliveryFilter) []*hookflow.Delivery {
	s.t.Helper()
	ds, err := s.Store.ListDeliveries(context.Background(), f)
	if err != nil {
		s.t.Fatalf("listing deliveries: %v", err)
	}
	return ds
}

// WaitDeliveries waits until at least n deliveries match f and returns them.
func (s *System) WaitDeliveries(f hookflow.DeliveryFilter, n int) []*hookflow.Delivery {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ds := s.Deliveries(f)
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("want %d deliveries matching %+v, have %d", n, f, len(ds))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
