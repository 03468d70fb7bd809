package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/netguard"
	"github.com/hookflow/hookflow/signature"
)

// received is one request exactly as a receiver saw it.
type received struct {
	Method, URI string
	Header      http.Header
	Body        []byte
}

// receiver is a loopback HTTP server that records every request and
// answers with the handler under test.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newReceiver(t *testing.T, answer http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, received{req.Method, req.RequestURI, req.Header.Clone(), body})
		r.mu.Unlock()
		answer(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	c := NewClient(o)
	t.Cleanup(c.Close)
	return c
}

func post(url, body string, headers ...hookflow.Header) *hookflow.Request {
	return &hookflow.Request{Method: "POST", URL: url, Headers: headers, Body: []byte(body)}
}

func TestSendExactBytesAndSignature(t *testing.T) {
	rcv := newReceiver(t, status(204))
	secret := signature.NewSecret()
	signer, err := signature.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, Options{Signer: signer})

	// S1: spacing, &, < and > must reach the receiver as rendered.
	body := `{"note":"a&b<c>",  "k":1}`
	req := post(rcv.URL+"/hook/42?x=1&y=%20", body,
		hookflow.Header{Name: "Content-Type", Value: "application/json"},
		hookflow.Header{Name: "X-Api-Key", Value: "k1"},
		hookflow.Header{Name: "X-Multi", Value: "a"},
		hookflow.Header{Name: "x-multi", Value: "b"},
		hookflow.Header{Name: "Webhook-Id", Value: "forged"})
	a := c.Send(context.Background(), "dlv_1", req, 1, t0)

	if a.Status != 204 || a.ErrorKind != "" || Classify(a) != Delivered {
		t.Fatalf("attempt = %d %q %q, want 204 delivered", a.Status, a.ErrorKind, a.Error)
	}
	if a.Number != 1 || !a.StartedAt.Equal(t0) || a.DeliveryID != "dlv_1" || a.Duration <= 0 {
		t.Fatalf("attempt bookkeeping = %+v", a)
	}

	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != "POST" || r.URI != "/hook/42?x=1&y=%20" || string(r.Body) != body {
		t.Fatalf("received %s %s %q", r.Method, r.URI, r.Body)
	}
	wantHeaders := map[string]string{
		"Content-Type":      "application/json",
		"X-Api-Key":         "k1",
		"User-Agent":        hookflow.UserAgent(),
		"Webhook-Id":        "dlv_1",
		"Webhook-Timestamp": "1772366400",
		"Content-Length":    "25",
	}
	for name, want := range wantHeaders {
		if v := r.Header.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	if v := r.Header.Values("X-Multi"); strings.Join(v, ",") != "a,b" {
		t.Errorf("X-Multi = %q, want [a b]", v)
	}
	if v := r.Header.Get("Accept-Encoding"); v != "" {
		t.Errorf("Accept-Encoding = %q, want none added", v)
	}

	key, _ := signature.ParseSecret(secret)
	err = signature.Verify(key, r.Header.Get("Webhook-Id"), r.Header.Get("Webhook-Timestamp"),
		r.Header.Get("Webhook-Signature"), r.Body, t0, signature.DefaultTolerance)
	if err != nil {
		t.Fatalf("signature over the received bytes: %v", err)
	}
}

func TestSendUnsignedAndTemplateUserAgent(t *testing.T) {
	rcv := newReceiver(t, status(200))
	c := newClient(t, Options{})
	req := &hookflow.Request{Method: "GET", URL: rcv.URL + "/q", Body: []byte("ignored"),
		Headers: []hookflow.Header{{Name: "User-Agent", Value: "Mine/1"}, {Name: "Host", Value: "api.example"}}}

	a := c.Send(context.Background(), "dlv_2", req, 1, t0)
	if Classify(a) != Delivered {
		t.Fatalf("attempt = %d %q", a.Status, a.Error)
	}

	r := rcv.requests()[0]
	if r.Method != "GET" || len(r.Body) != 0 || r.Header.Get("Content-Length") != "" {
		t.Errorf("GET sent a body: %q (Content-Length %q)", r.Body, r.Header.Get("Content-Length"))
	}
	if ua := r.Header.Get("User-Agent"); ua != "Mine/1" {
		t.Errorf("User-Agent = %q, want the template's", ua)
	}
	if r.Header.Get("Webhook-Id") != "dlv_2" {
		t.Errorf("Webhook-Id = %q, want dlv_2", r.Header.Get("Webhook-Id"))
	}
	for _, h := range []string{"Webhook-Timestamp", "Webhook-Signature"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("unsigned send has %s: %q", h, v)
		}
	}
}

// TestRetriesKeepIDAndSignAfresh is S3 and T6: the same id and body bytes on
// every attempt, a timestamp and signature of each attempt's own time.
func TestRetriesKeepIDAndSignAfresh(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(500)
		}
	})
	secret := signature.NewSecret()
	signer, _ := signature.NewSigner(secret)
	c := newClient(t, Options{Signer: signer})
	req := post(rcv.URL, `{"at":"1700000000"}`)

	second := t0.Add(10 * time.Minute)
	a1 := c.Send(context.Background(), "dlv_3", req, 1, t0)
	a2 := c.Send(context.Background(), "dlv_3", req, 2, second)
	if Classify(a1) != Retry || Classify(a2) != Delivered {
		t.Fatalf("verdicts %v, %v; want retry then delivered", Classify(a1), Classify(a2))
	}

	got := rcv.requests()
	key, _ := signature.ParseSecret(secret)
	for i, at := range []time.Time{t0, second} {
		r := got[i]
		if r.Header.Get("Webhook-Id") != "dlv_3" || string(r.Body) != string(req.Body) {
			t.Errorf("attempt %d: id %q body %q", i+1, r.Header.Get("Webhook-Id"), r.Body)
		}
		if ts := r.Header.Get("Webhook-Timestamp"); ts != signature.Timestamp(at) {
			t.Errorf("attempt %d: timestamp %s, want %s", i+1, ts, signature.Timestamp(at))
		}
		// A receiver rejecting timestamps older than 5 minutes accepts each.
		err := signature.Verify(key, "dlv_3", r.Header.Get("Webhook-Timestamp"),
			r.Header.Get("Webhook-Signature"), r.Body, at, signature.DefaultTolerance)
		if err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
	}
	if got[0].Header.Get("Webhook-Signature") == got[1].Header.Get("Webhook-Signature") {
		t.Error("both attempts carry the same signature")
	}
}

func TestPerCallSignerWithRotation(t *testing.T) {
	rcv := newReceiver(t, status(200))
	c := newClient(t, Options{})
	current, old := signature.NewSecret(), signature.NewSecret()
	signer, _ := signature.NewSigner(current, old)

	c.SendSigned(context.Background(), signer, "dlv_4", post(rcv.URL, "x"), 1, t0)

	r := rcv.requests()[0]
	for _, secret := range []string{current, old} {
		key, _ := signature.ParseSecret(secret)
		err := signature.Verify(key, "dlv_4", r.Header.Get("Webhook-Timestamp"),
			r.Header.Get("Webhook-Signature"), r.Body, t0, signature.DefaultTolerance)
		if err != nil {
			t.Errorf("secret %s: %v", secret, err)
		}
	}
}

// TestPermanentErrorOnce is T1: a 403 fails at once, its response kept.
func TestPermanentErrorOnce(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Reason", "key revoked")
		w.WriteHeader(403)
		io.WriteString(w, `{"error":"forbidden"}`)
	})
	c := newClient(t, Options{})

	a := c.Send(context.Background(), "dlv_5", post(rcv.URL, "{}"), 1, t0)
	state, _ := DefaultPolicy().Decide(a, t0, 0.5)

	if state != hookflow.StateFailed || a.Status != 403 || a.ErrorKind != KindStatus {
		t.Fatalf("state %s status %d kind %q, want failed 403 status", state, a.Status, a.ErrorKind)
	}
	if string(a.ResponseBody) != `{"error":"forbidden"}` || a.Truncated {
		t.Errorf("response body %q truncated %v", a.ResponseBody, a.Truncated)
	}
	if a.ResponseHeaders.Get("X-Reason") != "key revoked" || a.Error != "status 403 Forbidden" {
		t.Errorf("headers %v error %q", a.ResponseHeaders, a.Error)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

// TestRetryAfter is T3 end to end: seconds, an HTTP date, and a 400 whose
// Retry-After is ignored.
func TestRetryAfter(t *testing.T) {
	date := t0.Add(2 * time.Minute).Format(http.TimeFormat)
	tests := []struct {
		name       string
		code       int
		retryAfter string
		wantState  string
		wantDue    func(end time.Time) time.Time
	}{
		{"429 seconds", 429, "7", hookflow.StatePending,
			func(end time.Time) time.Time { return end.Add(7 * time.Second) }},
		{"503 http date", 503, date, hookflow.StatePending,
			func(time.Time) time.Time { return t0.Add(2 * time.Minute) }},
		{"400 not retried", 400, "7", hookflow.StateFailed,
			func(time.Time) time.Time { return time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", tt.retryAfter)
				w.WriteHeader(tt.code)
			})
			c := newClient(t, Options{})

			a := c.Send(context.Background(), "dlv_6", post(rcv.URL, "{}"), 1, t0)
			state, due := DefaultPolicy().Decide(a, t0, 0.5)

			want := tt.wantDue(a.StartedAt.Add(a.Duration))
			if state != tt.wantState || !due.Equal(want) {
				t.Fatalf("Decide = %s %v, want %s %v", state, due, tt.wantState, want)
			}
		})
	}
}

// TestTrickleTimesOut is E1: headers at once, then a byte now and then for
// ever. The one deadline ends the attempt as a timeout, which retries.
func TestTrickleTimesOut(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	const timeout = 300 * time.Millisecond
	c := newClient(t, Options{Timeout: timeout})

	a := c.Send(context.Background(), "dlv_7", post(rcv.URL, "{}"), 1, t0)

	if a.ErrorKind != KindTimeout || Classify(a) != Retry {
		t.Fatalf("attempt %d kind %q error %q, want a retried timeout", a.Status, a.ErrorKind, a.Error)
	}
	if !strings.HasPrefix(a.Error, "reading response body: ") {
		t.Errorf("error %q, want it to say the body read failed", a.Error)
	}
	// Generous upper bound: only proves the deadline, not the scheduler.
	if a.Duration < timeout || a.Duration > 10*time.Second {
		t.Errorf("attempt took %v, want about %v", a.Duration, timeout)
	}
}

// TestHugeResponse is E2: 50 MB answered, a capped prefix read and kept.
func TestHugeResponse(t *testing.T) {
	const size = 50 << 20
	chunk := []byte(strings.Repeat("0123456789abcdef", 2048))
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "52428800")
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c := newClient(t, Options{MaxResponseBytes: 1000})

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a := c.Send(context.Background(), "dlv_8", post(rcv.URL, "{}"), 1, t0)
	runtime.ReadMemStats(&after)

	if Classify(a) != Delivered || a.Status != 200 {
		t.Fatalf("attempt %d %q %q, want delivered", a.Status, a.ErrorKind, a.Error)
	}
	if len(a.ResponseBody) != 1000 || !a.Truncated || string(a.ResponseBody[:16]) != "0123456789abcdef" {
		t.Errorf("body %d bytes truncated %v, want 1000 bytes truncated", len(a.ResponseBody), a.Truncated)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("allocated %d bytes for a capped read", grew)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

func TestResponseExactlyAtCapIsNotTruncated(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strings.Repeat("a", 10))
	})
	c := newClient(t, Options{MaxResponseBytes: 10})
	a := c.Send(context.Background(), "dlv_9", post(rcv.URL, "{}"), 1, t0)
	if len(a.ResponseBody) != 10 || a.Truncated {
		t.Fatalf("body %d bytes truncated %v, want 10 not truncated", len(a.ResponseBody), a.Truncated)
	}
}

// TestRedirectsNotFollowed is E4.
func TestRedirectsNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/new" {
					return
				}
				w.Header().Set("Location", "/new")
				w.WriteHeader(code)
			})
			c := newClient(t, Options{})

			a := c.Send(context.Background(), "dlv_10", post(rcv.URL+"/old", "{}"), 1, t0)

			want := "redirect to /new not followed (status " + strconv.Itoa(code) + ")"
			if a.Status != code || a.ErrorKind != KindRedirect || a.Error != want || Classify(a) != Fail {
				t.Fatalf("attempt %d %q %q, want %d redirect %q", a.Status, a.ErrorKind, a.Error, code, want)
			}
			for _, r := range rcv.requests() {
				if r.URI == "/new" {
					t.Fatal("/new received a request")
				}
			}
		})
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestConnectionRefusedRetriesUntilUp is T2: two attempts to a closed port
// fail as connect errors and retry; the third reaches the receiver.
func TestConnectionRefusedRetriesUntilUp(t *testing.T) {
	addr := closedAddr(t)
	c := newClient(t, Options{})
	req := post("http://"+addr+"/hook", "{}")

	for n := 1; n <= 2; n++ {
		a := c.Send(context.Background(), "dlv_11", req, n, t0)
		state, _ := DefaultPolicy().Decide(a, t0, 0.5)
		if a.Status != 0 || a.ErrorKind != KindConnect || state != hookflow.StatePending {
			t.Fatalf("attempt %d: %d %q %q state %s, want a retried connect error",
				n, a.Status, a.ErrorKind, a.Error, state)
		}
		if !strings.Contains(a.Error, "connection refused") {
			t.Errorf("attempt %d error %q, want it to say connection refused", n, a.Error)
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(status(200))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	if a := c.Send(context.Background(), "dlv_11", req, 3, t0); Classify(a) != Delivered {
		t.Fatalf("attempt 3: %d %q %q, want delivered", a.Status, a.ErrorKind, a.Error)
	}
}

// TestConnectionDroppedIsReset: the receiver closes the connection without
// answering.
func TestConnectionDroppedIsReset(t *testing.T) {
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	c := newClient(t, Options{})
	a := c.Send(context.Background(), "dlv_12", post(rcv.URL, "{}"), 1, t0)
	if a.ErrorKind != KindReset || Classify(a) != Retry {
		t.Fatalf("attempt %d %q %q, want a retried reset", a.Status, a.ErrorKind, a.Error)
	}
}

func TestUntrustedCertificateIsTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(status(200))
	// The refused handshake is expected; keep it out of the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()

	c := newClient(t, Options{})
	a := c.Send(context.Background(), "dlv_13", post(srv.URL, "{}"), 1, t0)
	if a.ErrorKind != KindTLS || Classify(a) != Retry {
		t.Fatalf("attempt %d %q %q, want a retried tls error", a.Status, a.ErrorKind, a.Error)
	}

	// The same server with its certificate trusted is delivered to.
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	trusted := newClient(t, Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if a := trusted.Send(context.Background(), "dlv_13", post(srv.URL, "{}"), 2, t0); Classify(a) != Delivered {
		t.Fatalf("trusted attempt %d %q %q, want delivered", a.Status, a.ErrorKind, a.Error)
	}
}

// TestDialControlRefuses: the guard's error text reaches the user unchanged
// and the destination is never connected to.
func TestDialControlRefuses(t *testing.T) {
	rcv := newReceiver(t, status(200))
	guardText := "destination 127.0.0.1 is not public; allow it with HOOKFLOW_ALLOW_HOSTS=127.0.0.1"
	var dialled []string
	c := newClient(t, Options{DialControl: func(network, address string, _ syscall.RawConn) error {
		dialled = append(dialled, address)
		return errors.New(guardText)
	}})

	a := c.Send(context.Background(), "dlv_14", post(rcv.URL, "{}"), 1, t0)

	if a.ErrorKind != KindRefused || a.Error != guardText || Classify(a) != Fail {
		t.Fatalf("attempt %d %q %q, want refused with the guard's text", a.Status, a.ErrorKind, a.Error)
	}
	if len(dialled) == 0 || dialled[0] != strings.TrimPrefix(rcv.URL, "http://") {
		t.Errorf("guard saw %v, want the dialled address", dialled)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

func TestInvalidRequestFails(t *testing.T) {
	rcv := newReceiver(t, status(200))
	tests := []struct {
		name string
		req  *hookflow.Request
	}{
		{"nil request", nil},
		{"no scheme", post("example.com/hook", "{}")},
		{"ftp scheme", post("ftp://example.com/hook", "{}")},
		{"no host", post("http:///hook", "{}")},
		{"bad URL", post("http://exa mple.com/", "{}")},
		{"bad method", &hookflow.Request{Method: "PO ST", URL: rcv.URL}},
		{"CRLF in header value (R8)", post(rcv.URL, "{}",
			hookflow.Header{Name: "X-User", Value: "Ann\r\nX-Injected: 1"})},
		{"bad header name", post(rcv.URL, "{}", hookflow.Header{Name: "X User", Value: "1"})},
	}
	c := newClient(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.Send(context.Background(), "dlv_15", tt.req, 1, t0)
			if a.ErrorKind != KindRequest || a.Error == "" || Classify(a) != Fail {
				t.Fatalf("attempt %d %q %q, want a failed invalid request", a.Status, a.ErrorKind, a.Error)
			}
		})
	}
	if n := len(rcv.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

func TestCanceledContextRetries(t *testing.T) {
	rcv := newReceiver(t, status(200))
	c := newClient(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	a := c.Send(ctx, "dlv_16", post(rcv.URL, "{}"), 1, t0)
	if a.ErrorKind != KindCanceled || Classify(a) != Retry {
		t.Fatalf("attempt %d %q %q, want a retried cancel", a.Status, a.ErrorKind, a.Error)
	}
}

// TestNetguardDialContext wires the real guard in: a loopback receiver is
// refused with the guard's own message, and delivered to once allowed.
func TestNetguardDialContext(t *testing.T) {
	rcv := newReceiver(t, status(200))

	guard, err := netguard.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, Options{DialContext: guard.DialContext(nil)})
	a := c.Send(context.Background(), "dlv_17", post(rcv.URL, "{}"), 1, t0)
	if a.ErrorKind != KindRefused || Classify(a) != Fail || !strings.Contains(a.Error, "allow-listed") {
		t.Fatalf("attempt %d %q %q, want refused by the guard", a.Status, a.ErrorKind, a.Error)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("receiver got %d requests, want 0", n)
	}

	allowing, err := netguard.New([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	c = newClient(t, Options{DialContext: allowing.DialContext(nil)})
	if a := c.Send(context.Background(), "dlv_17", post(rcv.URL, "{}"), 2, t0); Classify(a) != Delivered {
		t.Fatalf("allowed attempt %d %q %q, want delivered", a.Status, a.ErrorKind, a.Error)
	}
}

// TestRedirectToCanary is E5: a redirect to another origin never opens a
// connection there, so no header or signature can reach it.
func TestRedirectToCanary(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	canary := httptest.NewUnstartedServer(status(200))
	canary.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	canary.Start()
	defer canary.Close()

	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, canary.URL+"/steal", http.StatusFound)
	})
	signer, _ := signature.NewSigner(signature.NewSecret())
	c := newClient(t, Options{Signer: signer})

	a := c.Send(context.Background(), "dlv_18", post(rcv.URL, "{}",
		hookflow.Header{Name: "X-Api-Key", Value: "secret"}), 1, t0)

	if a.ErrorKind != KindRedirect || !strings.Contains(a.Error, canary.URL+"/steal") {
		t.Fatalf("attempt %d %q %q, want a redirect showing the Location", a.Status, a.ErrorKind, a.Error)
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 0 {
		t.Fatalf("canary saw %d connections, want 0", conns)
	}
}
