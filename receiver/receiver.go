// Package receiver is a scriptable HTTP server on loopback that records every
// request exactly as it arrived: method, raw path and query, headers, raw body
// bytes and arrival time. Hookflow's integration, crash and benchmark tests
// point webhooks at it and assert on what it saw; a Script decides how it
// answers (any status, headers, a delay, a trickle, a redirect, a dropped
// connection). The `hookflow sink` command is built on it too.
//
// Known limits: header names are canonicalised by net/http (HTTP header names
// are case-insensitive, so only their spelling is lost); the server speaks
// plain HTTP/1.1 only.
package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBody is how many body bytes a request records when
// Options.MaxBody is zero.
const DefaultMaxBody = 1 << 20

// Request is one request as the receiver saw it.
type Request struct {
	Method string
	// RawPath is the request target exactly as received: the path, then "?"
	// and the raw query when there is one, with no decoding.
	RawPath string
	// Header holds the request headers with their values as received. Host
	// and Transfer-Encoding, which net/http moves out of the header map, are
	// put back so the map shows what was on the wire.
	Header http.Header
	// Body holds the first MaxBody bytes of the body.
	Body []byte
	// BodyLen is the real length of the body, however much was recorded.
	BodyLen int64
	// Incomplete is set when the body ended early: the client went away or
	// sent fewer bytes than its Content-Length promised.
	Incomplete bool
	// At is when the request's headers had arrived.
	At         time.Time
	RemoteAddr string
}

// Truncated reports whether Body holds less than the whole body.
func (r *Request) Truncated() bool { return int64(len(r.Body)) < r.BodyLen }

// Path returns RawPath without its query.
func (r *Request) Path() string {
	path, _, _ := strings.Cut(r.RawPath, "?")
	return path
}

// Record says how much of each request a Receiver keeps.
type Record int

const (
	// RecordAll keeps every request whole (its body capped at MaxBody).
	RecordAll Record = iota
	// RecordIDs keeps only the count and, per delivery id, how many times it
	// arrived: enough for crash tests and benchmarks, at a fraction of the
	// memory.
	RecordIDs
	// RecordCount keeps only the count. The sink uses it to run for days.
	// Every mode still keeps one counter per distinct path, for Script's n.
	RecordCount
)

// String returns the mode's name, such as "all".
func (m Record) String() string {
	switch m {
	case RecordAll:
		return "all"
	case RecordIDs:
		return "ids"
	case RecordCount:
		return "count"
	}
	return fmt.Sprintf("Record(%d)", int(m))
}

// Options configures a Receiver. The zero value is a loopback receiver on a
// free port that records everything.
type Options struct {
	// Addr is the address to listen on. Defaults to "127.0.0.1:0", a free
	// port on loopback. A test may pass the address of a receiver it closed
	// earlier to bring "the same endpoint" back up.
	Addr string
	// MaxBody caps how many body bytes each request records. Defaults to
	// DefaultMaxBody (1 MiB); negative means no cap. The rest of the body is
	// still read and counted in BodyLen.
	MaxBody int64
	// Record says what is kept. Defaults to RecordAll.
	Record Record
	// IDHeader names the header holding a delivery's id, for IDs and ByID.
	// Defaults to "webhook-id".
	IDHeader string
}

// Receiver is a running recording HTTP server. It is safe for concurrent use.
type Receiver struct {
	opts   Options
	script Script
	ln     net.Listener
	srv    *http.Server

	// closing is closed by Close so delays and trickles stop at once.
	closing   chan struct{}
	closeOnce sync.Once
	handlers  sync.WaitGroup

	mu       sync.Mutex
	requests []Request
	count    int
	inFlight int
	perPath  map[string]int
	ids      map[string]int
	// notify is nil unless someone waits; it is closed and cleared on every
	// change so waiters wake without polling, and the hot path allocates
	// nothing when nobody waits.
	notify chan struct{}
}

// Start starts a receiver on a free loopback port that answers with script
// and records everything. A nil script answers 200 to everything.
func Start(script Script) (*Receiver, error) {
	return StartWith(script, Options{})
}

// StartOn is Start listening on addr.
func StartOn(addr string, script Script) (*Receiver, error) {
	return StartWith(script, Options{Addr: addr})
}

// StartWith starts a receiver configured by o.
func StartWith(script Script, o Options) (*Receiver, error) {
	o = o.withDefaults()
	if script == nil {
		script = Always(http.StatusOK)
	}

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("receiver listen on %s: %w", o.Addr, err)
	}

	r := &Receiver{
		opts:    o,
		script:  script,
		ln:      ln,
		closing: make(chan struct{}),
		perPath: make(map[string]int),
		ids:     make(map[string]int),
	}
	r.srv = &http.Server{
		Handler:           http.HandlerFunc(r.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		// Clients that hang up mid-request are the point of many tests;
		// the server's complaints about them are noise.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go r.srv.Serve(ln)
	return r, nil
}

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.IDHeader == "" {
		o.IDHeader = "webhook-id"
	}
	return o
}

// Addr returns the host:port the receiver listens on.
func (r *Receiver) Addr() string { return r.ln.Addr().String() }

// URL returns the receiver's base URL, such as "http://127.0.0.1:41234". When
// it listens on all interfaces the URL names loopback, which always reaches it.
func (r *Receiver) URL() string {
	return "http://" + reachable(r.ln.Addr())
}

// reachable turns a listener address into one a local client can dial.
func reachable(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}

// Requests returns a copy of the recorded requests in arrival order. It is
// empty unless the receiver records everything (RecordAll). The Header maps
// and Body slices are shared with the receiver and must not be modified.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Count returns how many requests have arrived, in every Record mode.
func (r *Receiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// IDs returns how many times each delivery id (the IDHeader value) arrived.
// Requests without the header are not listed. It is empty in RecordCount mode.
func (r *Receiver) IDs() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.ids))
	for id, n := range r.ids {
		out[id] = n
	}
	return out
}

// ByID groups the recorded requests by delivery id (the IDHeader value), each
// group in arrival order, so a test can check that every duplicate of a
// delivery carries the same bytes. It needs RecordAll.
func (r *Receiver) ByID() map[string][]Request {
	out := make(map[string][]Request)
	for _, req := range r.Requests() {
		id := req.Header.Get(r.opts.IDHeader)
		if id != "" {
			out[id] = append(out[id], req)
		}
	}
	return out
}

// WaitFor blocks until at least n requests have arrived or ctx is done.
func (r *Receiver) WaitFor(ctx context.Context, n int) error {
	err := r.wait(ctx, func() bool { return r.count >= n })
	if err != nil {
		return fmt.Errorf("wait for %d requests (have %d): %w", n, r.Count(), err)
	}
	return nil
}

// WaitIdle blocks until no request is being answered or ctx is done. A test
// uses it to see that a delay or trickle ended because the client went away.
func (r *Receiver) WaitIdle(ctx context.Context) error {
	err := r.wait(ctx, func() bool { return r.inFlight == 0 })
	if err != nil {
		return fmt.Errorf("wait for idle receiver: %w", err)
	}
	return nil
}

// wait blocks until cond, called with r.mu held, is true.
func (r *Receiver) wait(ctx context.Context, cond func() bool) error {
	for {
		r.mu.Lock()
		if cond() {
			r.mu.Unlock()
			return nil
		}
		if r.notify == nil {
			r.notify = make(chan struct{})
		}
		ch := r.notify
		r.mu.Unlock()

		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// changed wakes every waiter. The caller holds r.mu.
func (r *Receiver) changed() {
	if r.notify != nil {
		close(r.notify)
		r.notify = nil
	}
}

// Close stops the receiver: it stops listening, cuts every connection, ends
// delays and trickles, and waits for the handlers to return. A Script that
// never returns makes Close wait forever.
func (r *Receiver) Close() error {
	var err error
	r.closeOnce.Do(func() {
		// Connections are cut first so a trickle ends as a broken
		// response, not a complete one.
		err = r.srv.Close()

		// record checks closing and counts a handler under r.mu, so no
		// handler is counted after Wait begins.
		r.mu.Lock()
		close(r.closing)
		r.mu.Unlock()
		r.handlers.Wait()
	})
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close receiver: %w", err)
	}
	return nil
}
