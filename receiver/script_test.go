package receiver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/receiver"
)

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// statusOf sends a POST to url and returns the status and body of the answer.
func statusOf(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := noRedirects.Post(url, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestSequence(t *testing.T) {
	r := start(t, receiver.Sequence(500, 503, 200), receiver.Options{})
	calls := []struct {
		path string
		want int
	}{
		{"/a", 500},
		{"/a?attempt=2", 503}, // the query does not make a new path
		{"/b", 500},           // each path has its own sequence
		{"/a", 200},
		{"/a", 200}, // the last status repeats
	}
	for i, c := range calls {
		if got, _ := statusOf(t, r.URL()+c.path); got != c.want {
			t.Errorf("call %d to %s: status %d, want %d", i+1, c.path, got, c.want)
		}
	}
}

func TestAlwaysAndEmptySequence(t *testing.T) {
	tests := []struct {
		name   string
		script receiver.Script
		want   int
	}{
		{"always 403", receiver.Always(403), 403},
		{"empty sequence", receiver.Sequence(), 200},
		{"nil script", nil, 200},
		{"zero status", func(*receiver.Request, int) receiver.Response { return receiver.Response{} }, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, tt.script, receiver.Options{})
			for range 2 {
				if got, _ := statusOf(t, r.URL()); got != tt.want {
					t.Errorf("status %d, want %d", got, tt.want)
				}
			}
		})
	}
}

func TestResponseHeadersAndBody(t *testing.T) {
	r := start(t, func(req *receiver.Request, n int) receiver.Response {
		return receiver.Response{
			Status: 429,
			Header: http.Header{"Retry-After": {"7"}},
			Body:   []byte("slow down " + req.Method),
		}
	}, receiver.Options{})

	resp, err := http.Post(r.URL(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || string(body) != "slow down POST" {
		t.Errorf("got %d, Retry-After %q, body %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestRedirect(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		r := start(t, receiver.Redirect(status, "/new"), receiver.Options{})
		resp, err := noRedirects.Get(r.URL() + "/old")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status || resp.Header.Get("Location") != "/new" {
			t.Errorf("got %d to %q, want %d to /new", resp.StatusCode, resp.Header.Get("Location"), status)
		}
		if r.Count() != 1 {
			t.Errorf("%d requests, want 1: the redirect must not be followed", r.Count())
		}
	}
}

func TestDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	r := start(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Status: 202, Delay: delay}
	}, receiver.Options{})

	// Only a lower bound: a noisy machine may make the answer later, never
	// earlier.
	began := time.Now()
	got, _ := statusOf(t, r.URL())
	if took := time.Since(began); took < delay || got != 202 {
		t.Errorf("got %d after %v, want 202 after at least %v", got, took, delay)
	}
}

func TestDelayEndsWhenClientLeaves(t *testing.T) {
	r := start(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Delay: time.Hour}
	}, receiver.Options{})

	ctx, cancel := context.WithCancel(testContext(t))
	req, _ := http.NewRequestWithContext(ctx, "GET", r.URL(), nil)
	done := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		done <- err
	}()

	if err := r.WaitFor(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client error = %v, want context.Canceled", err)
	}
	if err := r.WaitIdle(testContext(t)); err != nil {
		t.Errorf("the delayed handler did not end when its client left: %v", err)
	}
}

func TestTrickleStopsWhenClientLeaves(t *testing.T) {
	r := start(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Trickle: true, Body: []byte("{}")}
	}, receiver.Options{})

	resp, err := http.Get(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1)
	if _, err := io.ReadFull(resp.Body, first); err != nil || first[0] != '{' {
		t.Fatalf("first byte %q, %v; want '{' at once", first, err)
	}
	if resp.ContentLength != -1 {
		t.Errorf("ContentLength = %d, want unknown", resp.ContentLength)
	}
	resp.Body.Close()

	if err := r.WaitIdle(testContext(t)); err != nil {
		t.Errorf("the trickle did not end when its client left: %v", err)
	}
}

func TestCloseEndsTrickle(t *testing.T) {
	r, err := receiver.Start(func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Trickle: true}
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	// Close waits for every handler; a trickle that ignored it would hang
	// here until the test binary's timeout.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("reading the trickle after Close succeeded, want a cut connection")
	}
}

func TestDrop(t *testing.T) {
	r := start(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Drop: true}
	}, receiver.Options{})

	resp, err := http.Post(r.URL(), "text/plain", strings.NewReader("x"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want a connection error", resp.StatusCode)
	}
	if r.Count() != 1 {
		t.Errorf("Count = %d, want 1: the request arrived before the drop", r.Count())
	}
}

func TestStartOnAfterClose(t *testing.T) {
	first, err := receiver.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, url := first.Addr(), first.URL()
	first.Close()

	if _, err := http.Get(url); err == nil {
		t.Fatal("request to a closed receiver succeeded")
	}

	second, err := receiver.StartOn(addr, receiver.Always(201))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got, _ := statusOf(t, url); got != 201 || second.URL() != url {
		t.Errorf("got %d from %s, want 201 from %s", got, second.URL(), url)
	}
}

func TestURLOfUnspecifiedAddress(t *testing.T) {
	r := start(t, nil, receiver.Options{Addr: ":0"})
	_, port, _ := net.SplitHostPort(r.Addr())
	if want := "http://127.0.0.1:" + port; r.URL() != want {
		t.Errorf("URL = %q, want %q", r.URL(), want)
	}
	if got, _ := statusOf(t, r.URL()); got != 200 {
		t.Errorf("status %d through URL, want 200", got)
	}
}
