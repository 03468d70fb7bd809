package receiver_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/receiver"
)

// start starts a receiver that the test closes when it ends.
func start(t *testing.T, script receiver.Script, o receiver.Options) *receiver.Receiver {
	t.Helper()
	r, err := receiver.StartWith(script, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// testContext is a context that ends well before the test binary's timeout,
// so a wait that never ends fails the test with a message instead of a hang.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// sendRaw writes raw to the receiver over TCP and returns the response status.
func sendRaw(t *testing.T, addr, raw string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRecordsRequestExactly(t *testing.T) {
	r := start(t, nil, receiver.Options{})
	body := "{\"note\":\"a&b<c>\",  \"k\":1}\x00\xff\r\n"
	raw := "POST /hooks/a%2Fb/%7Euser?x=1&y=%20+z&x=2 HTTP/1.1\r\n" +
		"Host: crm.example:8080\r\n" +
		"content-type: application/json; charset=utf-8\r\n" +
		"X-Multi: one\r\n" +
		"X-Multi:  two \r\n" +
		"Webhook-Id: msg_1\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n", len(body)) +
		"\r\n" + body

	before := time.Now()
	if got := sendRaw(t, r.Addr(), raw); got != http.StatusOK {
		t.Fatalf("status = %d, want 200", got)
	}

	reqs := r.Requests()
	if len(reqs) != 1 {
		t.Fatalf("recorded %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	want := http.Header{
		"Host":           {"crm.example:8080"},
		"Content-Type":   {"application/json; charset=utf-8"},
		"X-Multi":        {"one", "two"},
		"Webhook-Id":     {"msg_1"},
		"Content-Length": {fmt.Sprint(len(body))},
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"method", got.Method, "POST"},
		{"raw path", got.RawPath, "/hooks/a%2Fb/%7Euser?x=1&y=%20+z&x=2"},
		{"path", got.Path(), "/hooks/a%2Fb/%7Euser"},
		{"body", string(got.Body), body},
		{"body length", got.BodyLen, int64(len(body))},
		{"truncated", got.Truncated(), false},
		{"incomplete", got.Incomplete, false},
		{"header", fmt.Sprint(got.Header), fmt.Sprint(want)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if got.At.Before(before) || got.At.After(time.Now()) {
		t.Errorf("At = %v, not during the request", got.At)
	}
	if !strings.HasPrefix(got.RemoteAddr, "127.0.0.1:") {
		t.Errorf("RemoteAddr = %q, want a loopback address", got.RemoteAddr)
	}
}

func TestBodyCap(t *testing.T) {
	long := strings.Repeat("0123456789", 10)
	tests := []struct {
		name    string
		max     int64
		chunked bool
		body    string
		want    string
	}{
		{"under cap", 200, false, long, long},
		{"at cap", 100, false, long, long},
		{"over cap", 10, false, long, long[:10]},
		{"chunked under cap", 200, true, long, long},
		{"chunked over cap", 10, true, long, long[:10]},
		{"no cap", -1, true, long, long},
		{"empty", 10, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, nil, receiver.Options{MaxBody: tt.max})
			raw := "POST / HTTP/1.1\r\nHost: x\r\n"
			if tt.chunked {
				raw += "Transfer-Encoding: chunked\r\n\r\n" +
					fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(tt.body), tt.body)
			} else {
				raw += fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(tt.body), tt.body)
			}
			sendRaw(t, r.Addr(), raw)

			got := r.Requests()[0]
			if string(got.Body) != tt.want {
				t.Errorf("Body = %q, want %q", got.Body, tt.want)
			}
			if got.BodyLen != int64(len(tt.body)) {
				t.Errorf("BodyLen = %d, want %d", got.BodyLen, len(tt.body))
			}
			if got.Truncated() != (len(tt.want) < len(tt.body)) {
				t.Errorf("Truncated = %v", got.Truncated())
			}
			if tt.chunked && got.Header.Get("Transfer-Encoding") != "chunked" {
				t.Errorf("Transfer-Encoding = %q, want chunked", got.Header.Get("Transfer-Encoding"))
			}
		})
	}
}

func TestDefaultBodyCapIsOneMiB(t *testing.T) {
	r := start(t, nil, receiver.Options{})
	body := bytes.Repeat([]byte("x"), 3<<20)
	resp, err := http.Post(r.URL(), "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := r.Requests()[0]
	if len(got.Body) != receiver.DefaultMaxBody || got.BodyLen != 3<<20 {
		t.Errorf("recorded %d of %d bytes, want %d of %d",
			len(got.Body), got.BodyLen, receiver.DefaultMaxBody, 3<<20)
	}
}

func TestIncompleteBody(t *testing.T) {
	r := start(t, nil, receiver.Options{})
	conn, err := net.Dial("tcp", r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten!!")
	conn.Close()

	if err := r.WaitFor(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	got := r.Requests()[0]
	if !got.Incomplete || string(got.Body) != "only ten!!" || got.BodyLen != 10 {
		t.Errorf("got Incomplete=%v Body=%q BodyLen=%d, want true, the 10 bytes sent, 10",
			got.Incomplete, got.Body, got.BodyLen)
	}
}

func TestWaitFor(t *testing.T) {
	r := start(t, nil, receiver.Options{})
	go func() {
		for range 3 {
			resp, err := http.Get(r.URL())
			if err == nil {
				resp.Body.Close()
			}
		}
	}()

	if err := r.WaitFor(testContext(t), 3); err != nil {
		t.Fatal(err)
	}
	if got := r.Count(); got < 3 {
		t.Errorf("Count = %d after WaitFor(3)", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := r.WaitFor(ctx, 4)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestConcurrentRequestsAllRecorded(t *testing.T) {
	const total, workers = 1000, 32
	var mu sync.Mutex
	var ns []int
	r := start(t, func(_ *receiver.Request, n int) receiver.Response {
		mu.Lock()
		ns = append(ns, n)
		mu.Unlock()
		return receiver.Response{Status: http.StatusNoContent}
	}, receiver.Options{})

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	ids := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range ids {
				post(t, client, r.URL()+"/same", fmt.Sprintf("msg_%d", i))
			}
		})
	}
	for i := range total {
		ids <- i
	}
	close(ids)
	wg.Wait()

	if got := len(r.Requests()); got != total || r.Count() != total {
		t.Fatalf("recorded %d, counted %d, want %d", got, r.Count(), total)
	}
	seen := r.IDs()
	for i := range total {
		if n := seen[fmt.Sprintf("msg_%d", i)]; n != 1 {
			t.Fatalf("msg_%d arrived %d times, want 1", i, n)
		}
	}
	slices.Sort(ns)
	for i, n := range ns {
		if n != i+1 {
			t.Fatalf("arrival numbers on one path are not 1..%d: %d at %d", total, n, i)
		}
	}
}

// post sends a small JSON body with a webhook-id and checks for a 2xx.
func post(t *testing.T, c *http.Client, url, id string) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"id":"`+id+`"}`))
	req.Header.Set("Webhook-Id", id)
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestRecordModes(t *testing.T) {
	tests := []struct {
		mode     receiver.Record
		requests int
		ids      map[string]int
	}{
		{receiver.RecordAll, 4, map[string]int{"a": 2, "b": 1}},
		{receiver.RecordIDs, 0, map[string]int{"a": 2, "b": 1}},
		{receiver.RecordCount, 0, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.mode), func(t *testing.T) {
			r := start(t, nil, receiver.Options{Record: tt.mode})
			for _, id := range []string{"a", "b", "a"} {
				post(t, http.DefaultClient, r.URL(), id)
			}
			post(t, http.DefaultClient, r.URL(), "")

			if r.Count() != 4 {
				t.Errorf("Count = %d, want 4", r.Count())
			}
			if got := len(r.Requests()); got != tt.requests {
				t.Errorf("kept %d requests", got)
			}
			if got := fmt.Sprint(r.IDs()); got != fmt.Sprint(tt.ids) {
				t.Errorf("IDs = %s, want %s", got, fmt.Sprint(tt.ids))
			}
		})
	}
}

func TestByID(t *testing.T) {
	r := start(t, receiver.Sequence(500, 200), receiver.Options{})
	for _, body := range []string{"first", "second"} {
		req, _ := http.NewRequest("POST", r.URL()+"/retry", strings.NewReader(body))
		req.Header.Set("Webhook-Id", "msg_x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	byID := r.ByID()
	got := byID["msg_x"]
	if len(byID) != 1 || len(got) != 2 {
		t.Fatalf("ByID = %v, want two requests under msg_x", byID)
	}
	if string(got[0].Body) != "first" || string(got[1].Body) != "second" {
		t.Errorf("bodies %q, %q, want first, second in arrival order", got[0].Body, got[1].Body)
	}
}

// BenchmarkReceiver measures the receiver with a client on the same machine:
// the figure is an upper bound for what a sender can be measured against.
func BenchmarkReceiver(b *testing.B) {
	for _, mode := range []receiver.Record{receiver.RecordAll, receiver.RecordIDs} {
		b.Run("record="+mode.String(), func(b *testing.B) {
			r, err := receiver.StartWith(nil, receiver.Options{Record: mode})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()

			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			body := []byte(`{"user":"u_1","event":"signup","n":1}`)
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Post(r.URL(), "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
