package intake_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
)

func TestParseAttributes(t *testing.T) {
	b := parseOne(t, "attributes", `{
		"external_id": "u1",
		"_update_existing_only": true,
		"first_name": "Ann",
		"score": {"inc": 2},
		"ratio": {"inc": 0.5},
		"tags": {"add": ["a", 1]},
		"old": {"remove": ["b"]},
		"gone": null,
		"nested": {"a": 1, "b": [1.5, "x"], "inc": 3},
		"big": 12345678901234567890,
		"country": "fr",
		"gender": "f",
		"time_zone": "Europe/Paris",
		"dob": "1990-02-28",
		"email_subscribe": "opted_in",
		"date_of_first_session": "2026-01-02T03:04:05+01:00",
		"email": "ann@example.com"
	}`)
	if len(b.Errors) != 0 {
		t.Fatalf("errors: %+v", b.Errors)
	}

	want := intake.AttributeUpdate{
		Index:              0,
		Ref:                hookflow.UserRef{ExternalID: "u1"},
		UpdateExistingOnly: true,
		Ops: []intake.AttributeOp{
			{Kind: intake.OpSet, Name: "first_name", Value: "Ann"},
			{Kind: intake.OpInc, Name: "score", Value: int64(2)},
			{Kind: intake.OpInc, Name: "ratio", Value: 0.5},
			{Kind: intake.OpAdd, Name: "tags", Value: []any{"a", int64(1)}},
			{Kind: intake.OpRemove, Name: "old", Value: []any{"b"}},
			{Kind: intake.OpDelete, Name: "gone"},
			{Kind: intake.OpSet, Name: "nested", Value: map[string]any{
				"a": int64(1), "b": []any{1.5, "x"}, "inc": int64(3)}},
			{Kind: intake.OpSet, Name: "big", Value: 12345678901234567890.0},
			{Kind: intake.OpSet, Name: "country", Value: "FR"},
			{Kind: intake.OpSet, Name: "gender", Value: "F"},
			{Kind: intake.OpSet, Name: "time_zone", Value: "Europe/Paris"},
			{Kind: intake.OpSet, Name: "dob", Value: "1990-02-28"},
			{Kind: intake.OpSet, Name: "email_subscribe", Value: "opted_in"},
			{Kind: intake.OpSet, Name: "date_of_first_session", Value: "2026-01-02T02:04:05Z"},
			{Kind: intake.OpSet, Name: "email", Value: "ann@example.com"},
		},
	}
	if !reflect.DeepEqual(b.Attributes, []intake.AttributeUpdate{want}) {
		t.Errorf("got  %#v\nwant %#v", b.Attributes, []intake.AttributeUpdate{want})
	}
}

func TestParseIdentifierPriority(t *testing.T) {
	alias := `"user_alias":{"alias_name":"n","alias_label":"l"}`
	tests := []struct {
		name, ids string
		want      hookflow.UserRef
	}{
		{"external_id alone", `"external_id":"x"`, hookflow.UserRef{ExternalID: "x"}},
		{"braze_id alone", `"braze_id":"b"`, hookflow.UserRef{BrazeID: "b"}},
		{"alias alone", alias, hookflow.UserRef{Alias: &hookflow.Alias{Name: "n", Label: "l"}}},
		{"email alone", `"email":"a@b.co"`, hookflow.UserRef{Email: "a@b.co"}},
		{"all four", `"email":"a@b.co",` + alias + `,"braze_id":"b","external_id":"x"`,
			hookflow.UserRef{ExternalID: "x"}},
		{"braze_id over alias and email", `"email":"a@b.co",` + alias + `,"braze_id":"b"`,
			hookflow.UserRef{BrazeID: "b"}},
		{"alias over email", `"email":"a@b.co",` + alias, hookflow.UserRef{Alias: &hookflow.Alias{Name: "n", Label: "l"}}},
		{"null external_id falls through", `"external_id":null,"braze_id":"b"`, hookflow.UserRef{BrazeID: "b"}},
		// Lower-priority identifiers are not examined.
		{"bad braze_id ignored", `"external_id":"x","braze_id":5`, hookflow.UserRef{ExternalID: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := parseOne(t, "events", `{`+tt.ids+`,"name":"e","time":"2026-12-01T10:00:00Z"}`)
			if len(b.Events) != 1 {
				t.Fatalf("errors: %+v", b.Errors)
			}
			if got := b.Events[0].Ref; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ref = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseEmailIdentifierIsAlsoSet(t *testing.T) {
	b := parseOne(t, "attributes", `{"email":"a@b.co","plan":"gold"}`)
	want := []intake.AttributeUpdate{{
		Ref: hookflow.UserRef{Email: "a@b.co"},
		Ops: []intake.AttributeOp{
			{Kind: intake.OpSet, Name: "email", Value: "a@b.co"},
			{Kind: intake.OpSet, Name: "plan", Value: "gold"},
		},
	}}
	if !reflect.DeepEqual(b.Attributes, want) {
		t.Errorf("got  %#v\nwant %#v", b.Attributes, want)
	}
}

func TestParseEvent(t *testing.T) {
	b := parseOne(t, "events", `{
		"user_alias": {"alias_name": "n", "alias_label": "l"},
		"name": "level_up",
		"time": "2026-12-01T10:00:00.250+01:00",
		"app_id": "app-1",
		"properties": {"level": 3, "score": 2.5, "ok": true, "tags": ["a"],
			"deep": {"bio": "`+longString(300)+`"}, "nothing": null}
	}`)
	want := []intake.EventInput{{
		Ref: hookflow.UserRef{Alias: &hookflow.Alias{Name: "n", Label: "l"}},
		Event: hookflow.Event{
			Name:  "level_up",
			Time:  time.Date(2026, 12, 1, 9, 0, 0, 250e6, time.UTC),
			AppID: "app-1",
			Properties: map[string]any{
				"level": int64(3), "score": 2.5, "ok": true, "tags": []any{"a"},
				// Only top-level strings are held to 255 characters.
				"deep": map[string]any{"bio": longString(300)}, "nothing": nil,
			},
			// Compact, keys sorted, as the size limit measures it.
			EncodedProperties: []byte(`{"deep":{"bio":"` + longString(300) +
				`"},"level":3,"nothing":null,"ok":true,"score":2.5,"tags":["a"]}`),
			ReceivedAt: now,
		},
	}}
	if !reflect.DeepEqual(b.Events, want) {
		t.Errorf("got  %#v\nwant %#v", b.Events, want)
	}
}

func longString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return string(b)
}

func TestParseEventDefaultsAndClamp(t *testing.T) {
	b := parseOne(t, "events", `{"braze_id":"b1","name":"e","time":"2030-01-01T00:00:00Z","properties":null}`)
	if len(b.Events) != 1 {
		t.Fatalf("errors: %+v", b.Errors)
	}
	ev := b.Events[0].Event
	if !ev.Time.Equal(now) {
		t.Errorf("future time = %v, want clamped to %v", ev.Time, now)
	}
	if ev.Properties == nil || len(ev.Properties) != 0 {
		t.Errorf("properties = %#v, want empty map", ev.Properties)
	}
	if ev.AppID != "" || ev.Purchase != nil {
		t.Errorf("app_id %q purchase %v, want empty", ev.AppID, ev.Purchase)
	}
}

func TestParsePropertiesSizeLimit(t *testing.T) {
	// {"blob":{"a":"…"}} is 17 bytes around the string.
	tests := []struct {
		name string
		n    int
		want []intake.ItemError
	}{
		{"at the limit", intake.MaxPropertiesBytes - 17, nil},
		{"one over", intake.MaxPropertiesBytes - 16, []intake.ItemError{{
			Type: "'properties' is 102401 bytes of JSON; at most 102400 are allowed", InputArray: "events"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := parseOne(t, "events", `{`+ev+`,"properties":{"blob":{"a":"`+longString(tt.n)+`"}}}`)
			if !reflect.DeepEqual(b.Errors, tt.want) {
				t.Errorf("errors = %+v, want %+v", b.Errors, tt.want)
			}
		})
	}
}

func TestParsePurchase(t *testing.T) {
	tests := []struct {
		name, obj string
		want      hookflow.Purchase
	}{
		{"defaults", `{` + pur + `}`,
			hookflow.Purchase{ProductID: "p", Currency: "EUR", Price: 9.99, Quantity: 1}},
		{"integer price, lower-case currency, quantity", `{"email":"a@b.co","product_id":"sku-9",` +
			`"currency":"usd","price":5,"quantity":100,"time":"2026-12-01T10:00:00Z"}`,
			hookflow.Purchase{ProductID: "sku-9", Currency: "USD", Price: 5, Quantity: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := parseOne(t, "purchases", tt.obj)
			if len(b.Purchases) != 1 {
				t.Fatalf("errors: %+v", b.Errors)
			}
			ev := b.Purchases[0].Event
			if ev.Name != tt.want.ProductID || ev.Purchase == nil || *ev.Purchase != tt.want {
				t.Errorf("name %q purchase %+v, want name %q purchase %+v", ev.Name, ev.Purchase, tt.want.ProductID, tt.want)
			}
		})
	}
}

// TestParseInvalidUTF8 is field report R6: a property holding the bytes
// 0xff and 0x00 (sent as \u0000) must come out as valid UTF-8.
func TestParseInvalidUTF8(t *testing.T) {
	body := []byte(`{"events":[{` + ev + `,"properties":{"name":"Zoë 😀","raw":"` + "\xff" + `\u0000"}}]}`)
	b, err := intake.Parse(body, now)
	if err != nil {
		t.Fatal(err)
	}
	props := b.Events[0].Event.Properties

	if got, want := props["raw"], "\uFFFD\x00"; got != want {
		t.Errorf("raw = %q, want %q", got, want)
	}
	if got, want := props["name"], "Zoë 😀"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	out, err := json.Marshal(props)
	if err != nil || !utf8.Valid(out) {
		t.Errorf("re-encoded properties %q (err %v) are not valid UTF-8", out, err)
	}
	if got, want := string(out), `{"name":"Zoë 😀","raw":"`+"\uFFFD"+`\u0000"}`; got != want {
		t.Errorf("encoded = %s, want %s", got, want)
	}
}

func TestParseNumbers(t *testing.T) {
	b := parseOne(t, "events", `{`+ev+`,"properties":{"i":1,"neg":-7,"f":1.0,"e":1e3,"max":9223372036854775807,`+
		`"over":9223372036854775808,"small":0.1}}`)
	want := map[string]any{
		"i": int64(1), "neg": int64(-7), "f": 1.0, "e": 1000.0, "max": int64(9223372036854775807),
		"over": 9223372036854775808.0, "small": 0.1,
	}
	if got := b.Events[0].Event.Properties; !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}
