package render

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow"
)

// fixedClock is a clock that always says the same time.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

var testNow = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) // Unix 1704164645

// testData is a profile and payload that the table tests read from.
func testData() Data {
	return Data{
		User: &hookflow.User{
			ID:         "65a1b2c3d4e5f60718293a4b",
			ExternalID: "user-42",
			Attributes: map[string]any{
				"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com",
				"phone": "+15551234567", "home_city": "Paris", "country": "FR",
				"language": "fr", "gender": "F", "dob": "1990-05-17",
				"time_zone": "Europe/Paris",
				"plan":      "pro", "Favorite Color": "teal", "visits": 12.0,
				"score": 2.5, "vip": true, "tags": []any{"a", "b"},
				"address": map[string]any{"city": "Lyon", "zip": "69001"},
				"empty_s": "", "no": false, "none": []any{}, "nohash": map[string]any{},
				"big": 1234567.0, "signup": "2024-01-02T03:04:05Z",
			},
		},
		Payload: hookflow.Payload{
			Event: &hookflow.EventPayload{Name: "level_up", Properties: map[string]any{
				"level": 7.0, "qty": "3", "bad": "abc",
				"item": map[string]any{"name": "sword", "stats": []any{map[string]any{"atk": 9.0}}},
			}},
			TriggerProperties: map[string]any{"coupon": "SAVE10"},
			Context:           map[string]any{"step": "welcome"},
		},
		Campaign: Campaign{APIID: "camp-1", Name: "Spring", DispatchID: "disp-9", MessageName: "Webhook 1"},
		SendID:   "send-3",
	}
}

// renderRaw renders src as a raw body with no Content-Type and returns it.
func renderRaw(t *testing.T, src string, d Data) (string, error) {
	t.Helper()
	tpl, err := NewEngineWithClock(fixedClock(testNow)).Compile(rawWebhook(src))
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	req, err := tpl.Render(d)
	if err != nil {
		return "", err
	}
	return string(req.Body), nil
}

func rawWebhook(src string, headers ...hookflow.Header) hookflow.Webhook {
	return hookflow.Webhook{Method: "POST", URL: "https://example.com/hook",
		Headers: headers, BodyType: hookflow.BodyRaw, BodyRaw: src}
}

func TestRenderReadsTheDialect(t *testing.T) {
	tests := []struct{ src, want string }{
		{"{{${first_name}}}", "Ann"},
		{"{{${last_name}}}", "Lee"},
		{"{{${user_id}}}", "user-42"},
		{"{{${braze_id}}}", "65a1b2c3d4e5f60718293a4b"},
		{"{{${email_address}}}", "ann@example.com"},
		{"{{${phone_number}}}", "+15551234567"},
		{"{{${city}}}", "Paris"},
		{"{{${country}}}/{{${language}}}/{{${gender}}}", "FR/fr/F"},
		{"{{${date_of_birth}}}", "1990-05-17"},
		{"{{${time_zone}}}", "Europe/Paris"},
		{"{{ ${first_name} }}", "Ann"},
		{"{{custom_attribute.${plan}}}", "pro"},
		{"{{custom_attribute.${Favorite Color}}}", "teal"},
		{"{{custom_attribute.${first_name}}}", "Ann"},
		{"{{custom_attribute.${address}.city}}", "Lyon"},
		{"{{custom_attribute.${address}['zip']}}", "69001"},
		{"{{event_properties.${level}}}", "7"},
		{"{{event_properties.${item}.name}}", "sword"},
		{"{{event_properties.${item}.stats[0].atk}}", "9"},
		{"{{api_trigger_properties.${coupon}}}", "SAVE10"},
		{"{{context.${step}}}", "welcome"},
		{"{{campaign.${api_id}}} {{campaign.${dispatch_id}}}", "camp-1 disp-9"},
		{"{{campaign.${name}}} / {{campaign.${message_name}}}", "Spring / Webhook 1"},
		{"{{campaign.${send_id}}}", "send-3"},
		{"{{${email}}} {{${home_city}}}", "ann@example.com Paris"},
		{"{% if custom_attribute.${plan} == 'pro' %}yes{% else %}no{% endif %}", "yes"},
		{"{{ event_properties.${qty} | plus: 1 }}", "4"},
		{"{% assign x = ${first_name} %}{{ x | upcase }}", "ANN"},
		{"{% assign x = custom_attribute.${Favorite Color} %}{{ x }}", "teal"},
		{"{% for t in custom_attribute.${tags} %}[{{t}}]{% endfor %}", "[a][b]"},
		{"{% if ${first_name} contains 'An' %}hit{% endif %}", "hit"},
		{"{{ '${first_name}' }}", "${first_name}"},
		{"{% raw %}{{${first_name}}}{% endraw %}", "{{${first_name}}}"},
		{"{{ nosuch.thing }}|{{ custom_attribute.${nope} }}", "|"},
		{"a {{- ${first_name} -}} b", "aAnnb"},
		{"{{ }}", ""},
		{"<{{ ${first_name}\n | append: '!'\n | upcase -}}\n>", "<ANN!>"},
		{"{%- if ${first_name}\n == 'Ann' -%}\n yes {% endif %}", "yes "},
	}
	for _, tt := range tests {
		got, err := renderRaw(t, tt.src, testData())
		if err != nil || got != tt.want {
			t.Errorf("%s\n got %q, %v\nwant %q", tt.src, got, err, tt.want)
		}
	}
}

func TestRandomBucketIsStable(t *testing.T) {
	d := testData()
	want := RandomBucket(d.User.ID)
	if want < 0 || want > 9999 {
		t.Fatalf("bucket %d out of range", want)
	}
	if RandomBucket(d.User.ID) != want {
		t.Fatal("bucket changed between calls")
	}
	if RandomBucket("another-user") == want && RandomBucket("a third") == want {
		t.Fatal("bucket does not depend on the id")
	}
	got, err := renderRaw(t, "{{${random_bucket_number}}}", d)
	if err != nil || got != fmtInt(want) {
		t.Fatalf("got %q, %v; want %d", got, err, want)
	}
}

func fmtInt(i int64) string { return toS(i) }

// R2, R3: missing values print as nothing; default replaces blank ones.
func TestMissingAndDefault(t *testing.T) {
	noName := testData()
	delete(noName.User.Attributes, "first_name")
	tests := []struct {
		name, src string
		d         Data
		want      string
	}{
		{"R2 missing first name", "Hi {{${first_name}}},", noName, "Hi ,"},
		{"R2 default", "Hi {{${first_name} | default: 'there'}},", noName, "Hi there,"},
		{"R2 default not used", "Hi {{${first_name} | default: 'there'}},", testData(), "Hi Ann,"},
		{"R3 empty string", "{{custom_attribute.${empty_s} | default: 'there'}}", testData(), "there"},
		{"R3 missing", "{{custom_attribute.${nick} | default: 'there'}}", testData(), "there"},
		{"R3 false", "{{custom_attribute.${no} | default: 'there'}}", testData(), "there"},
		{"R3 empty array", "{{custom_attribute.${none} | default: 'there'}}", testData(), "there"},
		{"R3 empty hash", "{{custom_attribute.${nohash} | default: 'there'}}", testData(), "there"},
		{"zero is not blank", "{{ 0 | default: 'there'}}", testData(), "0"},
		{"no user at all", "[{{${first_name}}}{{custom_attribute.${plan}}}{{${user_id}}}]", Data{}, "[]"},
	}
	for _, tt := range tests {
		got, err := renderRaw(t, tt.src, tt.d)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// R5: numeric filters coerce like Ruby Liquid, so the JSON stays valid.
func TestNumericFiltersCoerce(t *testing.T) {
	src := `{"n": {{event_properties.${qty} | plus: 1}}}`
	ctype := hookflow.Header{Name: "Content-Type", Value: "application/json"}
	tpl, err := NewEngine().Compile(rawWebhook(src, ctype))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		qty  any
		want string
	}{{"3", `{"n": 4}`}, {"abc", `{"n": 1}`}, {nil, `{"n": 1}`}, {2.5, `{"n": 3.5}`}, {"1.5", `{"n": 2.5}`}} {
		d := testData()
		d.Payload.Event.Properties = map[string]any{}
		if tt.qty != nil {
			d.Payload.Event.Properties["qty"] = tt.qty
		}
		req, err := tpl.Render(d)
		if err != nil || string(req.Body) != tt.want {
			t.Errorf("qty %#v: got %v; want %s", tt.qty, describe(req, err), tt.want)
		}
	}
}

func describe(req *hookflow.Request, err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	return string(req.Body)
}

func TestFilters(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{{ 'O"Brien\' | json_escape }}`, `O\"Brien\\`},
		{"{{ custom_attribute.${address} | as_json_string }}", `{"city":"Lyon","zip":"69001"}`},
		{"{{ '<a&b>' | as_json_string }}", `"<a&b>"`},
		{"{{ 'a b&c=d/é' | url_param_escape }}", "a%20b%26c%3Dd%2F%C3%A9"},
		{"{{ 'https://x.io/a b?q=1&r=<>' | url_escape }}", "https://x.io/a%20b?q=1&r=%3C%3E"},
		{"{{ 'sample' | md5 }}", "5e8ff9bf55ba3508199d22e984129be6"},
		{"{{ 'sample' | sha1 }}", "8151325dcdbae9e0ff95f9f9658432dbedfdb209"},
		{"{{ 'sample' | sha2 }}", "af2bdbe1aa9b6ec1e2ade1d694f41fc71a831d0268e9891562113d8a62add1bf"},
		{"{{ 'sample' | base64_encode }}", "c2FtcGxl"},
		{"{{ 'msg' | hmac_sha1_hex: 'key' }}", "102900b72b7bf1031eec76b4804b66052376896b"},
		{"{{ 'msg' | hmac_sha1_base64: 'key' }}", "ECkAtyt78QMe7Ha0gEtmBSN2iWs="},
		{"{{ 'msg' | hmac_sha256_hex: 'key' }}", "2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628"},
		{"{{ 'msg' | hmac_sha256_base64: 'key' }}", "LZPLwb4We8sWN6SiPL/wGnh48MUO6DOVTqUiG7G4xig="},
		{"{{ custom_attribute.${address} | property_accessor: 'city' }}", "Lyon"},
		{"{{ custom_attribute.${big} | number_with_delimiter }}", "1,234,567"},
		{"{{ 1234567.891 | number_with_delimiter }}", "1,234,567.891"},
		{"{{ 'abc' | number_with_delimiter }}", "abc"},
		{"{{ custom_attribute.${signup} | date: '%s' }}", "1704164645"},
		{"{{ 'now' | date: '%Y-%m-%d %s' }}", "2024-01-02 1704164645"},
		{"{{ custom_attribute.${signup} | time_zone: 'America/New_York' | date: '%Y-%m-%d %H:%M' }}", "2024-01-01 22:04"},
		{"{{ custom_attribute.${signup} | time_zone: ${time_zone} | date: '%H:%M' }}", "04:04"},
		{"{{ 1704164645 | date: '%Y-%m-%d' }}", "2024-01-02"},
		{"{{ 'not a date' | date: '%Y' }}", "not a date"},
		{"{{ 7 | divided_by: 2 }} {{ -7 | divided_by: 2 }} {{ 7 | divided_by: 2.5 }}", "3 -4 2.8"},
		{"{{ -7 | modulo: 3 }} {{ 10 | minus: '4' }} {{ '6' | times: 7 }}", "2 6 42"},
		{"{{ 2.6 | round }} {{ 2.567 | round: 2 }} {{ 2.1 | ceil }} {{ 2.9 | floor }}", "3 2.57 3 2"},
		{"{{ 5 | at_most: 3 }} {{ 5 | at_least: 8 }} {{ -3 | abs }}", "3 8 3"},
		{"{{ custom_attribute.${tags} | join: ',' }}", "a,b"},
	}
	for _, tt := range tests {
		got, err := renderRaw(t, tt.src, testData())
		if err != nil || got != tt.want {
			t.Errorf("%s\n got %q, %v\nwant %q", tt.src, got, err, tt.want)
		}
	}
}

// Objects print as Braze's Ruby Liquid prints them, not as Go's map[...].
func TestOutputOfValues(t *testing.T) {
	tests := []struct{ src, want string }{
		{"{{ custom_attribute.${address} }}", `{"city"=>"Lyon", "zip"=>"69001"}`},
		{"{{ custom_attribute.${tags} }}", "ab"},
		{"{{ event_properties.${item} }}", `{"name"=>"sword", "stats"=>[{"atk"=>9}]}`},
		{"{{ custom_attribute.${vip} }} {{ custom_attribute.${no} }}", "true false"},
		{"{{ custom_attribute.${visits} }} {{ custom_attribute.${score} }}", "12 2.5"},
		{"{{ custom_attribute.${big} }}", "1234567"},
	}
	for _, tt := range tests {
		got, err := renderRaw(t, tt.src, testData())
		if err != nil || got != tt.want {
			t.Errorf("%s\n got %q, %v\nwant %q", tt.src, got, err, tt.want)
		}
	}
}

func TestAbortMessage(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a{% abort_message('no coupon') %}b", "no coupon"},
		{`{% abort_message("double") %}`, "double"},
		{"{% abort_message() %}", DefaultAbortReason},
		{"{% abort_message %}", DefaultAbortReason},
		{"{% if custom_attribute.${plan} == 'pro' %}{% abort_message('pro user') %}{% endif %}", "pro user"},
		{"{% for t in custom_attribute.${tags} %}{% if t == 'b' %}{%- abort_message('at b') -%}{% endif %}{% endfor %}", "at b"},
	}
	for _, tt := range tests {
		_, err := renderRaw(t, tt.src, testData())
		var abort *AbortError
		if !errors.As(err, &abort) || abort.Reason != tt.want {
			t.Errorf("%s: got %v; want abort %q", tt.src, err, tt.want)
		}
	}

	got, err := renderRaw(t, "{% if false %}{% abort_message('x') %}{% endif %}ok", testData())
	if err != nil || got != "ok" {
		t.Errorf("untaken abort: got %q, %v", got, err)
	}
}

// R1: user data cannot break a JSON body.
func TestJSONBodyKeepsUserDataIntact(t *testing.T) {
	d := testData()
	d.User.Attributes["first_name"] = `O"Brien`
	d.User.Attributes["bio"] = "line1\nline2\\end"
	wantBody := `{"name":"O\"Brien","bio":"line1\nline2\\end"}`

	pairs := hookflow.Webhook{Method: "POST", URL: "https://example.com/", BodyType: hookflow.BodyJSON,
		BodyPairs: []hookflow.KeyValue{{Key: "name", Value: "{{${first_name}}}"}, {Key: "bio", Value: "{{custom_attribute.${bio}}}"}}}
	raw := rawWebhook(`{"name":"{{${first_name} | json_escape}}","bio":"{{custom_attribute.${bio} | json_escape}}"}`,
		hookflow.Header{Name: "Content-Type", Value: "application/json"})

	for name, w := range map[string]hookflow.Webhook{"pairs": pairs, "raw with json_escape": raw} {
		req := mustRender(t, w, d)
		if string(req.Body) != wantBody {
			t.Errorf("%s: body %s; want %s", name, req.Body, wantBody)
		}
		var got map[string]string
		if err := json.Unmarshal(req.Body, &got); err != nil || got["name"] != `O"Brien` || got["bio"] != "line1\nline2\\end" {
			t.Errorf("%s: decoded %q, %v", name, got, err)
		}
		if ct := req.HTTPHeader().Values("Content-Type"); len(ct) != 1 || ct[0] != "application/json" {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
	}

	// Without json_escape the raw body breaks, and is refused, not sent.
	for _, ctype := range []string{"application/json", "application/vnd.api+json; charset=utf-8"} {
		broken := rawWebhook(`{"name":"{{${first_name}}}"}`, hookflow.Header{Name: "content-type", Value: ctype})
		_, err := mustCompile(t, broken).Render(d)
		var rerr *Error
		if !errors.As(err, &rerr) || rerr.Part != "webhook.body_raw" {
			t.Errorf("%s: got %v; want *Error on webhook.body_raw", ctype, err)
		}
	}
}

func TestJSONBodyShape(t *testing.T) {
	d := testData()
	d.User.Attributes["first_name"] = "<b>&</b>"
	w := hookflow.Webhook{Method: "PUT", URL: "https://example.com/", BodyType: hookflow.BodyJSON,
		Headers: []hookflow.Header{{Name: "Content-Type", Value: "application/json; charset=utf-8"}},
		BodyPairs: []hookflow.KeyValue{
			{Key: "z", Value: "{{${first_name}}}"}, {Key: "a", Value: "{{custom_attribute.${visits}}}"},
			{Key: "m", Value: "{{custom_attribute.${vip}}}"}, {Key: "e", Value: "{{custom_attribute.${nope}}}"}},
	}
	req := mustRender(t, w, d)
	if want := `{"z":"<b>&</b>","a":"12","m":"true","e":""}`; string(req.Body) != want {
		t.Errorf("body %s; want %s", req.Body, want)
	}
	if len(req.Headers) != 1 || req.Headers[0].Value != "application/json; charset=utf-8" {
		t.Errorf("headers %v; want the author's Content-Type only", req.Headers)
	}
	if req.Method != "PUT" {
		t.Errorf("method %q", req.Method)
	}
}

func TestGETSendsNoBody(t *testing.T) {
	w := hookflow.Webhook{Method: "get", URL: "https://example.com/u/{{${user_id}}}", BodyType: hookflow.BodyJSON,
		BodyPairs: []hookflow.KeyValue{{Key: "a", Value: "{% abort_message('never rendered') %}"}}}
	req := mustRender(t, w, testData())
	if req.Method != "GET" || req.Body != nil || len(req.Headers) != 0 || req.URL != "https://example.com/u/user-42" {
		t.Errorf("got %+v", req)
	}
}

// R6: text stays intact; invalid bytes never reach the wire.
func TestOutputIsValidUTF8(t *testing.T) {
	d := testData()
	d.User.Attributes["first_name"] = "Zoë 😀"
	d.Payload.Event.Properties["raw"] = "a\xff\x00b"

	got, err := renderRaw(t, "{{${first_name}}}|{{event_properties.${raw}}}", d)
	if err != nil || got != "Zoë 😀|a\uFFFD\x00b" {
		t.Errorf("raw: got %q, %v", got, err)
	}

	w := hookflow.Webhook{Method: "POST", URL: "https://example.com/", BodyType: hookflow.BodyJSON,
		BodyPairs: []hookflow.KeyValue{{Key: "name", Value: "{{${first_name}}}"}, {Key: "raw", Value: "{{event_properties.${raw}}}"}}}
	req := mustRender(t, w, d)
	if want := `{"name":"Zoë 😀","raw":"a` + "\uFFFD" + `\u0000b"}`; string(req.Body) != want {
		t.Errorf("json: body %q; want %q", req.Body, want)
	}
	if !utf8.Valid(req.Body) || !json.Valid(req.Body) {
		t.Errorf("json: body not valid UTF-8 JSON: %q", req.Body)
	}
}

// R8: a header value cannot smuggle in another header.
func TestHeaderInjectionFails(t *testing.T) {
	d := testData()
	w := rawWebhook("x", hookflow.Header{Name: "Authorization", Value: "Bearer k"},
		hookflow.Header{Name: "X-User", Value: "{{${first_name}}}"})
	for _, name := range []string{"Ann\r\nX-Injected: 1", "Ann\nX-Injected: 1", "Ann\rX", "Ann\x00"} {
		d.User.Attributes["first_name"] = name
		req, err := mustCompile(t, w).Render(d)
		var rerr *Error
		if !errors.As(err, &rerr) || rerr.Part != "webhook.headers[1].value" || req != nil {
			t.Errorf("%q: got %v, %v; want *Error on webhook.headers[1].value", name, req, err)
		}
	}

	d.User.Attributes["first_name"] = " Ann\t"
	req := mustRender(t, w, d)
	if got := req.HTTPHeader().Get("X-User"); got != "Ann" {
		t.Errorf("X-User %q; want trimmed Ann", got)
	}
}

func TestRenderedURL(t *testing.T) {
	tests := []struct {
		base    any
		want    string
		wantErr bool
	}{
		{"https://api.example.com", "https://api.example.com/users/user-42?c=a%20b", false},
		{"  http://api.example.com", "http://api.example.com/users/user-42?c=a%20b", false},
		{"ftp://api.example.com", "", true},
		{"", "", true},
		{"https://", "", true},
	}
	w := hookflow.Webhook{Method: "DELETE", BodyType: hookflow.BodyNone,
		URL: "{{custom_attribute.${base}}}/users/{{${user_id}}}?c={{ 'a b' | url_param_escape }} "}
	for _, tt := range tests {
		d := testData()
		d.User.Attributes["base"] = tt.base
		req, err := mustCompile(t, w).Render(d)
		var rerr *Error
		switch {
		case tt.wantErr && (!errors.As(err, &rerr) || rerr.Part != "webhook.url"):
			t.Errorf("base %q: got %v; want *Error on webhook.url", tt.base, err)
		case !tt.wantErr && (err != nil || req.URL != tt.want):
			t.Errorf("base %q: got %v; want %s", tt.base, describeURL(req, err), tt.want)
		}
	}
}

func describeURL(req *hookflow.Request, err error) string {
	if err != nil {
		return err.Error()
	}
	return req.URL
}

// R4: a template that fails while rendering fails that render, never the
// process.
func TestRenderErrorsNeverPanic(t *testing.T) {
	e := NewEngine()
	e.addFilter("boom", func(any) any { panic("boom") })
	e.addFilter("boom_err", func(any) any { panic(errors.New("boom")) })
	tests := []struct{ src, part string }{
		{"{{ 1 | divided_by: 0 }}", "webhook.body_raw"},
		{"{{ 1 | boom }}", "webhook.body_raw"},
		{"{{ 1 | boom_err }}", "webhook.body_raw"},
	}
	for _, tt := range tests {
		tpl, err := e.Compile(rawWebhook(tt.src))
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		_, err = tpl.Render(testData())
		var rerr *Error
		if !errors.As(err, &rerr) || rerr.Part != tt.part {
			t.Errorf("%s: got %v; want *Error on %s", tt.src, err, tt.part)
		}
	}

	_, err := renderRaw(t, "x\ny\n{{ 1 | divided_by: 0 }}", testData())
	if err == nil || !strings.Contains(err.Error(), "line 3: ") || !strings.Contains(err.Error(), "divided by 0") {
		t.Errorf("got %v; want the line and the reason", err)
	}
}

// Integrators cache one Template and render it from many senders at once.
func TestTemplateIsSafeForConcurrentRenders(t *testing.T) {
	w := hookflow.Webhook{Method: "POST", URL: "https://example.com/{{${user_id}}}", BodyType: hookflow.BodyJSON,
		BodyPairs: []hookflow.KeyValue{{Key: "n", Value: "{% assign x = ${first_name} %}{{ x }}-{{ event_properties.${qty} | plus: 1 }}"}}}
	tpl := mustCompile(t, w)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := testData()
			d.User.Attributes["first_name"] = string(rune('A' + i))
			for range 50 {
				req, err := tpl.Render(d)
				if want := `{"n":"` + string(rune('A'+i)) + `-4"}`; err != nil || string(req.Body) != want {
					errs <- describe(req, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func mustCompile(t *testing.T, w hookflow.Webhook) *Template {
	t.Helper()
	tpl, err := NewEngineWithClock(fixedClock(testNow)).Compile(w)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return tpl
}

func mustRender(t *testing.T, w hookflow.Webhook, d Data) *hookflow.Request {
	t.Helper()
	req, err := mustCompile(t, w).Render(d)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return req
}

// BenchmarkRender renders a typical webhook: a templated URL, two headers
// and a four-pair JSON body.
func BenchmarkRender(b *testing.B) {
	w := hookflow.Webhook{Method: "POST", URL: "https://api.example.com/users/{{${user_id}}}",
		Headers:  []hookflow.Header{{Name: "Authorization", Value: "Bearer k"}, {Name: "X-Plan", Value: "{{custom_attribute.${plan}}}"}},
		BodyType: hookflow.BodyJSON,
		BodyPairs: []hookflow.KeyValue{
			{Key: "name", Value: "{{${first_name} | default: 'there'}}"}, {Key: "level", Value: "{{event_properties.${level}}}"},
			{Key: "qty", Value: "{{event_properties.${qty} | plus: 1}}"}, {Key: "coupon", Value: "{{api_trigger_properties.${coupon}}}"}}}
	benchRender(b, w)
}

// A part without Liquid markup skips osteele/liquid; it must render what
// osteele/liquid would have made of it.
func TestTextPartsRenderAsLiquidWould(t *testing.T) {
	e := NewEngine()
	for _, src := range []string{
		"", "https://example.com/hook?a=1&b=2", "{ not a tag }", "a}}b", "%}", "{",
		"trailing {", "${user_id}", "bad \xff utf-8", "line\nbreak", "\u2028",
	} {
		text, err := e.parse("f", src)
		if err != nil || text.tpl != nil {
			t.Fatalf("parse(%q): tpl %v, err %v; want a text part", src, text.tpl, err)
		}
		markup, err := e.parseMarkup("f", src)
		if err != nil {
			t.Fatalf("parseMarkup(%q): %v", src, err)
		}
		vars := testData().bindings()
		got, err1 := text.render(vars)
		want, err2 := markup.render(vars)
		if got != want || err1 != nil || err2 != nil {
			t.Errorf("%q renders %q (%v), osteele/liquid %q (%v)", src, got, err1, want, err2)
		}
	}
}

// A text part is charged to the render's budget like any output.
func TestTextPartsSpendTheBudget(t *testing.T) {
	e := NewEngine()
	p, err := e.parse("body", strings.Repeat("x", 1000))
	if err != nil {
		t.Fatal(err)
	}
	b := newBudget()
	b.written = maxRenderBytes - 999
	if _, err := p.render(map[string]any{budgetKey: b}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("render over budget: err %v, want output too large", err)
	}
}

// BenchmarkRenderSmall renders the bench's webhook: a fixed URL and a
// two-pair JSON body, each value a template.
func BenchmarkRenderSmall(b *testing.B) {
	w := hookflow.Webhook{Method: "POST", URL: "http://127.0.0.1:8080/healthy",
		BodyType: hookflow.BodyJSON,
		BodyPairs: []hookflow.KeyValue{
			{Key: "b", Value: "{{event_properties.${level}}}"}, {Key: "user", Value: "{{${user_id}}}"}}}
	benchRender(b, w)
}

func benchRender(b *testing.B, w hookflow.Webhook) {
	tpl, err := NewEngine().Compile(w)
	if err != nil {
		b.Fatal(err)
	}
	d := testData()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(d); err != nil {
			b.Fatal(err)
		}
	}
}
