package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
)

func TestAPIMessagesSend(t *testing.T) {
	e := apStart(t)
	e.sys.Track(`{"attributes":[{"external_id":"u1","first_name":"Ana"},{"external_id":"u2","first_name":"Bo","tier":"gold"},
		{"user_alias":{"alias_name":"a1","alias_label":"crm"},"first_name":"Al"}]}`)

	tests := []struct {
		name    string
		webhook map[string]any
		users   map[string]any
		// want is one "METHOD path content-type body" line per request,
		// sorted.
		want string
	}{
		{"string body",
			map[string]any{"url": e.rcv.URL() + "/s/{{${user_id}}}", "request_method": "POST",
				"request_headers": map[string]any{"X-Name": "{{${first_name}}}", "Content-Type": "text/plain"},
				"body":            "hi {{${first_name}}}"},
			map[string]any{"external_user_ids": []any{"u1", "u2", "u1"}},
			"POST /s/u1 text/plain Ana hi Ana\nPOST /s/u2 text/plain Bo hi Bo"},
		{"object body",
			map[string]any{"url": e.rcv.URL() + "/o", "request_method": "PUT",
				"body": json.RawMessage(`{"name": "{{${first_name}}}", "n": 1}`)},
			map[string]any{"user_aliases": []any{map[string]any{"alias_name": "a1", "alias_label": "crm"}}},
			`PUT /o application/json  {"name":"Al","n":1}`}, // key order kept
		{"GET without body",
			map[string]any{"url": e.rcv.URL() + "/g?u={{${user_id}}}", "request_method": "GET"},
			map[string]any{"external_user_ids": []any{"u2"}, "user_aliases": []any{map[string]any{"alias_name": "a1", "alias_label": "crm"}}},
			"GET /g?u=   \nGET /g?u=u2   "},
		{"broadcast",
			map[string]any{"url": e.rcv.URL() + "/b", "request_method": "POST",
				"request_headers": map[string]any{"Content-Type": "text/plain"}, "body": "{{${first_name}}}"},
			map[string]any{"broadcast": true},
			"POST /b text/plain  Al\nPOST /b text/plain  Ana\nPOST /b text/plain  Bo"},
		{"audience",
			map[string]any{"url": e.rcv.URL() + "/a", "request_method": "POST",
				"request_headers": map[string]any{"Content-Type": "text/plain"}, "body": "{{${first_name}}}"},
			map[string]any{"audience": map[string]any{"custom_attribute": map[string]any{
				"custom_attribute_name": "tier", "comparison": "equals", "value": "gold"}}},
			"POST /a text/plain  Bo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := e.rcv.Count()
			body := map[string]any{"messages": map[string]any{"webhook": tt.webhook}}
			for k, v := range tt.users {
				body[k] = v
			}
			var out apSent
			e.sys.MustDo(201, "POST", "/messages/send", body, &out)
			ds := e.sys.Deliveries(hookflow.DeliveryFilter{DispatchID: out.DispatchID})
			for _, d := range ds {
				if d.Origin != hookflow.OriginAPIMessage || d.CampaignID != "" {
					t.Errorf("delivery %+v", d)
				}
			}
			e.apDeliver(ds)
			var lines []string
			for _, r := range e.rcv.Requests()[start:] {
				lines = append(lines, fmt.Sprintf("%s %s %s %s %s", r.Method, r.RawPath,
					r.Header.Get("Content-Type"), r.Header.Get("X-Name"), r.Body))
			}
			if got := strings.Join(apSorted(lines), "\n"); got != tt.want {
				t.Errorf("requests:\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestAPIMessagesSendErrors(t *testing.T) {
	e := apStart(t)
	e.sys.Track(`{"attributes":[{"external_id":"u1"}]}`)
	before := e.apSnapshot()
	hook := func(kv ...any) map[string]any {
		w := map[string]any{"url": e.rcv.URL() + "/x", "request_method": "POST", "body": "b"}
		for i := 0; i+1 < len(kv); i += 2 {
			w[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"external_user_ids": []any{"u1"}, "messages": map[string]any{"webhook": w}}
	}
	var many []any
	for i := range 51 {
		many = append(many, fmt.Sprint("u", i))
	}
	manyBody := hook()
	manyBody["external_user_ids"] = many
	// users replaces the recipients of a valid request.
	users := func(kv ...any) map[string]any {
		b := hook()
		delete(b, "external_user_ids")
		for i := 0; i+1 < len(kv); i += 2 {
			b[kv[i].(string)] = kv[i+1]
		}
		return b
	}

	tests := []struct {
		name    string
		body    any
		message string
	}{
		{"email only", map[string]any{"external_user_ids": []any{"u1"},
			"messages": map[string]any{"email": map[string]any{"subject": "x"}}},
			"messages.email: is not supported: Hookflow sends webhooks only"},
		{"no messages", map[string]any{"external_user_ids": []any{"u1"}},
			"messages.webhook: is required: Hookflow sends webhooks only (email, push and SMS messages are not supported)"},
		{"bad method", hook("request_method", "PATCH"),
			`messages.webhook.request_method: must be POST, GET, PUT or DELETE, not "PATCH"`},
		{"no method", hook("request_method", ""),
			"messages.webhook.request_method: is required (POST, GET, PUT or DELETE)"},
		{"no url", hook("url", ""), "messages.webhook.url: is required"},
		{"bad url", hook("url", "ftp://example.com/x"),
			`messages.webhook.url: must be an absolute http or https URL, not "ftp://example.com/x"`},
		{"relative url", hook("url", "/just/a/path"),
			`messages.webhook.url: must be an absolute http or https URL, not "/just/a/path"`},
		{"body array", hook("body", []any{1}), "messages.webhook.body: must be a string or a JSON object"},
		{"template error", hook("body", "{% if %}"),
			`messages.webhook.body: line 1: unterminated "if" block in {% if %}`},
		{"header template error", hook("request_headers", map[string]any{"A": "ok", "X-Bad": "{{ x | }}"}),
			`messages.webhook.request_headers["X-Bad"]: line 1: syntax error in "x |" in {{ x |}}`},
		{"no users", users(),
			"external_user_ids: or user_aliases are required unless broadcast is true or an audience is given"},
		{"broadcast and users", users("broadcast", true, "external_user_ids", []any{"u1"}),
			"broadcast: cannot be true when external_user_ids or user_aliases are given"},
		{"empty external id", users("external_user_ids", []any{"u1", ""}),
			"external_user_ids[1]: must be a non-empty external id"},
		{"alias without label", users("external_user_ids", []any{"u1"},
			"user_aliases", []any{map[string]any{"alias_name": "a"}}),
			"user_aliases[0]: needs both alias_name and alias_label"},
		{"ids not an array", users("external_user_ids", "u1"),
			"external_user_ids: expected array of strings, got JSON string"},
		{"51 users", manyBody,
			"external_user_ids: and user_aliases name 51 users; at most 50 are allowed per request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.sys.Do("POST", "/messages/send", tt.body)
			apError(t, status, body, 400, tt.message)
			if after := e.apSnapshot(); after != before {
				t.Errorf("store changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func TestAPIMessagesSendPrivateDestination(t *testing.T) {
	e := apStartWith(t, hookflowtest.Options{Allow: []string{}})
	e.sys.Track(`{"attributes":[{"external_id":"u1"}]}`)
	const hint = "; Hookflow refuses non-public destinations unless allow-listed: add it to HOOKFLOW_ALLOW_DESTINATIONS (e.g. %s) or --allow-destinations"
	tests := []struct{ url, reason, example string }{
		{"http://127.0.0.1:8080/x", "destination 127.0.0.1 is a loopback address", "127.0.0.0/8"},
		{"http://10.1.2.3/x", "destination 10.1.2.3 is a private address", "10.1.2.3/32"},
		{"http://[::1]/x", "destination ::1 is a loopback address", "::1/128"},
		{"http://169.254.169.254/latest", "destination 169.254.169.254 is the cloud metadata address (link-local)", "169.254.169.254/32"},
	}
	for _, tt := range tests {
		status, body := e.sys.Do("POST", "/messages/send", map[string]any{
			"external_user_ids": []any{"u1"},
			"messages":          map[string]any{"webhook": map[string]any{"url": tt.url, "request_method": "POST"}},
		})
		apError(t, status, body, 400, "messages.webhook.url: "+tt.reason+fmt.Sprintf(hint, tt.example))
	}
	// A campaign is checked the same way when saved.
	status, body := e.sys.Do("POST", "/v1/campaigns", map[string]any{
		"name": "c", "delivery_type": "api_triggered",
		"webhook": map[string]any{"method": "POST", "url": "http://192.168.1.1/hook", "body_type": "none"},
	})
	apError(t, status, body, 400, "webhook.url: destination 192.168.1.1 is a private address"+fmt.Sprintf(hint, "192.168.1.1/32"))
	if n := len(e.sys.Deliveries(hookflow.DeliveryFilter{})); n != 0 {
		t.Errorf("%d deliveries", n)
	}
}
