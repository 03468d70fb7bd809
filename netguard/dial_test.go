package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// canary is an HTTP server on loopback that counts the connections it
// accepts. Tests assert the count, never a timing: a refused dial never
// reaches the listener, and an allowed request has been accepted by the
// time its response arrives.
type canary struct {
	*httptest.Server
	conns atomic.Int64
}

func startCanary(t *testing.T, listenAddr string) *canary {
	t.Helper()
	l, err := net.Listen("tcp", listenAddr)
	if err != nil {
		t.Fatalf("canary listen on %s: %v", listenAddr, err)
	}
	c := &canary{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "canary")
	}))
	c.Listener.Close()
	c.Listener = l
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

func (c *canary) port() string {
	_, port, _ := net.SplitHostPort(c.Listener.Addr().String())
	return port
}

// guardedClient is the client shape the sender is meant to build: the
// guard's DialContext on a transport with no proxy.
func guardedClient(t *testing.T, g *Guard, r *net.Resolver) *http.Client {
	t.Helper()
	transport := &http.Transport{
		Proxy:       nil,
		DialContext: g.DialContext(&net.Dialer{Resolver: r}),
	}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

// testRecords are the names the test DNS server knows.
func testRecords() map[string][]netip.Addr {
	loop := netip.MustParseAddr("127.0.0.1")
	return map[string][]netip.Addr{
		"canary.test.":            {loop},
		"rebind.test.":            {netip.MustParseAddr("93.184.216.34"), loop},
		"mapped.test.":            {netip.MustParseAddr("::ffff:127.0.0.1")},
		"metadata.test.":          {netip.MustParseAddr("169.254.169.254")},
		"hooks.internal.test.":    {loop},
		"internal.test.":          {loop},
		"canary2.test.":           {netip.MustParseAddr("127.0.0.2")},
		"elsewhere.example.test.": {loop},
	}
}

// TestDialRefusesEverySpelling is field report E6 end to end: every way of
// writing the canary's address is refused when dialled, with a
// *RefusedError, and the canary sees no connection at all.
func TestDialRefusesEverySpelling(t *testing.T) {
	c := startCanary(t, "127.0.0.1:0")
	port := c.port()
	client := guardedClient(t, mustGuard(t), startDNS(t, testRecords()))

	hosts := []string{
		"127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "127.0.1",
		"0x7f.1", "127.0.0.1.", "localhost", "localhost.", "LocalHost", "api.localhost",
		"[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[64:ff9b::7f00:1]", "[::127.0.0.1]",
		"0", "0.0.0.0", "[::]", "１２７.０.０.１",
		// CheckURL does not fold these; net/http maps them to 127.0.0.1
		// (IDNA) before dialling, and the dial is refused.
		"𝟏𝟐𝟕.𝟎.𝟎.𝟏", "①②⑦.⓪.⓪.①",
		"canary.test", "canary.test.", "rebind.test", "mapped.test",
	}
	for _, host := range hosts {
		url := "http://" + host + ":" + port + "/"
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s succeeded, want refusal", url)
			continue
		}
		var refused *RefusedError
		if !errors.As(err, &refused) {
			t.Errorf("GET %s: error %T %v, want *RefusedError", url, err, err)
		}
	}

	resp, err := client.Get("http://metadata.test/latest/meta-data/")
	if got := refusedAddr(t, err); got != "169.254.169.254" {
		t.Errorf("GET metadata.test refused %q (resp %v), want 169.254.169.254", got, resp)
	}
	if n := c.conns.Load(); n != 0 {
		t.Fatalf("canary accepted %d connections, want 0", n)
	}
}

// TestCheckURLAndDialAgree shows that what is refused at save time is
// refused at dial time too, and that names the save-time check lets
// through (it does not resolve) are caught when dialled.
func TestCheckURLAndDialAgree(t *testing.T) {
	g := mustGuard(t)
	r := startDNS(t, testRecords())
	dial := g.DialContext(&net.Dialer{Resolver: r})
	tests := []struct {
		host         string
		savedRefused bool
	}{
		{"2130706433:9999", true},
		{"169.254.169.254:80", true},
		{"localhost:80", true},
		{"canary.test:80", false},
		{"rebind.test:80", false},
	}
	for _, tt := range tests {
		saveErr := g.CheckURL("http://" + tt.host + "/")
		if (saveErr != nil) != tt.savedRefused {
			t.Errorf("CheckURL(%s) = %v, want refused %v", tt.host, saveErr, tt.savedRefused)
		}
		conn, err := dial(context.Background(), "tcp", tt.host)
		if err == nil {
			conn.Close()
		}
		if refusedAddr(t, err) == "" {
			t.Errorf("dial %s was not refused", tt.host)
		}
	}

	// A name refused after resolving is reported with the address and the
	// name, and either can be allow-listed.
	_, err := dial(context.Background(), "tcp", "canary.test:80")
	want := `destination 127.0.0.1 (from "canary.test") is a loopback address; ` +
		`Hookflow refuses non-public destinations unless allow-listed: ` +
		`add it to HOOKFLOW_ALLOW_DESTINATIONS (e.g. 127.0.0.0/8 or canary.test) or --allow-destinations`
	if err == nil || err.Error() != want {
		t.Errorf("dial canary.test error\n got: %v\nwant: %s", err, want)
	}
}

func TestDialAllowed(t *testing.T) {
	c := startCanary(t, "127.0.0.1:0")
	port := c.port()
	r := startDNS(t, testRecords())

	tests := []struct {
		allow []string
		host  string
	}{
		{[]string{"127.0.0.0/8"}, "127.0.0.1"},
		{[]string{"127.0.0.0/8"}, "2130706433"},
		{[]string{"127.0.0.0/8"}, "canary.test"},
		{[]string{"canary.test"}, "canary.test"},
		{[]string{"*.internal.test"}, "hooks.internal.test"},
	}
	for i, tt := range tests {
		client := guardedClient(t, mustGuard(t, tt.allow...), r)
		url := "http://" + tt.host + ":" + port + "/"
		resp, err := client.Get(url)
		if err != nil {
			t.Errorf("allow %q: GET %s: %v", tt.allow, url, err)
			continue
		}
		resp.Body.Close()
		if n := c.conns.Load(); n != int64(i+1) {
			t.Errorf("allow %q: canary accepted %d connections, want %d", tt.allow, n, i+1)
		}
	}

	// A host name entry opens that name only, not the address.
	client := guardedClient(t, mustGuard(t, "*.internal.test"), r)
	for _, host := range []string{"127.0.0.1", "elsewhere.example.test", "internal.test"} {
		_, err := client.Get("http://" + host + ":" + port + "/")
		var refused *RefusedError
		if !errors.As(err, &refused) {
			t.Errorf("allow *.internal.test: GET %s: %v, want *RefusedError", host, err)
		}
	}
	if n := c.conns.Load(); n != int64(len(tests)) {
		t.Errorf("canary accepted %d connections, want %d", n, len(tests))
	}
}

// TestControlAtSocket checks the second line on its own: a dialer that
// carries only Control, asked to connect to the canary directly, is
// stopped before the connect.
func TestControlAtSocket(t *testing.T) {
	c := startCanary(t, "127.0.0.1:0")
	g := mustGuard(t, "10.0.0.0/8")

	plain := &net.Dialer{Control: g.Control}
	conn, err := plain.Dial("tcp", c.Listener.Addr().String())
	if err == nil {
		conn.Close()
	}
	if got := refusedAddr(t, err); got != "127.0.0.1" {
		t.Errorf("Control dial refused %q, want 127.0.0.1", got)
	}

	// DialContext's own dialer refuses an address it did not approve.
	second := g.secondLine(&net.Dialer{}, nil)
	conn, err = second.Dial("tcp", c.Listener.Addr().String())
	if err == nil {
		conn.Close()
	}
	if got := refusedAddr(t, err); got != "127.0.0.1" {
		t.Errorf("second line refused %q, want 127.0.0.1", got)
	}

	if n := c.conns.Load(); n != 0 {
		t.Fatalf("canary accepted %d connections, want 0", n)
	}
}

// TestUserControlStillRuns checks that DialContext keeps a Control the
// caller set on its dialer (for socket options, say).
func TestUserControlStillRuns(t *testing.T) {
	c := startCanary(t, "127.0.0.1:0")
	var calls atomic.Int64
	dialer := &net.Dialer{Control: func(string, string, syscall.RawConn) error {
		calls.Add(1)
		return nil
	}}
	dial := mustGuard(t, "127.0.0.1").DialContext(dialer)
	conn, err := dial(context.Background(), "tcp", c.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if calls.Load() != 1 {
		t.Errorf("caller's Control ran %d times, want 1", calls.Load())
	}
}

// TestRedirectToCanary is field report E5 as far as the guard goes: even a
// client that follows redirects cannot be bounced from an allowed receiver
// to a destination that is not allowed; the canary is never connected to.
// (That the sender does not follow redirects at all, and sends no secret
// header elsewhere, is the sender's test.)
func TestRedirectToCanary(t *testing.T) {
	// 127.0.0.2 is loopback too on Linux; it lets the canary be a
	// different, refused address while the receiver is allowed.
	c := startCanary(t, "127.0.0.2:0")
	targets := []string{
		"http://" + c.Listener.Addr().String() + "/",
		"http://2130706434:" + c.port() + "/",
		"http://canary2.test:" + c.port() + "/",
		"http://169.254.169.254/latest/meta-data/",
	}
	var receiverHits atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		receiverHits.Add(1)
		var i int
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/"), &i)
		http.Redirect(w, r, targets[i], http.StatusFound)
	}))
	t.Cleanup(receiver.Close)

	client := guardedClient(t, mustGuard(t, "127.0.0.1/32"), startDNS(t, testRecords()))
	for i, target := range targets {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/%d", receiver.URL, i), nil)
		req.Header.Set("X-Api-Key", "secret-key")
		_, err := client.Do(req)
		var refused *RefusedError
		if !errors.As(err, &refused) {
			t.Errorf("redirect to %s: %v, want *RefusedError", target, err)
		}
	}

	if n := receiverHits.Load(); n != int64(len(targets)) {
		t.Errorf("receiver got %d requests, want %d", n, len(targets))
	}
	if n := c.conns.Load(); n != 0 {
		t.Fatalf("canary accepted %d connections, want 0", n)
	}
}
