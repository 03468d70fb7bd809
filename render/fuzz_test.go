package render

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
)

// FuzzRender compiles a template taken as a header value and a JSON body
// value, then renders it for a user whose attribute "fz" holds a fuzzed
// string. Whatever the input: no panic inside the engine (Render turns one
// into an "internal error", which counts as a bug here), a JSON key/value
// body is always valid JSON (R1), and no header value carries a line break
// (R8). `go test -fuzz FuzzRender ./render` explores beyond the seeds.
func FuzzRender(f *testing.F) {
	for _, seed := range [][2]string{
		{`{{${first_name} | default: 'there'}}`, `O"Brien`},
		{`{{custom_attribute.${fz}}}`, "line1\nline2\\end"},
		{`{{custom_attribute.${fz} | json_escape}}`, "\r\nX-Injected: 1"},
		{`{{event_properties.${qty} | plus: 1}}`, "abc"},
		{`{% if custom_attribute.${fz} %}{{custom_attribute.${fz} | md5}}{% endif %}`, "Zoë 😀"},
		{`{% abort_message('no') %}`, ""},
		{`{{ 'now' | date: '%s' }}{{custom_attribute.${fz} | url_param_escape}}`, "a&b"},
		{`{% for t in custom_attribute.${tags} %}{{t}}{% endfor %}`, "\xff\x00"},
		{`{{custom_attribute.${fz} | split: "" | join: "," | truncate: 3}}`, "abcdef"},
	} {
		f.Add(seed[0], seed[1])
	}
	engine := NewEngine()
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		w := hookflow.Webhook{Method: "POST", URL: "https://example.com/hook",
			Headers:  []hookflow.Header{{Name: "X-Fuzz", Value: tmpl}},
			BodyType: hookflow.BodyJSON, BodyPairs: []hookflow.KeyValue{{Key: "v", Value: tmpl}}}
		tpl, err := engine.Compile(w)
		if err != nil {
			return // refused when saved, with a reason: fine
		}
		d := testData()
		d.User.Attributes["fz"] = value
		req, err := tpl.Render(d)
		var rerr *Error
		if errors.As(err, &rerr) && strings.Contains(rerr.Reason, "internal error") {
			t.Fatalf("template %q with %q panicked: %v", tmpl, value, err)
		}
		if err != nil {
			return
		}
		for _, h := range req.Headers {
			if strings.ContainsAny(h.Value, "\r\n") {
				t.Fatalf("header %s = %q holds a line break", h.Name, h.Value)
			}
		}
		var body map[string]string
		if err := json.Unmarshal(req.Body, &body); err != nil {
			t.Fatalf("body %q is not a JSON object of strings: %v", req.Body, err)
		}
	})
}
