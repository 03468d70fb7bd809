package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Paths of the bench receiver. A webhook's JSON body carries "b", the id of
// the API call (a /users/track batch or a send) that caused it.
const (
	pathHealthy = "/healthy"
	// pathSlow answers 200 after slowDelay: the neighbour that holds
	// connections.
	pathSlow = "/slow"
	// pathFail answers 500 to everything: the neighbour that is down.
	pathFail = "/fail"
	// pathPeer answers 200 at once: the neighbours of neighbours-good,
	// healthy, counted apart from pathHealthy.
	pathPeer = "/peer"
)

const slowDelay = 30 * time.Second

// arrival is one webhook at the healthy endpoint.
type arrival struct {
	call int64 // the call id from the body
	at   int64 // clock() when the handler started
}

// sink is the receiver: plain net/http servers on loopback, recording only
// an arrival per healthy webhook so a long run stays small in memory. Each
// path listens on a port of its own, so the bad neighbours are separate
// hosts to Hookflow's HTTP client, as separate receivers would be. It runs
// in the bench process, on the same machine as Hookflow.
type sink struct {
	srvs      []*http.Server
	urls      map[string]string // path → base URL serving it
	closing   chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	arrivals []arrival
	bad      int // bodies without a call id

	slow, fail, peer atomic.Int64
}

func startSink() (*sink, error) {
	s := &sink{urls: map[string]string{}, closing: make(chan struct{})}
	handlers := map[string]http.HandlerFunc{
		pathHealthy: s.healthy,
		pathSlow:    s.slowly,
		pathFail: func(w http.ResponseWriter, r *http.Request) {
			s.fail.Add(1)
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusInternalServerError)
		},
		pathPeer: func(w http.ResponseWriter, r *http.Request) {
			s.peer.Add(1)
			io.Copy(io.Discard, r.Body)
		},
	}
	for path, h := range handlers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("receiver: %w", err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		s.srvs = append(s.srvs, srv)
		s.urls[path] = "http://" + ln.Addr().String() + path
		go srv.Serve(ln)
	}
	return s, nil
}

func (s *sink) healthy(w http.ResponseWriter, r *http.Request) {
	at := clock()
	var body struct {
		B string `json:"b"`
	}
	data, _ := io.ReadAll(r.Body)
	err := json.Unmarshal(data, &body)
	var call int64
	if err == nil {
		call, err = strconv.ParseInt(body.B, 10, 64)
	}

	s.mu.Lock()
	if err != nil {
		s.bad++
	} else {
		s.arrivals = append(s.arrivals, arrival{call: call, at: at})
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (s *sink) slowly(w http.ResponseWriter, r *http.Request) {
	s.slow.Add(1)
	io.Copy(io.Discard, r.Body)
	t := time.NewTimer(slowDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.closing:
	case <-r.Context().Done():
	}
	w.WriteHeader(http.StatusOK)
}

// received returns how many healthy webhooks arrived.
func (s *sink) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrivals)
}

// snapshot returns a copy of the arrivals so far.
func (s *sink) snapshot() ([]arrival, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]arrival(nil), s.arrivals...), s.bad
}

// close releases the slow handlers at once, then shuts the server.
func (s *sink) close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		for _, srv := range s.srvs {
			srv.Close()
		}
	})
}

// start is the bench's time origin; clock reads a monotonic offset from it,
// so driver and receiver, in one process, share one clock.
var start = time.Now()

func clock() int64 { return int64(time.Since(start)) }
