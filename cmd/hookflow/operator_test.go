package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/receiver"
)

// The operator's view of a running `hookflow serve`: /healthz, /readyz,
// the metrics issue 3 names at /metrics with their values after known
// traffic, and the JSON log with its stable keys. The text log format is
// checked on a second process.

// scrapeMetrics fetches /metrics and returns each sample by its name and
// labels as served, e.g. `hookflow_queue_due` or
// `hookflow_deliveries_total{outcome="delivered"}`.
func scrapeMetrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// getStatus returns the status and body of a GET without a key.
func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestOperatorViewMetricsHealthAndLogs(t *testing.T) {
	needBinary(t)
	t.Parallel()
	healthy := startReceiver(t, receiver.Always(http.StatusOK))
	// The failing host states a rate limit, which the metrics show.
	failing := startReceiver(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Status: http.StatusServiceUnavailable, Header: http.Header{"X-Ratelimit-Limit": {"600"}}}
	})
	healthyHost := strings.TrimPrefix(healthy.URL(), "http://")
	failingHost := strings.TrimPrefix(failing.URL(), "http://")

	// The key is made first, so serve does not print its plain-text
	// "No API key yet" hint among the JSON lines.
	dir := t.TempDir()
	key := createKey(t, dir)
	p := startServeArgs(t, append([]string{"--data-dir", dir, "--unhealthy-after", "2"}, serveFlags...)...)
	c := &client{t: t, base: p.base, key: key}

	for path, want := range map[string]string{"/healthz": `{"status":"ok"}`, "/readyz": `{"status":"ready"}`} {
		if status, body := getStatus(t, p.base+path); status != http.StatusOK || body != want {
			t.Errorf("GET %s: %d %s; want 200 %s", path, status, body, want)
		}
	}

	// Intake: four profiles, one event, one event refused (no name).
	c.call("POST", "/users/track", map[string]any{
		"attributes": []any{
			map[string]any{"external_id": "h1"}, map[string]any{"external_id": "f1"},
			map[string]any{"external_id": "f2"}, map[string]any{"external_id": "f3"},
		},
		"events": []any{
			map[string]any{"external_id": "h1", "name": "seen", "time": "2026-12-03T10:00:00Z"},
			map[string]any{"external_id": "h1", "time": "2026-12-03T10:00:00Z"},
		},
	}, nil)

	// One delivery to a healthy host; three to a host answering 503, one
	// more than --unhealthy-after 2: that host is paused.
	campaign := func(name, url string) string {
		var out struct{ ID string }
		c.call("POST", "/v1/campaigns", map[string]any{
			"name": name, "delivery_type": "api_triggered", "reeligibility_seconds": 0,
			"webhook": map[string]any{"method": "POST", "url": url + "/hook", "body_type": "raw", "body_raw": "{}"},
		}, &out)
		return out.ID
	}
	trigger := func(id string, users ...string) {
		var rs []any
		for _, u := range users {
			rs = append(rs, map[string]any{"external_user_id": u})
		}
		c.call("POST", "/campaigns/trigger/send", map[string]any{"campaign_id": id, "recipients": rs}, nil)
	}
	healthyID, failingID := campaign("healthy", healthy.URL()), campaign("failing", failing.URL())
	trigger(healthyID, "h1")
	trigger(failingID, "f1", "f2", "f3")
	waitFor(t, 10*time.Second, "every delivery made its first attempt", func() (bool, error) {
		ok, err := c.deliveries(healthyID, "delivered")
		if err != nil || len(ok) != 1 {
			return false, err
		}
		ds, err := c.deliveries(failingID, "pending")
		n := 0
		for _, d := range ds {
			if d.Attempts == 1 && d.LastStatus == http.StatusServiceUnavailable {
				n++
			}
		}
		return n == 3, err
	})

	m := scrapeMetrics(t, p.base)
	want := map[string]float64{
		`hookflow_deliveries_total{outcome="delivered"}`:                               1,
		`hookflow_deliveries_total{outcome="retry_scheduled"}`:                         3,
		`hookflow_deliveries_total{outcome="failed"}`:                                  0,
		`hookflow_deliveries_enqueued_total{origin="campaign"}`:                        4,
		`hookflow_attempts_total{class="2xx",host="` + healthyHost + `"}`:              1,
		`hookflow_attempts_total{class="5xx",host="` + failingHost + `"}`:              3,
		`hookflow_attempt_duration_seconds_count{host="` + healthyHost + `"}`:          1,
		`hookflow_attempt_duration_seconds_count{host="` + failingHost + `"}`:          3,
		`hookflow_attempt_duration_seconds_bucket{host="` + healthyHost + `",le="90"}`: 1,
		`hookflow_queue_due`:                    0,
		`hookflow_queue_scheduled`:              3,
		`hookflow_queue_sending`:                0,
		`hookflow_queue_oldest_due_age_seconds`: 0,
		`hookflow_host_breaker_state{host="` + failingHost + `",state="paused"}`: 1,
		`hookflow_host_breaker_state{host="` + failingHost + `",state="closed"}`: 0,
		`hookflow_host_breaker_state{host="` + healthyHost + `",state="closed"}`: 1,
		`hookflow_host_failures_in_window{host="` + failingHost + `"}`:           3,
		`hookflow_host_failures_in_window{host="` + healthyHost + `"}`:           0,
		`hookflow_host_in_flight{host="` + failingHost + `"}`:                    0,
		`hookflow_host_rate_limit{host="` + failingHost + `"}`:                   600,
		`hookflow_host_rate_limit{host="` + healthyHost + `"}`:                   0,
		`hookflow_intake_objects_total{kind="attributes"}`:                       4,
		`hookflow_intake_objects_total{kind="events"}`:                           1,
		`hookflow_intake_objects_total{kind="errors"}`:                           1,
	}
	for name, v := range want {
		got, ok := m[name]
		if !ok || got != v {
			t.Errorf("metric %s = %v (present %v), want %v", name, got, ok, v)
		}
	}
	if m[`hookflow_http_requests_total{code="201",route="POST /users/track"}`] != 1 {
		t.Errorf("hookflow_http_requests_total of POST /users/track 201 = %v, want 1",
			m[`hookflow_http_requests_total{code="201",route="POST /users/track"}`])
	}

	// The log is copied from the process's stderr as it comes: wait for
	// the lines checked below, and read only whole lines.
	waitFor(t, 5*time.Second, "the log shows the retry and the pause", func() (bool, error) {
		log := p.log.String()
		return strings.Contains(log, `"msg":"attempt failed, retry scheduled"`) &&
			strings.Contains(log, `"msg":"host unhealthy, paused"`), nil
	})
	log := p.log.String()
	checkJSONLog(t, log[:strings.LastIndex(log, "\n")+1], failingHost)
}

// checkJSONLog checks that every line of a JSON log is an object with time,
// level and msg, and that the attempts and the breaker's trip carry the
// stable keys of the README.
func checkJSONLog(t *testing.T, log, failingHost string) {
	t.Helper()
	var retried, paused bool
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line without %q: %q", k, line)
			}
		}
		switch rec["msg"] {
		case "attempt failed, retry scheduled":
			for _, k := range []string{"delivery_id", "campaign_id", "host", "attempt", "status", "err"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("retry log line without %q: %q", k, line)
				}
			}
			retried = retried || rec["host"] == failingHost && rec["status"] == float64(503)
		case "host unhealthy, paused":
			paused = rec["level"] == "WARN" && rec["host"] == failingHost
		}
	}
	if !retried || !paused {
		t.Errorf("log has a retry of a 503 from %s: %v, a WARN pausing it: %v; want both", failingHost, retried, paused)
	}
}

// --log-format text writes slog's text lines, not JSON.
func TestServeTextLog(t *testing.T) {
	needBinary(t)
	t.Parallel()
	cmd := exec.Command(binary, "serve", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--log-format", "text")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	started := regexp.MustCompile(`^time=\S+ level=INFO msg="hookflow started" version=\S+ listen=(http://127\.0\.0\.1:\d+) store=`)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("hookflow serve ended without logging its start")
			}
			if strings.HasPrefix(line, "{") {
				t.Fatalf("a JSON line with --log-format text: %q", line)
			}
			if m := started.FindStringSubmatch(line); m != nil {
				if status, _ := getStatus(t, m[1]+"/healthz"); status != http.StatusOK {
					t.Errorf("GET /healthz: %d", status)
				}
				go func() {
					for range lines {
					}
				}()
				return
			}
		case <-timeout:
			t.Fatal(fmt.Sprintf("no %q line within 20s", "hookflow started"))
		}
	}
}

// TestServePprofListener checks that --pprof-listen serves Go's profiles
// on a listener of its own, and that the API's listener does not.
func TestServePprofListener(t *testing.T) {
	needBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := startServeArgs(t, append([]string{"--data-dir", t.TempDir(), "--pprof-listen", addr}, serveFlags...)...)

	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatalf("pprof listener: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "serve") {
		t.Errorf("GET /debug/pprof/cmdline = %d %q, want 200 naming the serve command", resp.StatusCode, body)
	}

	resp, err = http.Get(p.base + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Errorf("the API listener serves /debug/pprof/cmdline (200); profiles belong on --pprof-listen only")
	}
}
