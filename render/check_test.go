package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
)

func TestCheckAccepts(t *testing.T) {
	tests := map[string]hookflow.Webhook{
		// R7: JSON only once rendered.
		"R7 raw body JSON after rendering": rawWebhook(`{"count": {{event_properties.${count}}}}`,
			hookflow.Header{Name: "Content-Type", Value: "application/json"}),
		"liquid in the URL": {Method: "GET", URL: "{{custom_attribute.${base}}}/u/{{${user_id}}}", BodyType: "none"},
		"empty JSON grid":   {Method: "POST", URL: "https://example.com", BodyType: "json"},
		"lower-case method": {Method: "delete", URL: "http://example.com:8080/x", BodyType: "none"},
		"body type inferred from the fields": {Method: "POST", URL: "https://example.com",
			BodyPairs: []hookflow.KeyValue{{Key: "a", Value: "{{${first_name}}}"}}},
		"abort_message forms":                 rawWebhook("{% abort_message('a') %}{% abort_message(\"b\") %}{% abort_message() %}{% abort_message %}"),
		"names with spaces":                   rawWebhook("{{custom_attribute.${Favorite Color}}}{{custom_attribute.${it's}}}"),
		"multi-line output":                   rawWebhook("{{ ${first_name}\n | default: 'x' }}"),
		"pipes outside Liquid and in strings": rawWebhook("a | b {{ 'x | nope' | append: \"| no\" }}"),
		"every Braze filter":                  rawWebhook("{{ 1 | plus: 1 | md5 | sha2 | json_escape | url_param_escape | upcase }}"),
	}
	for name, w := range tests {
		if err := Check(w); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckRejects(t *testing.T) {
	ok := func(edit func(*hookflow.Webhook)) hookflow.Webhook {
		w := hookflow.Webhook{Method: "POST", URL: "https://example.com/hook", BodyType: hookflow.BodyJSON,
			Headers:   []hookflow.Header{{Name: "Authorization", Value: "Bearer x"}, {Name: "X-User", Value: "{{${user_id}}}"}},
			BodyPairs: []hookflow.KeyValue{{Key: "a", Value: "{{${first_name}}}"}, {Key: "b", Value: "x"}}}
		edit(&w)
		return w
	}
	tests := []struct {
		name   string
		w      hookflow.Webhook
		field  string
		reason string // a substring of the reason
	}{
		{"R4 bad if in the raw body", rawWebhook("{% if %}oops{% endif %}"), "webhook.body_raw", "line 1: "},
		{"unknown filter in output", rawWebhook("{{ ${first_name} | upcas }}"), "webhook.body_raw", `line 1: unknown filter "upcas"`},
		{"unknown filter in a tag", rawWebhook("{% assign x = 1 | plus: 1 | nope %}"), "webhook.body_raw", `line 1: unknown filter "nope"`},
		{"unknown filter on a later line", rawWebhook("{{ 'a\nb|c' | upcase }}\n{{ x |\n nope }}"), "webhook.body_raw",
			`line 4: unknown filter "nope"`},
		{"stray end tag", rawWebhook("a\n{% endif %}"), "webhook.body_raw",
			"line 2: endif without a matching opening tag in {% endif %}"},
		{"crossed end tag", rawWebhook("{% for x in y %}{% endif %}"), "webhook.body_raw",
			"line 1: endif does not close the open {% for %} in {% endif %}"},
		{"R4 error on a later line", rawWebhook("{\n  \"a\": 1,\n  \"b\": {% if %}x{% endif %}\n}"), "webhook.body_raw", "line 3: "},
		{"unclosed tag", rawWebhook("a\n{% if x %}b"), "webhook.body_raw", "line 2: "},
		{"integer beyond int64 (found by FuzzRender)", rawWebhook("a\n{% if 10000000000000000000 %}{% endif %}"),
			"webhook.body_raw", "line 2: number 10000000000000000000 is out of range"},
		{"integer beyond int64 in output", rawWebhook("{{ 99999999999999999999 }}"),
			"webhook.body_raw", "line 1: number 99999999999999999999 is out of range"},
		{"unclosed output", rawWebhook("a\nb\n{{ x"), "webhook.body_raw", "line 3: "},
		{"bad multi-line output", rawWebhook("a\n{{ x |\n | y }}"), "webhook.body_raw", "line 2: "},
		{"bad header template", ok(func(w *hookflow.Webhook) { w.Headers[1].Value = "{{ a | }}" }), "webhook.headers[1].value", "line 1: "},
		{"bad pair template", ok(func(w *hookflow.Webhook) { w.BodyPairs[0].Value = "{% for %}" }), "webhook.body_pairs[0].value", "line 1: "},
		{"bad URL template", ok(func(w *hookflow.Webhook) { w.URL = "https://x/{% endif %}" }), "webhook.url", "line 1: "},
		{"method", ok(func(w *hookflow.Webhook) { w.Method = "PATCH" }), "webhook.method", "PATCH"},
		{"no URL", ok(func(w *hookflow.Webhook) { w.URL = " " }), "webhook.url", "required"},
		{"relative URL", ok(func(w *hookflow.Webhook) { w.URL = "/hook" }), "webhook.url", "absolute"},
		{"ftp URL", ok(func(w *hookflow.Webhook) { w.URL = "ftp://example.com/" }), "webhook.url", "absolute"},
		{"URL without host", ok(func(w *hookflow.Webhook) { w.URL = "https:///x" }), "webhook.url", "host"},
		{"header name", ok(func(w *hookflow.Webhook) { w.Headers[0].Name = "Bad Name" }), "webhook.headers[0].name", "Bad Name"},
		{"empty header name", ok(func(w *hookflow.Webhook) { w.Headers[1].Name = "" }), "webhook.headers[1].name", "not a valid"},
		{"empty key", ok(func(w *hookflow.Webhook) { w.BodyPairs[1].Key = "" }), "webhook.body_pairs[1].key", "required"},
		{"duplicate key", ok(func(w *hookflow.Webhook) { w.BodyPairs[1].Key = "a" }), "webhook.body_pairs[1].key", "repeats"},
		{"json with raw", ok(func(w *hookflow.Webhook) { w.BodyRaw = "x" }), "webhook.body_raw", "json"},
		{"raw without body", ok(func(w *hookflow.Webhook) { w.BodyType = "raw"; w.BodyPairs = nil }), "webhook.body_raw", "required"},
		{"raw with pairs", ok(func(w *hookflow.Webhook) { w.BodyType = "raw"; w.BodyRaw = "x" }), "webhook.body_pairs", "raw"},
		{"none with pairs", ok(func(w *hookflow.Webhook) { w.BodyType = "none" }), "webhook.body_type", "none"},
		{"unknown body type", ok(func(w *hookflow.Webhook) { w.BodyType = "xml" }), "webhook.body_type", "xml"},
		{"connected_content", rawWebhook("a\n{% connected_content https://x.io :save r %}"), "webhook.body_raw",
			"line 2: connected_content is not supported yet"},
		{"include", rawWebhook("{% include 'x' %}"), "webhook.body_raw", "include is not supported"},
		{"abort_message without parentheses", rawWebhook("{% abort_message 'x' %}"), "webhook.body_raw", "abort_message"},
		{"empty ${}", rawWebhook("{{ ${} }}"), "webhook.body_raw", "empty name"},
		{"unclosed ${", rawWebhook("{{ ${first_name }}"), "webhook.body_raw", "line 1: "},
	}
	for _, tt := range tests {
		err := Check(tt.w)
		var verr *hookflow.ValidationError
		if !errors.As(err, &verr) || verr.Field != tt.field || !strings.Contains(verr.Reason, tt.reason) {
			t.Errorf("%s: got %v; want field %s with %q", tt.name, err, tt.field, tt.reason)
		}
	}
}

// A Check reason names the problem, not the rewriting Hookflow does
// before handing the template to osteele/liquid.
func TestCheckReasonShowsTheAuthorsSyntax(t *testing.T) {
	err := Check(rawWebhook("{{ ${first_name} | }}"))
	if err == nil || strings.Contains(err.Error(), rootName) || strings.Contains(err.Error(), showFilter) {
		t.Fatalf("got %v", err)
	}
}

func TestLiteral(t *testing.T) {
	tests := map[string]bool{
		"":                             true,
		"https://crm.example/v1/users": true,
		`{"a": 1}`:                     true,
		"ends with {":                  true,
		"{{${user_id}}}":               false,
		"a {% if x %}b{% endif %}":     false,
		"https://h/{{":                 false,
	}
	for s, want := range tests {
		if got := Literal(s); got != want {
			t.Errorf("Literal(%q) = %v, want %v", s, got, want)
		}
	}
}
