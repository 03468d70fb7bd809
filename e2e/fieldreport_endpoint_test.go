package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// E1: a receiver trickling its answer is cut off by the one deadline over
// the whole attempt, which ends "timeout" and is retried later; a healthy
// endpoint's delivery sent at the same time arrives meanwhile.
func TestFieldReportE1Trickle(t *testing.T) {
	t.Parallel()
	slow := frReceiver(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Status: 200, Trickle: true, Body: []byte("ok")}
	})
	healthy := frReceiver(t, nil)
	// The retry is far off, so the delivery is seen pending after one try.
	p := deliver.DefaultPolicy()
	p.Base = time.Hour
	sys := hookflowtest.Start(t, hookflowtest.Options{Timeout: time.Second, Policy: &p})
	frUser(sys, "u1", nil)
	slowID := frAPICampaign(sys, "slow", frPairs(slow.URL()+"/slow", "a", "b"))
	healthyID := frAPICampaign(sys, "healthy", frPairs(healthy.URL()+"/ok", "a", "b"))
	frTrigger(sys, slowID, "u1")
	frTrigger(sys, healthyID, "u1")

	frWaitCount(t, slow, 1)
	sys.WaitState(frOnly(t, sys, healthyID).ID, hookflow.StateDelivered)
	if late := healthy.Requests()[0].At.Sub(slow.Requests()[0].At); late > 500*time.Millisecond {
		t.Errorf("the healthy endpoint got its request %s after the slow one; want well within the 1s timeout", late)
	}

	d := frWaitFor(t, sys, frOnly(t, sys, slowID).ID, "the first attempt", func(d *hookflow.Delivery) bool {
		return d.Attempts == 1 && d.State == hookflow.StatePending
	})
	v := frGet(sys, d.ID)
	if len(v.AttemptLog) != 1 || v.AttemptLog[0].ErrorKind != deliver.KindTimeout {
		t.Fatalf("attempt log = %+v; want one attempt ending in a timeout", v.AttemptLog)
	}
	if v.NextAttemptAt == nil {
		t.Errorf("pending delivery shows no next_attempt_at")
	}
}

// E2: a 50 MB answer: the status decides, one request is made, and the
// stored body is capped and marked truncated.
func TestFieldReportE2HugeResponse(t *testing.T) {
	huge := bytes.Repeat([]byte("x"), 50<<20)
	rcv := frReceiver(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Status: 200, Body: huge}
	})
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	frUser(sys, "u1", nil)
	id := frAPICampaign(sys, "huge", frPairs(rcv.URL()+"/huge", "a", "b"))
	frTrigger(sys, id, "u1")

	d, attempts := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateDelivered)
	if len(attempts) != 1 || d.Attempts != 1 || rcv.Count() != 1 {
		t.Fatalf("%s, %d requests; want one attempt, one request", frDescribe(d), rcv.Count())
	}
	a := attempts[0]
	if len(a.ResponseBody) != deliver.DefaultMaxResponseBytes || !a.Truncated {
		t.Errorf("stored response: %d bytes, truncated %v; want %d bytes, truncated",
			len(a.ResponseBody), a.Truncated, deliver.DefaultMaxResponseBytes)
	}
	if v := frGet(sys, d.ID); !v.AttemptLog[0].Truncated || len(v.AttemptLog[0].ResponseBody) != deliver.DefaultMaxResponseBytes {
		t.Errorf("activity log shows %d bytes, truncated %v", len(v.AttemptLog[0].ResponseBody), v.AttemptLog[0].Truncated)
	}
}

// frHugeTrack is a /users/track body of about size bytes for user id,
// padded with one long attribute.
func frHugeTrack(id string, size int) []byte {
	head := `{"attributes": [{"external_id": "` + id + `", "pad": "`
	return []byte(head + strings.Repeat("x", size-len(head)-4) + `"}]}`)
}

// frUserExists asks the API for user id.
func frUserExists(t *testing.T, sys *hookflowtest.System, id string) bool {
	t.Helper()
	status, body := sys.Do("GET", "/v1/users/"+id, nil)
	if status != http.StatusOK && status != http.StatusNotFound {
		t.Fatalf("GET /v1/users/%s: %d %s", id, status, body)
	}
	return status == http.StatusOK
}

// E3: a 50 MB body to /users/track is refused with 413 and stores nothing;
// a body longer than its Content-Length is read only as far as declared,
// which is refused as invalid JSON with a clear message, never a 5xx.
func TestFieldReportE3HugeIntake(t *testing.T) {
	sys := hookflowtest.Start(t, hookflowtest.Options{})

	status, body := sys.Do("POST", "/users/track", frHugeTrack("big", 50<<20))
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("50 MB track: %d %s; want 413", status, body)
	}
	if frUserExists(t, sys, "big") {
		t.Errorf("user of the refused 50 MB request was stored")
	}

	status, body = frLyingTrack(t, sys, frHugeTrack("liar", 50<<20), 100)
	if status != http.StatusBadRequest || !bytes.Contains(body, []byte("not valid JSON")) {
		t.Errorf("Content-Length 100 with a 50 MB body: %d %s; want 400 saying the JSON is not valid", status, body)
	}
	if frUserExists(t, sys, "liar") {
		t.Errorf("user of the lying request was stored")
	}

	// The other way round: a body shorter than its Content-Length, the
	// client then closing its side, is the client's failure (400), not an
	// internal error (500).
	short := []byte(`{"attributes": [{"external_id": "short"}]}`)
	status, body = frShortTrack(t, sys, short, len(short)+100)
	if status != http.StatusBadRequest || !bytes.Contains(body, []byte("request body could not be read")) {
		t.Errorf("body 100 bytes short of its Content-Length: %d %s; want 400 saying the body could not be read", status, body)
	}
	if frUserExists(t, sys, "short") {
		t.Errorf("user of the short request was stored")
	}
}

// frShortTrack POSTs body to /users/track over a raw connection declaring
// Content-Length: declared, more than it sends, then closes its writing
// side, and returns the response.
func frShortTrack(t *testing.T, sys *hookflowtest.System, body []byte, declared int) (int, []byte) {
	t.Helper()
	conn, request := frRawTrack(t, sys, body, declared)
	if _, err := conn.Write(request); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	return frReadResponse(t, conn)
}

// frLyingTrack POSTs body to /users/track over a raw connection, declaring
// Content-Length: declared, and returns the first response.
func frLyingTrack(t *testing.T, sys *hookflowtest.System, body []byte, declared int) (int, []byte) {
	t.Helper()
	conn, request := frRawTrack(t, sys, body, declared)
	go func() {
		// The server stops reading after the declared bytes; its closing
		// the connection ends this write with an error, which is expected.
		conn.Write(request)
	}()
	return frReadResponse(t, conn)
}

// frRawTrack dials the API, closed when the test ends, and returns the
// connection with the bytes of a /users/track request carrying body under
// a Content-Length of declared.
func frRawTrack(t *testing.T, sys *hookflowtest.System, body []byte, declared int) (net.Conn, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(sys.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	head := fmt.Sprintf("POST /users/track HTTP/1.1\r\nHost: hookflow\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", sys.Key, declared)
	return conn, append([]byte(head), body...)
}

// frReadResponse reads one response from conn.
func frReadResponse(t *testing.T, conn net.Conn) (int, []byte) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// E4: redirects are not followed: the delivery fails showing the status
// and the Location, and the target gets nothing.
func TestFieldReportE4Redirects(t *testing.T) {
	rcv := frReceiver(t, func(r *receiver.Request, _ int) receiver.Response {
		code, err := strconv.Atoi(strings.TrimPrefix(r.Path(), "/old/"))
		if err != nil {
			return receiver.Response{Status: 200}
		}
		return receiver.Response{Status: code, Header: http.Header{"Location": {"/new"}}}
	})
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	frUser(sys, "u1", nil)

	for _, code := range []int{301, 302, 303, 307, 308} {
		id := frAPICampaign(sys, fmt.Sprint("redirect ", code), frPairs(fmt.Sprintf("%s/old/%d", rcv.URL(), code), "a", "b"))
		frTrigger(sys, id, "u1")
		d, _ := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateFailed)
		if d.Attempts != 1 || d.LastStatus != code ||
			!strings.Contains(d.LastError, "/new") || !strings.Contains(d.LastError, strconv.Itoa(code)) {
			t.Errorf("%d: %s; want failed after one attempt, status %d and /new in the error", code, frDescribe(d), code)
		}
	}
	for _, r := range rcv.Requests() {
		if r.Path() == "/new" {
			t.Errorf("the redirect target got a request")
		}
	}
	if rcv.Count() != 5 {
		t.Errorf("receiver got %d requests, want 5", rcv.Count())
	}
}

// E5: a redirect towards another origin is never followed, so a secret
// header cannot reach it: the canary sees no connection.
func TestFieldReportE5RedirectToCanary(t *testing.T) {
	canary := frCanary(t)
	rcv := frReceiver(t, receiver.Redirect(http.StatusFound, canary.URL()+"/steal"))
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	frUser(sys, "u1", nil)
	hook := frPairs(rcv.URL()+"/e5", "a", "b")
	hook["headers"] = []map[string]string{{"name": "X-Api-Key", "value": "sk_live_secret"}}
	id := frAPICampaign(sys, "e5", hook)
	frTrigger(sys, id, "u1")

	d, _ := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateFailed)
	if d.LastStatus != http.StatusFound || !strings.Contains(d.LastError, canary.URL()) {
		t.Errorf("%s; want status 302 and the Location in the error", frDescribe(d))
	}
	if n := canary.Connections(); n != 0 {
		t.Errorf("canary got %d connections, want 0", n)
	}
}

// E6: private destinations are refused at save, naming the allow-list
// setting, and at dial when the host comes from user data.
func TestFieldReportE6PrivateDestinations(t *testing.T) {
	t.Run("save", func(t *testing.T) {
		sys := hookflowtest.Start(t, hookflowtest.Options{Allow: []string{}})
		for _, url := range []string{"http://2130706433:9999/", "http://169.254.169.254/"} {
			status, body := sys.Do("POST", "/v1/campaigns", map[string]any{
				"name": "private", "delivery_type": "api_triggered", "webhook": frPairs(url, "a", "b"),
			})
			if status != http.StatusBadRequest || !bytes.Contains(body, []byte("HOOKFLOW_ALLOW_DESTINATIONS")) {
				t.Errorf("%s: %d %s; want 400 naming HOOKFLOW_ALLOW_DESTINATIONS", url, status, body)
			}
		}
	})

	t.Run("dial", func(t *testing.T) {
		canary := frCanary(t)
		_, port, _ := net.SplitHostPort(canary.Addr())
		sys := hookflowtest.Start(t, hookflowtest.Options{Allow: []string{}})
		id := frAPICampaign(sys, "templated host", frPairs("http://{{custom_attribute.${host}}}/x", "a", "b"))
		hosts := map[string]string{
			"literal": canary.Addr(), "decimal": "2130706433:" + port, "name": "localhost:" + port,
		}
		for u, host := range hosts {
			frUser(sys, u, map[string]any{"host": host})
			frTrigger(sys, id, u)
		}

		for _, d := range sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id}, len(hosts)) {
			d, _ := sys.WaitState(d.ID, hookflow.StateFailed)
			if d.Attempts != 1 || !strings.Contains(d.LastError, "HOOKFLOW_ALLOW_DESTINATIONS") {
				t.Errorf("host %s: %s; want failed after one refused dial naming HOOKFLOW_ALLOW_DESTINATIONS",
					hosts[d.ExternalID], frDescribe(d))
			}
		}
		if n := canary.Connections(); n != 0 {
			t.Errorf("canary got %d connections, want 0", n)
		}
	})
}
