package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// scrape fetches /metrics from a loopback server, as Prometheus would.
func scrape(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("scraping: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading scrape: %v", err)
	}
	return resp.StatusCode, string(body)
}

// samples scrapes m and returns the sample lines of the metric name, in
// the order served (sorted by labels).
func samples(t *testing.T, m *Metrics, name string) []string {
	t.Helper()
	code, body := scrape(t, m)
	if code != http.StatusOK {
		t.Fatalf("scrape status %d: %s", code, body)
	}
	var lines []string
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			lines = append(lines, strings.TrimSuffix(line, "\n"))
		}
	}
	return lines
}

func assertSamples(t *testing.T, m *Metrics, name string, want ...string) {
	t.Helper()
	if got := samples(t, m, name); !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", name, got, want)
	}
}

func TestClassOf(t *testing.T) {
	tests := []struct {
		status int
		kind   string
		want   string
	}{
		{200, "", "2xx"},
		{204, "", "2xx"},
		{101, "", "1xx"},
		{301, "redirect", "3xx"},
		{404, "status", "4xx"},
		{503, "status", "5xx"},
		{0, "timeout", "timeout"},
		{0, "connect", "connect"},
		{0, "dns", "dns"},
		{0, "tls", "tls"},
		{0, "reset", "reset"},
		{0, "canceled", "canceled"},
		{0, "protocol", "protocol"},
		{0, "refused", "refused"},
		{0, "request", "request"},
		{200, "timeout", "timeout"}, // E1: the body trickled past the deadline
		{200, "reset", "reset"},
		{503, "martian", "5xx"},
		{0, "", "other"},
		{0, "martian", "other"},
		{999, "", "other"},
	}
	for _, tt := range tests {
		if got := classes[classOf(tt.status, tt.kind)]; got != tt.want {
			t.Errorf("classOf(%d, %q) = %s, want %s", tt.status, tt.kind, got, tt.want)
		}
	}
}

func TestAttempt(t *testing.T) {
	m := New(Sources{}, nil)
	m.Attempt("a.example", 200, "", 3*time.Millisecond)
	m.Attempt("a.example", 200, "", 40*time.Millisecond)
	m.Attempt("a.example", 0, "timeout", 30*time.Second)
	m.Attempt("b.example", 503, "status", 2*time.Second)

	assertSamples(t, m, "hookflow_attempts_total",
		`hookflow_attempts_total{class="2xx",host="a.example"} 2`,
		`hookflow_attempts_total{class="5xx",host="b.example"} 1`,
		`hookflow_attempts_total{class="timeout",host="a.example"} 1`,
	)
	assertSamples(t, m, "hookflow_attempt_duration_seconds_count",
		`hookflow_attempt_duration_seconds_count{host="a.example"} 3`,
		`hookflow_attempt_duration_seconds_count{host="b.example"} 1`,
	)
	assertSamples(t, m, "hookflow_attempt_duration_seconds_sum",
		`hookflow_attempt_duration_seconds_sum{host="a.example"} 30.043`,
		`hookflow_attempt_duration_seconds_sum{host="b.example"} 2`,
	)

	// The buckets run from 5ms to 90s; the 30s attempt is in le=30.
	buckets := samples(t, m, "hookflow_attempt_duration_seconds_bucket")
	for _, want := range []string{
		`hookflow_attempt_duration_seconds_bucket{host="a.example",le="0.005"} 1`,
		`hookflow_attempt_duration_seconds_bucket{host="a.example",le="0.05"} 2`,
		`hookflow_attempt_duration_seconds_bucket{host="a.example",le="20"} 2`,
		`hookflow_attempt_duration_seconds_bucket{host="a.example",le="30"} 3`,
		`hookflow_attempt_duration_seconds_bucket{host="a.example",le="90"} 3`,
		`hookflow_attempt_duration_seconds_bucket{host="b.example",le="1"} 0`,
		`hookflow_attempt_duration_seconds_bucket{host="b.example",le="2.5"} 1`,
	} {
		if !slices.Contains(buckets, want) {
			t.Errorf("missing %s in %q", want, buckets)
		}
	}
}

func TestAttemptAllocatesNothing(t *testing.T) {
	m := New(Sources{}, nil)
	m.Attempt("a.example", 200, "", time.Millisecond)
	allocs := testing.AllocsPerRun(100, func() {
		m.Attempt("a.example", 200, "", time.Millisecond)
	})
	if allocs != 0 {
		t.Errorf("Attempt allocates %v times per call, want 0", allocs)
	}
}

func TestHostLimitFoldsIntoOther(t *testing.T) {
	m := newMetrics(Sources{
		Hosts: func() []HostState {
			return []HostState{
				{Host: "a.example", State: "closed", Failures: 1, InFlight: 2, RateLimit: 600},
				{Host: "c.example", State: "paused", Failures: 5, RateLimit: 100},
				{Host: "d.example", State: "probing", Failures: 3, InFlight: 1, RateLimit: 50},
				{Host: "e.example", State: "paused", Failures: 4},
			}
		},
	}, nil, 2)
	for _, host := range []string{"a.example", "b.example", "c.example", "d.example", "a.example"} {
		m.Attempt(host, 500, "status", time.Millisecond)
	}

	assertSamples(t, m, "hookflow_attempts_total",
		`hookflow_attempts_total{class="5xx",host="a.example"} 2`,
		`hookflow_attempts_total{class="5xx",host="b.example"} 1`,
		`hookflow_attempts_total{class="5xx",host="other"} 2`,
	)
	assertSamples(t, m, "hookflow_host_breaker_state",
		`hookflow_host_breaker_state{host="a.example",state="closed"} 1`,
		`hookflow_host_breaker_state{host="a.example",state="paused"} 0`,
		`hookflow_host_breaker_state{host="a.example",state="probing"} 0`,
		`hookflow_host_breaker_state{host="other",state="closed"} 0`,
		`hookflow_host_breaker_state{host="other",state="paused"} 2`,
		`hookflow_host_breaker_state{host="other",state="probing"} 1`,
	)
	assertSamples(t, m, "hookflow_host_failures_in_window",
		`hookflow_host_failures_in_window{host="a.example"} 1`,
		`hookflow_host_failures_in_window{host="other"} 12`,
	)
	assertSamples(t, m, "hookflow_host_in_flight",
		`hookflow_host_in_flight{host="a.example"} 2`,
		`hookflow_host_in_flight{host="other"} 1`,
	)
	assertSamples(t, m, "hookflow_host_rate_limit",
		`hookflow_host_rate_limit{host="a.example"} 600`,
		`hookflow_host_rate_limit{host="other"} 100`,
	)
}

func TestHostLimitDefault(t *testing.T) {
	m := New(Sources{}, nil)
	for i := range HostLimit + 10 {
		m.Attempt(fmt.Sprintf("h%d.example", i), 200, "", time.Millisecond)
	}

	got := samples(t, m, "hookflow_attempts_total")
	if len(got) != HostLimit+1 {
		t.Fatalf("%d attempt series, want %d", len(got), HostLimit+1)
	}
	want := `hookflow_attempts_total{class="2xx",host="other"} 10`
	if !slices.Contains(got, want) {
		t.Errorf("missing %s", want)
	}
}

func TestAttemptConcurrent(t *testing.T) {
	m := newMetrics(Sources{}, nil, 5)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				m.Attempt(fmt.Sprintf("h%d.example", (g+i)%10), 200, "", time.Millisecond)
			}
		})
	}
	wg.Wait()

	var total float64
	lines := samples(t, m, "hookflow_attempts_total")
	for _, line := range lines {
		var n float64
		fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%g", &n)
		total += n
	}
	if total != 8*500 || len(lines) != 6 {
		t.Errorf("%v attempts in %d series, want 4000 in 6: %q", total, len(lines), lines)
	}
}

func TestFinishedEnqueuedIntake(t *testing.T) {
	m := New(Sources{}, nil)

	// Every known series is served at 0 before anything happens.
	assertSamples(t, m, "hookflow_deliveries_enqueued_total",
		`hookflow_deliveries_enqueued_total{origin="api_message"} 0`,
		`hookflow_deliveries_enqueued_total{origin="campaign"} 0`,
		`hookflow_deliveries_enqueued_total{origin="other"} 0`,
	)

	m.Finished("delivered", 3)
	m.Finished("pending", 2)
	m.Finished("retry_scheduled", 1)
	m.Finished("failed", 1)
	m.Finished("cancelled", 4)
	m.Finished("sending", 1)
	m.Finished("aborted", 0)
	m.Finished("aborted", -1)
	m.Enqueued("campaign", 1000)
	m.Enqueued("api_message", 2)
	m.Intake("attributes", 75)
	m.Intake("events", 3)
	m.Intake("errors", 1)
	m.Intake("bogus", 1)

	assertSamples(t, m, "hookflow_deliveries_total",
		`hookflow_deliveries_total{outcome="aborted"} 0`,
		`hookflow_deliveries_total{outcome="cancelled"} 4`,
		`hookflow_deliveries_total{outcome="delivered"} 3`,
		`hookflow_deliveries_total{outcome="failed"} 1`,
		`hookflow_deliveries_total{outcome="other"} 1`,
		`hookflow_deliveries_total{outcome="retry_scheduled"} 3`,
	)
	assertSamples(t, m, "hookflow_deliveries_enqueued_total",
		`hookflow_deliveries_enqueued_total{origin="api_message"} 2`,
		`hookflow_deliveries_enqueued_total{origin="campaign"} 1000`,
		`hookflow_deliveries_enqueued_total{origin="other"} 0`,
	)
	assertSamples(t, m, "hookflow_intake_objects_total",
		`hookflow_intake_objects_total{kind="attributes"} 75`,
		`hookflow_intake_objects_total{kind="errors"} 1`,
		`hookflow_intake_objects_total{kind="events"} 3`,
		`hookflow_intake_objects_total{kind="other"} 1`,
		`hookflow_intake_objects_total{kind="purchases"} 0`,
	)
}

func TestQueueGauges(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tests := []struct {
		name      string
		oldestDue time.Time
		wantAge   string
	}{
		{"waiting", now.Add(-90*time.Second - 500*time.Millisecond), "90.5"},
		{"none due", time.Time{}, "0"},
		// A clock behind the database's must not report a negative age.
		{"due in the future", now.Add(time.Second), "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(Sources{Queue: func(context.Context) (QueueStats, error) {
				return QueueStats{Due: 12, Scheduled: 340, Sending: 7, OldestDue: tt.oldestDue}, nil
			}}, clock)

			assertSamples(t, m, "hookflow_queue_due", "hookflow_queue_due 12")
			assertSamples(t, m, "hookflow_queue_scheduled", "hookflow_queue_scheduled 340")
			assertSamples(t, m, "hookflow_queue_sending", "hookflow_queue_sending 7")
			assertSamples(t, m, "hookflow_queue_oldest_due_age_seconds",
				"hookflow_queue_oldest_due_age_seconds "+tt.wantAge)
		})
	}
}

func TestQueueReadAtEachScrape(t *testing.T) {
	var due int64
	m := New(Sources{Queue: func(context.Context) (QueueStats, error) {
		due++
		return QueueStats{Due: due}, nil
	}}, nil)

	assertSamples(t, m, "hookflow_queue_due", "hookflow_queue_due 1")
	assertSamples(t, m, "hookflow_queue_due", "hookflow_queue_due 2")
}

func TestQueueErrorFailsScrape(t *testing.T) {
	m := New(Sources{Queue: func(ctx context.Context) (QueueStats, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("queue source called without a deadline")
		}
		return QueueStats{Due: 5}, errors.New("database is locked")
	}}, nil)

	code, body := scrape(t, m)
	if code != http.StatusInternalServerError {
		t.Errorf("scrape status %d, want 500", code)
	}
	if !strings.Contains(body, "reading queue stats: database is locked") {
		t.Errorf("scrape body lacks the error: %s", body)
	}
	if strings.Contains(body, "hookflow_queue_due 5") {
		t.Errorf("scrape served numbers from a failed read: %s", body)
	}
}

func TestNilSourcesLeaveGaugesOut(t *testing.T) {
	m := New(Sources{}, nil)
	code, body := scrape(t, m)
	if code != http.StatusOK {
		t.Fatalf("scrape status %d: %s", code, body)
	}
	for _, name := range []string{"hookflow_queue_due ", "hookflow_host_in_flight"} {
		if strings.Contains(body, name) {
			t.Errorf("scrape has %s without a source", name)
		}
	}
}

func TestRuntimeCollectors(t *testing.T) {
	m := New(Sources{}, nil)
	if got := samples(t, m, "go_goroutines"); len(got) != 1 {
		t.Errorf("go_goroutines: %q", got)
	}
	if got := samples(t, m, "process_start_time_seconds"); len(got) != 1 {
		t.Errorf("process_start_time_seconds: %q", got)
	}
}

func TestInstancesDoNotCollide(t *testing.T) {
	a, b := New(Sources{}, nil), New(Sources{}, nil)
	a.Enqueued("campaign", 1)
	assertSamples(t, b, "hookflow_deliveries_enqueued_total",
		`hookflow_deliveries_enqueued_total{origin="api_message"} 0`,
		`hookflow_deliveries_enqueued_total{origin="campaign"} 0`,
		`hookflow_deliveries_enqueued_total{origin="other"} 0`,
	)
}
