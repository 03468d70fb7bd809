package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// frBodies maps each request's path to its raw body.
func frBodies(rcv *receiver.Receiver) map[string][]byte {
	out := map[string][]byte{}
	for _, r := range rcv.Requests() {
		out[r.Path()] = r.Body
	}
	return out
}

// R1: user values that would break hand-written JSON arrive as exactly
// those values, in the key/value body and through json_escape in a raw
// body; a raw body that is not JSON under a JSON Content-Type fails to
// render and is never sent.
func TestFieldReportR1JSONBreakingValues(t *testing.T) {
	rcv := frReceiver(t, nil)
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	const name, bio = `O"Brien`, "line1\nline2\\end"
	frUser(sys, "u1", map[string]any{"first_name": name, "bio": bio})

	pairs := frAPICampaign(sys, "pairs", frPairs(rcv.URL()+"/pairs",
		"name", "{{${first_name}}}", "bio", "{{custom_attribute.${bio}}}"))
	escaped := frAPICampaign(sys, "escaped", frRaw(rcv.URL()+"/escaped",
		`{"name": "{{${first_name} | json_escape}}", "bio": "{{custom_attribute.${bio} | json_escape}}"}`))
	broken := frAPICampaign(sys, "broken", frRaw(rcv.URL()+"/broken",
		`{"name": "{{${first_name}}}", "bio": "{{custom_attribute.${bio}}}"}`))
	for _, id := range []string{pairs, escaped, broken} {
		frTrigger(sys, id, "u1")
	}

	sys.WaitState(frOnly(t, sys, pairs).ID, hookflow.StateDelivered)
	sys.WaitState(frOnly(t, sys, escaped).ID, hookflow.StateDelivered)
	d, _ := sys.WaitState(frOnly(t, sys, broken).ID, hookflow.StateFailed)

	bodies := frBodies(rcv)
	for _, path := range []string{"/pairs", "/escaped"} {
		var got map[string]string
		if err := json.Unmarshal(bodies[path], &got); err != nil {
			t.Errorf("%s: body %q is not JSON: %v", path, bodies[path], err)
			continue
		}
		if got["name"] != name || got["bio"] != bio {
			t.Errorf("%s: name %q bio %q, want %q and %q", path, got["name"], got["bio"], name, bio)
		}
	}
	if _, sent := bodies["/broken"]; sent || rcv.Count() != 2 {
		t.Errorf("receiver got %d requests (paths %v), want 2 and none to /broken", rcv.Count(), bodies)
	}
	if d.Attempts != 0 || !strings.Contains(d.LastError, "JSON") {
		t.Errorf("broken delivery: attempts %d, last error %q; want 0 attempts and a JSON render error", d.Attempts, d.LastError)
	}
}

// R2, R3: a missing variable renders as nothing; default replaces missing,
// empty, false and empty-array values.
func TestFieldReportR2R3Defaults(t *testing.T) {
	rcv := frReceiver(t, nil)
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	nicks := map[string]any{"empty": "", "false": false, "array": []any{}}
	users := []string{"missing"}
	frUser(sys, "missing", nil)
	for id, nick := range nicks {
		frUser(sys, id, map[string]any{"nick": nick})
		users = append(users, id)
	}

	id := frAPICampaign(sys, "defaults", frPairs(rcv.URL()+"/{{${user_id}}}",
		"plain", "Hi {{${first_name}}},",
		"fallback", "Hi {{${first_name} | default: 'there'}},",
		"nick", "{{custom_attribute.${nick} | default: 'there'}}"))
	frTrigger(sys, id, users...)
	frWaitCount(t, rcv, len(users))

	bodies := frBodies(rcv)
	for _, u := range users {
		var got map[string]string
		if err := json.Unmarshal(bodies["/"+u], &got); err != nil {
			t.Errorf("user %s: body %q: %v", u, bodies["/"+u], err)
			continue
		}
		want := map[string]string{"plain": "Hi ,", "fallback": "Hi there,", "nick": "there"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("user %s: %s = %q, want %q", u, k, got[k], v)
			}
		}
	}
}

// R4: a template that does not parse is refused at save with its line and
// reason, and nothing is stored; one that fails only while rendering fails
// that delivery alone, and the next delivery still goes out.
func TestFieldReportR4MalformedTemplate(t *testing.T) {
	rcv := frReceiver(t, nil)
	sys := hookflowtest.Start(t, hookflowtest.Options{})

	var before, after struct {
		Campaigns []json.RawMessage `json:"campaigns"`
	}
	sys.MustDo(http.StatusOK, "GET", "/v1/campaigns", nil, &before)
	status, body := sys.Do("POST", "/v1/campaigns", map[string]any{
		"name": "bad", "delivery_type": "api_triggered",
		"webhook": frRaw(rcv.URL(), "{% if %}oops{% endif %}"),
	})
	if status != http.StatusBadRequest || !bytes.Contains(body, []byte("line 1")) ||
		!bytes.Contains(body, []byte("webhook.body_raw")) {
		t.Errorf("saving a malformed template: %d %s; want 400 naming webhook.body_raw and line 1", status, body)
	}
	sys.MustDo(http.StatusOK, "GET", "/v1/campaigns", nil, &after)
	if len(after.Campaigns) != len(before.Campaigns) {
		t.Errorf("campaigns: %d before, %d after a refused save", len(before.Campaigns), len(after.Campaigns))
	}

	frUser(sys, "u1", nil)
	failing := frAPICampaign(sys, "divides by zero", frRaw(rcv.URL()+"/zero", "x\n{{ 1 | divided_by: 0 }}"))
	healthy := frAPICampaign(sys, "healthy", frPairs(rcv.URL()+"/ok", "a", "b"))
	frTrigger(sys, failing, "u1")
	d, _ := sys.WaitState(frOnly(t, sys, failing).ID, hookflow.StateFailed)
	frTrigger(sys, healthy, "u1")
	sys.WaitState(frOnly(t, sys, healthy).ID, hookflow.StateDelivered)

	if d.Attempts != 0 || !strings.Contains(d.LastError, "webhook.body_raw") {
		t.Errorf("render failure: attempts %d, last error %q", d.Attempts, d.LastError)
	}
	reqs := rcv.Requests()
	if len(reqs) != 1 || reqs[0].Path() != "/ok" {
		t.Errorf("receiver got %d requests, want only /ok", len(reqs))
	}
}

// R5: plus on a string, a non-number and a missing value gives 4, 1, 1:
// never an empty value that breaks the JSON.
func TestFieldReportR5FilterOnWrongType(t *testing.T) {
	rcv := frReceiver(t, nil)
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	hook := frRaw(rcv.URL()+"/{{${user_id}}}", `{"n": {{event_properties.${qty} | plus: 1}}}`)
	frEventCampaign(sys, "qty", "ordered", hook)

	cases := map[string]struct {
		props map[string]any
		want  string
	}{
		"string":  {map[string]any{"qty": "3"}, `{"n": 4}`},
		"notnum":  {map[string]any{"qty": "abc"}, `{"n": 1}`},
		"missing": {map[string]any{"other": 1}, `{"n": 1}`},
	}
	for u, c := range cases {
		frEvent(sys, u, "ordered", c.props)
	}
	frWaitCount(t, rcv, len(cases))

	bodies := frBodies(rcv)
	for u, c := range cases {
		if got := string(bodies["/"+u]); got != c.want {
			t.Errorf("%s: body %q, want %q", u, got, c.want)
		}
	}
}

// R6: non-ASCII arrives intact and invalid bytes arrive as U+FFFD, so the
// wire holds valid UTF-8 JSON.
func TestFieldReportR6UTF8(t *testing.T) {
	rcv := frReceiver(t, nil)
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	frEventCampaign(sys, "utf8", "signed_up", frPairs(rcv.URL()+"/utf8",
		"name", "{{${first_name}}}", "raw", "{{event_properties.${raw}}}"))

	// Written by hand: a JSON encoder would clean the 0xff byte itself.
	track := "{\"attributes\": [{\"external_id\": \"u1\", \"first_name\": \"Zo\u00eb \U0001F600\"}]," +
		"\"events\": [{\"external_id\": \"u1\", \"name\": \"signed_up\", \"time\": \"" +
		sys.Clock.Now().Format("2006-01-02T15:04:05Z") + "\", \"properties\": {\"raw\": \"\xff\\u0000\"}}]}"
	status, resp := sys.Do("POST", "/users/track", track)
	if status != http.StatusCreated {
		t.Fatalf("track with invalid UTF-8: %d %s", status, resp)
	}
	frWaitCount(t, rcv, 1)

	body := rcv.Requests()[0].Body
	if !utf8.Valid(body) {
		t.Fatalf("body on the wire is not valid UTF-8: %q", body)
	}
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if got["name"] != "Zoë 😀" || got["raw"] != "\uFFFD\x00" {
		t.Errorf("name %q raw %q, want %q and %q", got["name"], got["raw"], "Zoë 😀", "\uFFFD\x00")
	}
}

// R7: a raw body that is JSON only once rendered is accepted at save and
// checked after rendering.
func TestFieldReportR7JSONCheckedAfterRender(t *testing.T) {
	rcv := frReceiver(t, nil)
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	id := frEventCampaign(sys, "count", "counted",
		frRaw(rcv.URL()+"/{{${user_id}}}", `{"count": {{event_properties.${count}}}}`))

	frEvent(sys, "good", "counted", map[string]any{"count": 5})
	frEvent(sys, "bad", "counted", map[string]any{"other": 5})
	ds := sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id}, 2)
	states := map[string]*hookflow.Delivery{}
	for _, d := range ds {
		d = frWaitFor(t, sys, d.ID, "a final state", func(d *hookflow.Delivery) bool { return hookflow.Final(d.State) })
		states[d.ExternalID] = d
	}

	if got := string(frBodies(rcv)["/good"]); got != `{"count": 5}` {
		t.Errorf("good: body %q, want {\"count\": 5}", got)
	}
	if d := states["good"]; d.State != hookflow.StateDelivered {
		t.Errorf("good: %s", frDescribe(d))
	}
	if d := states["bad"]; d.State != hookflow.StateFailed || d.Attempts != 0 || !strings.Contains(d.LastError, "JSON") {
		t.Errorf("bad: %s; want failed at render with a JSON error", frDescribe(d))
	}
	if rcv.Count() != 1 {
		t.Errorf("receiver got %d requests, want 1", rcv.Count())
	}
}

// R8: a CR LF in user data never adds a header: the delivery fails at
// render and is not retried, and nothing is sent.
func TestFieldReportR8HeaderInjection(t *testing.T) {
	rcv := frReceiver(t, nil)
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	hook := frPairs(rcv.URL()+"/r8", "a", "b")
	hook["headers"] = []map[string]string{{"name": "X-User", "value": "{{${first_name}}}"}}
	id := frAPICampaign(sys, "inject", hook)
	frUser(sys, "u1", map[string]any{"first_name": "Ann\r\nX-Injected: 1"})
	frTrigger(sys, id, "u1")

	d, attempts := sys.WaitState(frOnly(t, sys, id).ID, hookflow.StateFailed)
	if d.Attempts != 0 || len(attempts) != 0 || !strings.Contains(d.LastError, "webhook.headers[0].value") {
		t.Errorf("%s, %d attempt rows; want failed at render, 0 attempts, naming the header", frDescribe(d), len(attempts))
	}
	// A value with no Liquid renders as written: one with a line break or
	// another control character is refused when saved.
	for _, v := range []string{"a\r\nX-Injected: 1", "a\nX-Injected: 1", "a\rb", "a\x00b"} {
		literal := frPairs(rcv.URL()+"/r8", "a", "b")
		literal["headers"] = []map[string]string{{"name": "X-User", "value": v}}
		status, body := sys.Do("POST", "/v1/campaigns", map[string]any{
			"name": "literal", "delivery_type": "api_triggered", "webhook": literal})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "webhook.headers[0].value") {
			t.Errorf("campaign with header value %q: %d %s; want 400 naming webhook.headers[0].value", v, status, body)
		}
		status, body = sys.Do("POST", "/messages/send", map[string]any{
			"broadcast": true, "messages": map[string]any{"webhook": map[string]any{
				"url": rcv.URL() + "/r8", "request_method": "POST", "body": "{}",
				"request_headers": map[string]string{"X-User": v}}}})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "X-User") {
			t.Errorf("message with header value %q: %d %s; want 400 naming the header", v, status, body)
		}
	}

	frQuiet()
	if rcv.Count() != 0 {
		t.Errorf("receiver got %d requests, want 0", rcv.Count())
	}
}
