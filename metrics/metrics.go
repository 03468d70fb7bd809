package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookflow/hookflow"
)

// namespace prefixes every metric name.
const namespace = "hookflow"

// other is the label value that unknown or folded label values count under.
const other = "other"

// Metrics records Hookflow's metrics and serves them. Its methods are safe
// for concurrent use; the recording methods are cheap enough for paths
// taken many thousand times a second.
type Metrics struct {
	registry *prometheus.Registry

	attempts         *prometheus.CounterVec
	attemptDurations *prometheus.HistogramVec
	hosts            *hostSeries

	deliveries labelledCounter
	enqueued   labelledCounter
	intake     labelledCounter

	requests         *prometheus.CounterVec
	requestDurations *prometheus.HistogramVec
	routesMu         sync.RWMutex
	routes           map[string]*routeEntry
}

// attemptBuckets suit webhook receivers: a healthy one answers in
// milliseconds, a slow one in seconds, and a stuck one runs into the
// attempt timeout, which can be as long as 90 seconds.
var attemptBuckets = []float64{
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 90,
}

// requestBuckets suit the API, whose requests are writes to the local
// database: sub-millisecond to a few seconds for a large batch.
var requestBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// New returns Metrics reading gauges from src at scrape time. clock tells
// the age of the oldest due delivery; nil means time.Now.
func New(src Sources, clock func() time.Time) *Metrics {
	return newMetrics(src, clock, HostLimit)
}

// newMetrics is New with the host cap as a parameter, for tests.
func newMetrics(src Sources, clock func() time.Time, hostLimit int) *Metrics {
	if clock == nil {
		clock = time.Now
	}
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.initAttempts(hostLimit)
	m.initDeliveries()
	m.initRequests()

	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.attempts, m.attemptDurations,
		m.deliveries.vec, m.enqueued.vec, m.intake.vec,
		m.requests, m.requestDurations,
		newSourceCollector(src, clock, m.hosts),
	)
	return m
}

// Handler serves the metrics in the Prometheus exposition format, for
// mounting at /metrics. A failing source fails the scrape with HTTP 500
// and its error; nothing is logged.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.HTTPErrorOnError,
	})
}

// Finished counts n deliveries that reached state: delivered, failed,
// aborted or cancelled, or pending again after a failed attempt, which is
// counted as retry_scheduled (the name may also be passed as is).
func (m *Metrics) Finished(state string, n int) {
	if state == hookflow.StatePending {
		state = "retry_scheduled"
	}
	m.deliveries.add(state, n)
}

// Enqueued counts n deliveries enqueued from origin (hookflow.Origin*).
func (m *Metrics) Enqueued(origin string, n int) {
	m.enqueued.add(origin, n)
}

// Intake counts n objects of kind accepted by the intake API: attributes,
// events or purchases; errors counts the objects it rejected.
func (m *Metrics) Intake(kind string, n int) {
	m.intake.add(kind, n)
}

func (m *Metrics) initDeliveries() {
	m.deliveries = newLabelledCounter("deliveries_total",
		"Deliveries that finished, or were scheduled for a retry after a failed attempt.",
		"outcome", hookflow.StateDelivered, hookflow.StateFailed, hookflow.StateAborted,
		hookflow.StateCancelled, "retry_scheduled")
	m.enqueued = newLabelledCounter("deliveries_enqueued_total",
		"Deliveries enqueued, by origin.",
		"origin", hookflow.OriginCampaign, hookflow.OriginAPIMessage)
	m.intake = newLabelledCounter("intake_objects_total",
		"Objects accepted by the intake API, by kind; errors counts the rejected ones.",
		"kind", "attributes", "events", "purchases", "errors")
}

// labelledCounter is a counter with one label whose values are known in
// advance. Each value's child is created up front, so every series exists
// (at 0) from the first scrape and rate() over it works from the start;
// values outside the set count under "other", which bounds the series.
type labelledCounter struct {
	vec      *prometheus.CounterVec
	children map[string]prometheus.Counter
}

func newLabelledCounter(name, help, label string, values ...string) labelledCounter {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: name, Help: help,
	}, []string{label})

	// The map is only read after this, so lookups need no lock.
	c := labelledCounter{vec: vec, children: make(map[string]prometheus.Counter, len(values)+1)}
	for _, v := range append(values, other) {
		c.children[v] = vec.WithLabelValues(v)
	}
	return c
}

// add counts n under value; n <= 0 counts nothing.
func (c labelledCounter) add(value string, n int) {
	if n <= 0 {
		return
	}
	child, ok := c.children[value]
	if !ok {
		child = c.children[other]
	}
	child.Add(float64(n))
}
