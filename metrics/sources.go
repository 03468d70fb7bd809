package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sources are read when /metrics is scraped, so the gauges are never stale
// and nothing polls in the background. A nil field leaves its gauges out.
type Sources struct {
	// Queue returns the queue's counts and the due time of its oldest due
	// delivery. It is given QueueTimeout.
	Queue func(ctx context.Context) (QueueStats, error)
	// Hosts returns the breaker state of each host the sender knows.
	Hosts func() []HostState
}

// QueueTimeout bounds one read of Sources.Queue during a scrape.
const QueueTimeout = 5 * time.Second

// QueueStats is the queue at one moment.
type QueueStats struct {
	// Due counts pending deliveries whose due time has come.
	Due int64
	// Scheduled counts pending deliveries due in the future: delayed sends
	// and retries waiting out their backoff.
	Scheduled int64
	// Sending counts deliveries claimed by a sender.
	Sending int64
	// OldestDue is the due time of the oldest due delivery; zero if none.
	OldestDue time.Time
}

// HostState is one receiver host's breaker as the sender sees it.
type HostState struct {
	Host string
	// State is closed, paused or probing, as hostgate reports it.
	State string
	// Failures counts the failures in the breaker's window.
	Failures int
	// InFlight counts attempts to the host in progress.
	InFlight int
	// RateLimit is the last X-RateLimit-Limit the host sent; 0 if none.
	RateLimit int
}

// breakerStates are the values of the state label; each host gets a
// series for each, 1 for its current state and 0 for the others, so that
// a query for open hosts needs no absent().
var breakerStates = []string{"closed", "paused", "probing"}

// sourceCollector turns Sources into gauges at scrape time.
type sourceCollector struct {
	src   Sources
	clock func() time.Time
	hosts *hostSeries

	due, scheduled, sending, oldestAge     *prometheus.Desc
	breaker, failures, inFlight, rateLimit *prometheus.Desc
}

func newSourceCollector(src Sources, clock func() time.Time, hosts *hostSeries) *sourceCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	}
	return &sourceCollector{
		src: src, clock: clock, hosts: hosts,
		due:       desc("queue_due", "Pending deliveries whose due time has come."),
		scheduled: desc("queue_scheduled", "Pending deliveries due in the future (delayed sends and retries)."),
		sending:   desc("queue_sending", "Deliveries claimed by a sender."),
		oldestAge: desc("queue_oldest_due_age_seconds",
			"How long the oldest due delivery has waited past its due time; 0 when none is due."),
		breaker:  desc("host_breaker_state", "1 for the host's breaker state, 0 for the others.", "host", "state"),
		failures: desc("host_failures_in_window", "Failures in the host breaker's window.", "host"),
		inFlight: desc("host_in_flight", "Attempts to the host in progress.", "host"),
		rateLimit: desc("host_rate_limit",
			"The last X-RateLimit-Limit the host sent (the largest among folded hosts); 0 if none.", "host"),
	}
}

// Describe implements prometheus.Collector.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.due, c.scheduled, c.sending, c.oldestAge, c.breaker, c.failures, c.inFlight, c.rateLimit,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Queue != nil {
		c.collectQueue(ch)
	}
	if c.src.Hosts != nil {
		c.collectHosts(ch)
	}
}

// collectQueue reports a failing source as an invalid metric, which fails
// the scrape: an operator then sees the failure instead of old numbers.
func (c *sourceCollector) collectQueue(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), QueueTimeout)
	defer cancel()
	q, err := c.src.Queue(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.due, fmt.Errorf("reading queue stats: %w", err))
		return
	}

	var age float64
	if !q.OldestDue.IsZero() {
		age = max(c.clock().Sub(q.OldestDue).Seconds(), 0)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(c.due, float64(q.Due))
	gauge(c.scheduled, float64(q.Scheduled))
	gauge(c.sending, float64(q.Sending))
	gauge(c.oldestAge, age)
}

// hostTotals is one host label value's gauges; for "other" they are sums
// over the folded hosts, but for the rate limit, which is their largest.
type hostTotals struct {
	states                        map[string]int
	failures, inFlight, rateLimit int
}

func (c *sourceCollector) collectHosts(ch chan<- prometheus.Metric) {
	// Summing by label value keeps folded hosts (and any duplicate the
	// source returns) from producing the same series twice, which would
	// fail the scrape.
	totals := make(map[string]*hostTotals)
	for _, h := range c.src.Hosts() {
		label := c.hosts.label(h.Host)
		t := totals[label]
		if t == nil {
			t = &hostTotals{states: make(map[string]int, len(breakerStates))}
			totals[label] = t
		}
		t.states[h.State]++
		t.failures += h.Failures
		t.inFlight += h.InFlight
		t.rateLimit = max(t.rateLimit, h.RateLimit)
	}

	for label, t := range totals {
		c.emitHost(ch, label, t)
	}
}

func (c *sourceCollector) emitHost(ch chan<- prometheus.Metric, label string, t *hostTotals) {
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for _, s := range breakerStates {
		gauge(c.breaker, t.states[s], label, s)
		delete(t.states, s)
	}
	// A state this package does not know still shows, rather than
	// vanishing; the breaker owns the list of states.
	for s, n := range t.states {
		gauge(c.breaker, n, label, s)
	}
	gauge(c.failures, t.failures, label)
	gauge(c.inFlight, t.inFlight, label)
	gauge(c.rateLimit, t.rateLimit, label)
}
