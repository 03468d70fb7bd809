package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the sink's handlers and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runSink starts Run on a free loopback port and returns its URL and a stop
// function that ends it and returns Run's error.
func runSink(t *testing.T, o Options) (string, func() error) {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	ready := make(chan string, 1)
	o.Ready = func(url string) { ready <- url }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()

	select {
	case url := <-ready:
		stop := sync.OnceValue(func() error {
			cancel()
			return <-done
		})
		t.Cleanup(func() { stop() })
		return url, stop
	case err := <-done:
		cancel()
		t.Fatalf("Run ended before listening: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("Run did not start listening")
	}
	return "", nil
}

// send posts body to url and returns the status.
func send(t *testing.T, url, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Webhook-Id", "msg_1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunPrintsEveryRequest(t *testing.T) {
	var out syncBuffer
	url, stop := runSink(t, Options{Out: &out})

	// The sink prints before it answers, so once the answer is in, so is
	// the print.
	if got := send(t, url+"/hooks/a?x=1", `{"a":1}`); got != 200 {
		t.Errorf("status %d, want 200", got)
	}
	if got := send(t, url+"/hooks/b", "plain"); got != 200 {
		t.Errorf("status %d, want 200", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v after its context ended, want nil", err)
	}

	lines := strings.Split(out.String(), "\n")
	banner := "sink listening on " + url + " — every request is printed here"
	if lines[0] != banner {
		t.Errorf("first line %q, want %q", lines[0], banner)
	}
	wants := []string{
		" POST /hooks/a?x=1  from 127.0.0.1:",
		"Webhook-Id: msg_1\n",
		"Content-Type: application/json\n",
		"\n{\n  \"a\": 1\n}\n\n",
		" POST /hooks/b  from ",
		"\nplain\n\n",
	}
	for _, want := range wants {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunJSON(t *testing.T) {
	var out, stderr syncBuffer
	url, stop := runSink(t, Options{Out: &out, Stderr: &stderr, JSON: true, Status: 503})

	if got := send(t, url+"/x", `{"a":1}`); got != 503 {
		t.Errorf("status %d, want 503", got)
	}
	stop()

	var line struct {
		Method  string
		Path    string
		Body    string
		BodyLen int64 `json:"body_len"`
		Headers http.Header
	}
	if err := json.Unmarshal([]byte(out.String()), &line); err != nil {
		t.Fatalf("Out is not one JSON line: %v\n%s", err, out.String())
	}
	if line.Method != "POST" || line.Path != "/x" || line.Body != `{"a":1}` ||
		line.BodyLen != 7 || line.Headers.Get("Webhook-Id") != "msg_1" {
		t.Errorf("got %+v", line)
	}
	wantBanner := "sink listening on " + url +
		" — every request is printed here (answering 503 Service Unavailable)\n"
	if stderr.String() != wantBanner {
		t.Errorf("Stderr = %q, want %q", stderr.String(), wantBanner)
	}
}

func TestRunRefuses(t *testing.T) {
	busy, stop := runSink(t, Options{Out: io.Discard})
	defer stop()

	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"status too low", Options{Status: 101}, "status 101"},
		{"status too high", Options{Status: 600}, "status 600"},
		{"address in use", Options{Addr: strings.TrimPrefix(busy, "http://")}, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Out = io.Discard
			err := Run(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
