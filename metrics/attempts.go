package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// HostLimit is how many distinct receiver hosts get a label value of their
// own. Later hosts are counted under host="other", so that templated URLs
// cannot grow the number of series without bound.
const HostLimit = 1000

// classes are the values of the class label of hookflow_attempts_total:
// the status class when a response arrived, else the attempt's error kind
// (the deliver package's Kind constants), else other.
var classes = [...]string{
	"1xx", "2xx", "3xx", "4xx", "5xx",
	"timeout", "connect", "dns", "tls", "reset", "canceled", "protocol", "refused", "request",
	other,
}

// firstKind is the index in classes of the first error kind.
const firstKind = 5

// classOf returns the index in classes of an attempt's result. An error
// kind of the list wins over the status: a 200 whose body trickled past
// the deadline is a timeout (and is retried), not a success. The kinds
// that explain a status (redirect, status) are not in the list, so those
// attempts count by their status class.
func classOf(status int, errorKind string) int {
	for i := firstKind; i < len(classes)-1; i++ {
		if classes[i] == errorKind {
			return i
		}
	}
	if status >= 100 && status <= 599 {
		return status/100 - 1
	}
	return len(classes) - 1
}

// Attempt records one HTTP attempt to host: its result class, from
// errorKind when the exchange failed (even after a status arrived) or else
// status (0 when no response arrived), and how long it took.
func (m *Metrics) Attempt(host string, status int, errorKind string, d time.Duration) {
	e := m.hosts.entry(host)
	e.duration.Observe(d.Seconds())
	e.counter(classOf(status, errorKind)).Inc()
}

func (m *Metrics) initAttempts(hostLimit int) {
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Name:      "attempts_total",
		Help:      "HTTP attempts by receiver host and result class (status class or error kind).",
	}, []string{"host", "class"})
	m.attemptDurations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace,
		Name:      "attempt_duration_seconds",
		Help:      "Duration of HTTP attempts by receiver host.",
		Buckets:   attemptBuckets,
	}, []string{"host"})
	m.hosts = &hostSeries{limit: hostLimit, attempts: m.attempts, durations: m.attemptDurations}
}

// hostSeries hands out the series of each host, admitting at most limit
// hosts under their own name. Looking up an admitted host takes a read
// lock and allocates nothing, which matters at thousands of attempts a
// second; only the first sight of a host takes the write lock.
type hostSeries struct {
	limit     int
	attempts  *prometheus.CounterVec
	durations *prometheus.HistogramVec

	mu     sync.RWMutex // guards writes to byHost; readers take RLock
	byHost map[string]*hostEntry
	other  atomic.Pointer[hostEntry]
}

// hostEntry holds one host label value's series. Counters are created on
// first use, so a host that only ever answers 2xx has one class series,
// not fifteen.
type hostEntry struct {
	label    string
	attempts *prometheus.CounterVec
	duration prometheus.Observer
	classes  [len(classes)]atomic.Pointer[counterRef]
}

// counterRef boxes a Counter so that it can sit in an atomic.Pointer.
type counterRef struct{ prometheus.Counter }

// entry returns the series of host, or of "other" once limit hosts have
// been admitted.
func (s *hostSeries) entry(host string) *hostEntry {
	s.mu.RLock()
	e, ok := s.byHost[host]
	full := len(s.byHost) >= s.limit
	s.mu.RUnlock()
	switch {
	case ok:
		return e
	case full:
		return s.otherEntry()
	}
	return s.admit(host)
}

// label returns the label value host is counted under, admitting it if
// there is room.
func (s *hostSeries) label(host string) string {
	return s.entry(host).label
}

func (s *hostSeries) admit(host string) *hostEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byHost[host]; ok {
		return e
	}
	if len(s.byHost) >= s.limit {
		return s.otherEntry()
	}
	if s.byHost == nil {
		s.byHost = make(map[string]*hostEntry)
	}
	e := s.newEntry(host)
	s.byHost[host] = e
	return e
}

// otherEntry returns the series of the folded hosts, created on the first
// fold so that an instance with few hosts shows no "other".
func (s *hostSeries) otherEntry() *hostEntry {
	if e := s.other.Load(); e != nil {
		return e
	}
	s.other.CompareAndSwap(nil, s.newEntry(other))
	return s.other.Load()
}

func (s *hostSeries) newEntry(label string) *hostEntry {
	return &hostEntry{
		label:    label,
		attempts: s.attempts,
		duration: s.durations.WithLabelValues(label),
	}
}

// counter returns the attempts counter of class index c.
func (e *hostEntry) counter(c int) prometheus.Counter {
	if ref := e.classes[c].Load(); ref != nil {
		return ref.Counter
	}
	// Racing callers get the same child from the vec, so losing the swap
	// loses nothing.
	ref := &counterRef{e.attempts.WithLabelValues(e.label, classes[c])}
	e.classes[c].CompareAndSwap(nil, ref)
	return e.classes[c].Load().Counter
}
