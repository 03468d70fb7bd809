package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Request records one API request to route, a route pattern such as
// "POST /users/track" (never the raw path, whose ids would make a series
// per request), answered with status after d.
func (m *Metrics) Request(route string, status int, d time.Duration) {
	m.route(route).record(status, d)
}

// Middleware wraps h so that each request is recorded under route, with
// the status h wrote (200 if it wrote none). A request whose handler
// panics before writing a status is recorded as 500.
func (m *Metrics) Middleware(route string, h http.Handler) http.Handler {
	r := m.route(route)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		returned := false
		// Deferred, so a panicking handler is counted too; the panic goes
		// on untouched to the server's own recovery.
		defer func() {
			r.record(sw.final(returned), time.Since(start))
		}()
		h.ServeHTTP(sw, req)
		returned = true
	})
}

func (m *Metrics) initRequests() {
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "http_requests_total",
		Help:      "API requests by route pattern and status code.",
	}, []string{"route", "code"})
	m.requestDurations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace,
		Name:      "http_request_duration_seconds",
		Help:      "Duration of API requests by route pattern.",
		Buckets:   requestBuckets,
	}, []string{"route"})
	m.routes = make(map[string]*routeEntry)
}

// routeEntry caches one route's series, so recording a request allocates
// nothing once its status has been seen.
type routeEntry struct {
	label     string
	requests  *prometheus.CounterVec
	durations prometheus.Observer

	mu    sync.RWMutex
	codes map[int]prometheus.Counter
}

func (m *Metrics) route(route string) *routeEntry {
	m.routesMu.RLock()
	r, ok := m.routes[route]
	m.routesMu.RUnlock()
	if ok {
		return r
	}

	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	if r, ok := m.routes[route]; ok {
		return r
	}
	r = &routeEntry{
		label:     route,
		requests:  m.requests,
		durations: m.requestDurations.WithLabelValues(route),
		codes:     make(map[int]prometheus.Counter),
	}
	m.routes[route] = r
	return r
}

func (r *routeEntry) record(status int, d time.Duration) {
	r.durations.Observe(d.Seconds())
	r.counter(status).Inc()
}

func (r *routeEntry) counter(status int) prometheus.Counter {
	r.mu.RLock()
	c, ok := r.codes[status]
	r.mu.RUnlock()
	if ok {
		return c
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.codes[status]; ok {
		return c
	}
	c = r.requests.WithLabelValues(r.label, strconv.Itoa(status))
	r.codes[status] = c
	return c
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	// 1xx responses are interim; the final status comes later.
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// final returns the status to record: the one written, else 200 when the
// handler returned and 500 when it panicked.
func (w *statusWriter) final(returned bool) int {
	switch {
	case w.status != 0:
		return w.status
	case returned:
		return http.StatusOK
	}
	return http.StatusInternalServerError
}

// Flush passes flushes through, for handlers that stream.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}
