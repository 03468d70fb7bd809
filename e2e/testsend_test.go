package e2e

// Test sends (Braze's "Send Test") and previews end to end: rendered as a
// stored or made-up user, one synchronous attempt for a test send, nothing
// stored, nothing queued. Every helper name starts with "sg".

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/receiver"
	"github.com/hookflow/hookflow/signature"
)

// sgRendered is the answer of a preview or a test send.
type sgRendered struct {
	Outcome string `json:"outcome"`
	Request *struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers []hookflow.Header `json:"headers"`
		Body    string            `json:"body"`
	} `json:"request"`
	AbortReason string `json:"abort_reason"`
	RenderError *struct {
		Part   string `json:"part"`
		Reason string `json:"reason"`
	} `json:"render_error"`
	WebhookID        string            `json:"webhook_id"`
	SignatureHeaders map[string]string `json:"signature_headers"`
	Response         *struct {
		Status          int         `json:"status"`
		ResponseHeaders http.Header `json:"response_headers"`
		ResponseBody    string      `json:"response_body"`
		Error           string      `json:"error"`
		ErrorKind       string      `json:"error_kind"`
		DurationMS      float64     `json:"duration_ms"`
	} `json:"response"`
}

// sgHello is a webhook whose JSON body reads a standard attribute, a
// custom one, an event property and an API trigger property.
func sgHello(url string) map[string]any {
	return frPairs(url,
		"name", "{{${first_name}}}", "plan", "{{custom_attribute.${plan}}}",
		"level", "{{event_properties.${level}}}", "coupon", "{{api_trigger_properties.${coupon}}}",
		"user", "{{${user_id}}}")
}

// sgNoDeliveries fails the test if campaign id has any delivery.
func sgNoDeliveries(t *testing.T, sys *hookflowtest.System, id string) {
	t.Helper()
	if ds := sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id}); len(ds) != 0 {
		t.Errorf("campaign %s has %d deliveries; test sends and previews store none", id, len(ds))
	}
}

// A test send renders as a stored user, makes one attempt at once and
// answers with the request and the response; it stores no delivery.
func TestTestSendStoredUser(t *testing.T) {
	rcv := frReceiver(t, func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Status: 202, Header: http.Header{"X-Seen": {"yes"}}, Body: []byte(`{"ok":true}`)}
	})
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	frUser(sys, "ann", map[string]any{"first_name": "Ann", "plan": "gold"})
	id := frEventCampaign(sys, "hello", "level_up", sgHello(rcv.URL()+"/hello"))

	var out sgRendered
	sys.MustDo(http.StatusOK, "POST", "/v1/campaigns/"+id+"/test", map[string]any{
		"external_id": "ann", "event_properties": map[string]any{"level": 7},
	}, &out)

	wantBody := `{"name":"Ann","plan":"gold","level":"7","coupon":"","user":"ann"}`
	if out.Outcome != "sent" || out.Request == nil || out.Request.Body != wantBody {
		t.Fatalf("test send = %+v; want sent with body %s", out, wantBody)
	}
	if r := out.Response; r == nil || r.Status != 202 || r.ResponseBody != `{"ok":true}` ||
		r.ResponseHeaders.Get("X-Seen") != "yes" || r.Error != "" {
		t.Fatalf("response = %+v; want the receiver's 202, header and body", out.Response)
	}
	if rcv.Count() != 1 {
		t.Fatalf("receiver got %d requests, want 1", rcv.Count())
	}
	got := rcv.Requests()[0]
	if string(got.Body) != wantBody || got.Header.Get("webhook-id") != out.WebhookID || out.WebhookID == "" {
		t.Errorf("received %s with webhook-id %q; want the answer's body and id %q", got.Body, got.Header.Get("webhook-id"), out.WebhookID)
	}
	if got.Header.Get("webhook-signature") != "" || out.SignatureHeaders != nil {
		t.Errorf("unsigned campaign: sent signature %q, answer %v", got.Header.Get("webhook-signature"), out.SignatureHeaders)
	}
	sgNoDeliveries(t, sys, id)

	status, body := sys.Do("POST", "/v1/campaigns/"+id+"/test", map[string]any{"external_id": "nobody"})
	apError(t, status, body, 404, `external_id: no user with external_id or braze_id "nobody"`)
}

// A custom user, not stored, with trigger properties; and a receiver
// failing: the 500 is shown, nothing is retried or stored.
func TestTestSendCustomUserFailure(t *testing.T) {
	rcv := frReceiver(t, receiver.Always(500))
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	id := frAPICampaign(sys, "custom", sgHello(rcv.URL()+"/custom"))

	var out sgRendered
	sys.MustDo(http.StatusOK, "POST", "/v1/campaigns/"+id+"/test", map[string]any{
		"user":               map[string]any{"external_id": "zoe", "attributes": map[string]any{"first_name": "Zoé", "plan": "free"}},
		"trigger_properties": map[string]any{"coupon": "TEN"},
	}, &out)
	wantBody := `{"name":"Zoé","plan":"free","level":"","coupon":"TEN","user":"zoe"}`
	if out.Outcome != "sent" || out.Request == nil || out.Request.Body != wantBody {
		t.Fatalf("test send = %+v; want sent with body %s", out, wantBody)
	}
	if r := out.Response; r == nil || r.Status != 500 || r.ErrorKind != "status" || !strings.Contains(r.Error, "500") {
		t.Fatalf("response = %+v; want the 500 with its error", out.Response)
	}
	if _, err := sys.Store.GetUser(context.Background(), hookflow.UserRef{ExternalID: "zoe"}); err == nil {
		t.Errorf("the custom user was stored")
	}
	sgNoDeliveries(t, sys, id)
	if rcv.Count() != 1 {
		t.Errorf("receiver got %d requests, want 1", rcv.Count())
	}

	status, body := sys.Do("POST", "/v1/campaigns/"+id+"/test", map[string]any{"external_id": "x", "user": map[string]any{}})
	apError(t, status, body, 400, "user: cannot be given with external_id; choose one")
}

// A test send of a signed campaign is signed like a delivery; the answer
// shows the signature headers it carried.
func TestTestSendSigned(t *testing.T) {
	clock := hookflowtest.NewClock(sgT0)
	rcv := frReceiver(t, receiver.Always(200))
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock})
	id, secret := sgSignedCampaign(t, sys, rcv.URL()+"/signed-test", sgS1Body)

	var out sgRendered
	sys.MustDo(http.StatusOK, "POST", "/v1/campaigns/"+id+"/test", nil, &out)
	if rcv.Count() != 1 {
		t.Fatalf("receiver got %d requests, want 1", rcv.Count())
	}
	got := rcv.Requests()[0]
	if string(got.Body) != sgS1Body {
		t.Errorf("body = %q, want %q", got.Body, sgS1Body)
	}
	if err := sgVerify(sgKey(t, secret), got, clock.Now()); err != nil {
		t.Errorf("test send signature: %v", err)
	}
	for _, h := range []string{signature.HeaderTimestamp, signature.HeaderSignature} {
		if out.SignatureHeaders[h] == "" || out.SignatureHeaders[h] != got.Header.Get(h) {
			t.Errorf("answer's %s = %q, sent %q", h, out.SignatureHeaders[h], got.Header.Get(h))
		}
	}
	if strings.Contains(apJSON(out), strings.TrimPrefix(secret, "whsec_")) {
		t.Errorf("the answer shows the secret")
	}
}

// The destination guard applies to test sends: a private address the
// system does not allow is refused at dial, and nothing is sent.
func TestTestSendGuarded(t *testing.T) {
	canary := frCanary(t)
	sys := hookflowtest.Start(t, hookflowtest.Options{Allow: []string{"192.0.2.0/24"}})
	frUser(sys, "u1", nil)
	// A templated URL passes the save-time check; the dial guard refuses it.
	url := "http://{{custom_attribute.${host} | default: '" + canary.Addr() + "'}}/guarded"
	id := frAPICampaign(sys, "guarded", frPairs(url, "a", "b"))

	var out sgRendered
	sys.MustDo(http.StatusOK, "POST", "/v1/campaigns/"+id+"/test", map[string]any{"external_id": "u1"}, &out)
	if out.Response == nil || out.Response.Status != 0 || out.Response.ErrorKind != "refused" {
		t.Fatalf("response = %+v; want refused by the destination guard", out.Response)
	}
	if n := canary.Connections(); n != 0 {
		t.Errorf("canary saw %d connections, want 0", n)
	}
}

// Previews render only: as a stored or custom user, showing an abort or a
// render failure with its part; /v1/preview takes a webhook not yet saved.
// Nothing is sent or stored.
func TestPreview(t *testing.T) {
	rcv := frReceiver(t, receiver.Always(200))
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	frUser(sys, "ann", map[string]any{"first_name": "Ann", "plan": "gold"})
	id := frAPICampaign(sys, "preview", sgHello(rcv.URL()+"/p"))

	var out sgRendered
	sys.MustDo(http.StatusOK, "POST", "/v1/campaigns/"+id+"/preview", map[string]any{"external_id": "ann"}, &out)
	if out.Outcome != "rendered" || out.Request == nil || out.Request.Method != "POST" || out.Request.URL != rcv.URL()+"/p" ||
		out.Request.Body != `{"name":"Ann","plan":"gold","level":"","coupon":"","user":"ann"}` {
		t.Fatalf("campaign preview = %+v", out)
	}
	if out.Response != nil || out.WebhookID != "" {
		t.Errorf("a preview made an attempt: %+v", out)
	}

	abort := map[string]any{"method": "POST", "url": rcv.URL() + "/a", "body_type": "raw",
		"body_raw": "{% if custom_attribute.${plan} == 'free' %}{% abort_message('free plan') %}{% endif %}hi"}
	notJSON := frRaw(rcv.URL()+"/b", "{{${first_name}}}")
	for _, tt := range []struct {
		name    string
		body    map[string]any
		outcome string
		detail  string
	}{
		{"abort", map[string]any{"webhook": abort, "user": map[string]any{"attributes": map[string]any{"plan": "free"}}}, "aborted", "free plan"},
		{"no abort", map[string]any{"webhook": abort, "user": map[string]any{"attributes": map[string]any{"plan": "gold"}}}, "rendered", "hi"},
		{"render error", map[string]any{"webhook": notJSON, "external_id": "ann"}, "render_failed", "webhook.body_raw"},
		{"no user", map[string]any{"webhook": notJSON}, "render_failed", "webhook.body_raw"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out sgRendered
			sys.MustDo(http.StatusOK, "POST", "/v1/preview", tt.body, &out)
			var detail string
			switch {
			case out.AbortReason != "":
				detail = out.AbortReason
			case out.RenderError != nil:
				detail = out.RenderError.Part
			case out.Request != nil:
				detail = out.Request.Body
			}
			if out.Outcome != tt.outcome || detail != tt.detail {
				t.Errorf("preview = %s; want %s with %q", apJSON(out), tt.outcome, tt.detail)
			}
		})
	}

	status, body := sys.Do("POST", "/v1/preview", map[string]any{"webhook": map[string]any{"method": "PATCH", "url": "http://x"}})
	apError(t, status, body, 400, `webhook.method: must be POST, GET, PUT or DELETE, not "PATCH"`)
	if rcv.Count() != 0 {
		t.Errorf("previews sent %d requests", rcv.Count())
	}
	sgNoDeliveries(t, sys, id)
}

// Previews need hookflow.campaigns.read; test sends, which reach the
// receiver, need hookflow.campaigns.write.
func TestPreviewAndTestSendScopes(t *testing.T) {
	rcv := frReceiver(t, receiver.Always(200))
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	id := frAPICampaign(sys, "scopes", frPairs(rcv.URL()+"/s", "a", "b"))
	key, secret := api.NewKey("reader", []string{hookflow.ScopeCampaignsRead}, time.Now())
	if err := sys.Store.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if status, body := sys.DoKey(secret, "POST", "/v1/campaigns/"+id+"/preview", "{}"); status != 200 {
		t.Errorf("preview with a read key: %d %s", status, body)
	}
	status, body := sys.DoKey(secret, "POST", "/v1/campaigns/"+id+"/test", "{}")
	apError(t, status, body, 403, `API key "reader" lacks the hookflow.campaigns.write permission`)
	if rcv.Count() != 0 {
		t.Errorf("receiver got %d requests, want 0", rcv.Count())
	}
}

// H1: failed test sends never change an endpoint's health. With a breaker
// that pauses a host after three failures, five failed test sends leave it
// closed with no failure counted, and a real delivery then goes out at once.
// H1: failed test sends never change the host's health. They fail with 503
// and a Retry-After, which for real deliveries would both count towards
// the breaker and slow the host; five of them against a threshold of two
// leave the host closed, with nothing counted and no slowing, and the
// next real delivery goes out at once.
func TestTestSendH1NeverChangesHealth(t *testing.T) {
	clock := hookflowtest.NewClock(sgT0)
	gate := hostgate.New(clock, hostgate.Options{FailureThreshold: 2})
	rcv := frReceiver(t, func(_ *receiver.Request, n int) receiver.Response {
		if n <= 5 {
			return receiver.Response{Status: http.StatusServiceUnavailable, Header: http.Header{
				"Retry-After": {"600"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"600"},
			}}
		}
		return receiver.Response{Status: http.StatusOK}
	})
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock, Gate: gate})
	frUser(sys, "u1", nil)
	id := frAPICampaign(sys, "h1", frPairs(rcv.URL()+"/h1", "a", "b"))

	for i := range 5 {
		var out sgRendered
		sys.MustDo(http.StatusOK, "POST", "/v1/campaigns/"+id+"/test", map[string]any{"external_id": "u1"}, &out)
		if out.Response == nil || out.Response.Status != http.StatusServiceUnavailable {
			t.Fatalf("test send %d: response %+v, want the 503", i+1, out.Response)
		}
	}
	host := strings.TrimPrefix(rcv.URL(), "http://")
	st := gate.State(host)
	if st.State != hostgate.StateClosed || st.Failures != 0 || st.Trips != 0 || st.SlowedUntil.After(clock.Now()) {
		t.Fatalf("after five failed test sends the host is %+v; want closed, no failures, not slowed", st)
	}

	frTrigger(sys, id, "u1")
	d, attempts := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateDelivered)
	if d.Attempts != 1 || attempts[0].Status != http.StatusOK || !attempts[0].StartedAt.Equal(sgT0) {
		t.Errorf("the real delivery: %d attempts, first %+v; want one 200 at %s, not held or slowed",
			d.Attempts, attempts[0], sgT0)
	}
}
