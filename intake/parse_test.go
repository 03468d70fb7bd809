package intake_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
)

var now = time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)

// objects builds a JSON array of n copies of obj.
func objects(n int, obj string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(obj+",", n), ",") + "]"
}

const validEvent = `{"external_id":"u1","name":"played","time":"2026-12-01T10:00:00Z"}`

func TestParseRefusesWholeRequest(t *testing.T) {
	tests := []struct {
		name, body    string
		field, reason string
	}{
		{"empty body", ``, "", "request body is not valid JSON: unexpected end of JSON input"},
		{"truncated", `{"events": [`, "", "request body is not valid JSON: unexpected end of JSON input"},
		{"trailing data", `{"events": []} x`, "", "request body is not valid JSON: " +
			"invalid character 'x' after top-level value (at byte 16)"},
		{"array", `[]`, "", "request body must be a JSON object, not an array"},
		{"string", `"hi"`, "", "request body must be a JSON object, not a string"},
		{"null", `null`, "", "request body must be a JSON object, not null"},
		{"events an object", `{"events": {}}`, "events", "must be an array, not an object"},
		{"attributes a string", `{"attributes": "x"}`, "attributes", "must be an array, not a string"},
		{"purchases a number", `{"purchases": 3}`, "purchases", "must be an array, not a number"},
		{"nothing", `{}`, "", "'attributes', 'events' or 'purchases' must hold at least one object"},
		{"only empty and null arrays", `{"events": [], "attributes": null, "purchases": []}`, "",
			"'attributes', 'events' or 'purchases' must hold at least one object"},
		{"only unknown keys", `{"partner": "x"}`, "",
			`'attributes', 'events' or 'purchases' must hold at least one object (unknown fields: "partner")`},
		{"misspelt arrays", `{"events": [], "atributes": [{"external_id": "u"}], "Purchases": []}`, "",
			`'attributes', 'events' or 'purchases' must hold at least one object (unknown fields: "Purchases", "atributes")`},
		{"76 events", `{"events": ` + objects(76, validEvent) + `}`, "events",
			"has 76 objects; at most 75 are allowed"},
		{"76 attributes, valid events", `{"events": [` + validEvent + `], "attributes": ` +
			objects(76, `{"external_id":"u"}`) + `}`, "attributes", "has 76 objects; at most 75 are allowed"},
		{"76 invalid purchases", `{"purchases": ` + objects(76, `1`) + `}`, "purchases",
			"has 76 objects; at most 75 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := intake.Parse([]byte(tt.body), now)

			var ve *hookflow.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T), want *hookflow.ValidationError", err, err)
			}
			if b != nil {
				t.Errorf("batch = %+v, want nil", b)
			}
			if ve.Field != tt.field || ve.Reason != tt.reason {
				t.Errorf("got field %q reason %q\nwant field %q reason %q", ve.Field, ve.Reason, tt.field, tt.reason)
			}
		})
	}
}

func TestParseAcceptsMaxObjects(t *testing.T) {
	body := fmt.Sprintf(`{"attributes": %s, "events": %s, "purchases": %s}`,
		objects(75, `{"external_id":"u","plan":"gold"}`),
		objects(75, validEvent),
		objects(75, `{"external_id":"u","product_id":"p","currency":"EUR","price":1,"time":"2026-12-01T10:00:00Z"}`))

	b, err := intake.Parse([]byte(body), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Attributes) != 75 || len(b.Events) != 75 || len(b.Purchases) != 75 || len(b.Errors) != 0 {
		t.Errorf("got %d attributes, %d events, %d purchases, errors %v; want 75 each, no errors",
			len(b.Attributes), len(b.Events), len(b.Purchases), b.Errors)
	}
	if b.Events[74].Index != 74 {
		t.Errorf("last event index = %d, want 74", b.Events[74].Index)
	}
}

// parseOne parses a request holding obj as the only element of array.
func parseOne(t *testing.T, array, obj string) *intake.Batch {
	t.Helper()
	b, err := intake.Parse([]byte(fmt.Sprintf(`{%q: [%s]}`, array, obj)), now)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return b
}

const (
	ev   = `"external_id":"u1","name":"e","time":"2026-12-01T10:00:00Z"`
	pur  = `"external_id":"u1","product_id":"p","currency":"EUR","price":9.99,"time":"2026-12-01T10:00:00Z"`
	user = `"external_id":"u1"`
	at   = `"time":"2026-12-01T10:00:00Z"`
)

func TestParseItemErrors(t *testing.T) {
	long := strings.Repeat("k", 256)
	longQuoted := `"` + strings.Repeat("k", 64) + `…"`
	tests := []struct {
		array, obj, want string
	}{
		// Any array: shape and identifiers.
		{"events", `"x"`, "the object must be a JSON object, not a string"},
		{"attributes", `[1]`, "the object must be a JSON object, not an array"},
		{"purchases", `null`, "the object must be a JSON object, not null"},
		{"events", `{"name":"e",` + at + `}`,
			"'external_id', 'braze_id', 'user_alias' or 'email' is required"},
		{"attributes", `{"first_name":"Ann"}`, "'external_id', 'braze_id', 'user_alias' or 'email' is required"},
		{"attributes", `{"external_id":null,"braze_id":null}`,
			"'external_id', 'braze_id', 'user_alias' or 'email' is required"},
		{"events", `{"external_id":5}`, "'external_id' must be a string, not a number"},
		{"events", `{"external_id":""}`, "'external_id' must not be empty"},
		{"events", `{"braze_id":true}`, "'braze_id' must be a string, not a boolean"},
		{"events", `{"user_alias":"a"}`,
			"'user_alias' must be an object with non-empty string 'alias_name' and 'alias_label'"},
		{"events", `{"user_alias":{"alias_name":"a"}}`,
			"'user_alias' must be an object with non-empty string 'alias_name' and 'alias_label'"},
		{"events", `{"user_alias":{"alias_name":"a","alias_label":3}}`,
			"'user_alias' must be an object with non-empty string 'alias_name' and 'alias_label'"},
		{"events", `{"email":"nope"}`, `'email' is not a valid email address: "nope"`},
		{"events", `{"email":"a@localhost"}`, `'email' is not a valid email address: "a@localhost"`},
		{"events", `{"email":"Ann <a@b.co>"}`, `'email' is not a valid email address: "Ann <a@b.co>"`},
		{"events", `{"phone":"+33600000000","name":"e"}`, "'phone' as an identifier is not supported by Hookflow; " +
			"use 'external_id', 'braze_id', 'user_alias' or 'email'"},
		{"purchases", `{` + pur + `,"_update_existing_only":"yes"}`,
			"'_update_existing_only' must be a boolean, not a string"},

		// Events.
		{"events", `{"external_id":"u1",` + at + `}`, "'name' is required"},
		{"events", `{"external_id":"u1","name":"",` + at + `}`, "'name' must not be empty"},
		{"events", `{"external_id":"u1","name":3,` + at + `}`, "'name' must be a string, not a number"},
		{"events", `{"external_id":"u1","name":"e"}`, "'time' is required"},
		{"events", `{"external_id":"u1","name":"e","time":null}`, "'time' is required"},
		{"events", `{"external_id":"u1","name":"e","time":"yesterday"}`, `'time' is not a valid ISO-8601 time: "yesterday"`},
		{"events", `{"external_id":"u1","name":"e","time":"2026-13-01T00:00:00Z"}`,
			`'time' is not a valid ISO-8601 time: "2026-13-01T00:00:00Z"`},
		{"events", `{"external_id":"u1","name":"e","time":1764583200}`, "'time' must be a string, not a number"},
		{"events", `{` + ev + `,"app_id":3}`, "'app_id' must be a string, not a number"},
		{"events", `{` + ev + `,"properties":[]}`, "'properties' must be an object, not an array"},
		{"events", `{` + ev + `,"properties":"x"}`, "'properties' must be an object, not a string"},
		{"events", `{` + ev + `,"properties":{"":1}}`, "property keys must not be empty"},
		{"events", `{` + ev + `,"properties":{"$x":1}}`, `property key "$x" must not start with '$'`},
		{"events", `{` + ev + `,"properties":{"time":1}}`, `property key "time" is reserved`},
		{"events", `{` + ev + `,"properties":{"event_name":"x"}}`, `property key "event_name" is reserved`},
		{"events", `{` + ev + `,"properties":{"` + long + `":1}}`,
			"property key " + longQuoted + " is longer than 255 characters"},
		{"events", `{` + ev + `,"properties":{"bio":"` + strings.Repeat("é", 256) + `"}}`,
			`property "bio" is longer than 255 characters`},
		{"events", `{` + ev + `,"properties":{"n":1e999}}`, `"properties": number 1e999 is out of range`},

		// Purchases.
		{"purchases", `{"external_id":"u1","currency":"EUR","price":1,` + at + `}`,
			"'product_id' is required"},
		{"purchases", `{"external_id":"u1","product_id":"` + long + `","currency":"EUR","price":1,` +
			`` + at + `}`, "'product_id' is longer than 255 characters"},
		{"purchases", `{"external_id":"u1","product_id":"p","price":1,` + at + `}`,
			"'currency' is required"},
		{"purchases", `{"external_id":"u1","product_id":"p","currency":"EURO","price":1,` + at + `}`,
			`'currency' must be a three-letter ISO-4217 code: "EURO"`},
		{"purchases", `{"external_id":"u1","product_id":"p","currency":"E1R","price":1,` + at + `}`,
			`'currency' must be a three-letter ISO-4217 code: "E1R"`},
		{"purchases", `{"external_id":"u1","product_id":"p","currency":"EUR",` + at + `}`,
			"'price' is required"},
		{"purchases", `{"external_id":"u1","product_id":"p","currency":"EUR","price":"9.99",` + at + `}`,
			"'price' must be a number, not a string"},
		{"purchases", `{"external_id":"u1","product_id":"p","currency":"EUR","price":null,` + at + `}`,
			"'price' must be a number, not null"},
		{"purchases", `{` + pur + `,"quantity":0}`, "'quantity' must be a whole number from 1 to 100: 0"},
		{"purchases", `{` + pur + `,"quantity":101}`, "'quantity' must be a whole number from 1 to 100: 101"},
		{"purchases", `{` + pur + `,"quantity":1.5}`, "'quantity' must be a whole number from 1 to 100: 1.5"},
		{"purchases", `{` + pur + `,"quantity":"2"}`, `'quantity' must be a whole number from 1 to 100: "2"`},
		{"purchases", `{"external_id":"u1","product_id":"p","currency":"EUR","price":1}`, "'time' is required"},
		{"purchases", `{` + pur + `,"properties":{"$x":1}}`, `property key "$x" must not start with '$'`},

		// Attributes.
		{"attributes", `{` + user + `,"":1}`, "attribute names must not be empty"},
		{"attributes", `{` + user + `,"` + long + `":1}`, "attribute name " + longQuoted + " is longer than 255 characters"},
		{"attributes", `{` + user + `,"_merge_objects":true}`, "'_merge_objects' is not supported by Hookflow"},
		{"attributes", `{` + user + `,"push_tokens":[]}`, "'push_tokens' is not supported by Hookflow"},
		{"attributes", `{` + user + `,"subscription_groups":[]}`, "'subscription_groups' is not supported by Hookflow"},
		{"attributes", `{` + user + `,"email":"bad"}`, `'email' is not a valid email address: "bad"`},
		{"attributes", `{` + user + `,"email":5}`, `"email" must be a string, not a number`},
		{"attributes", `{` + user + `,"first_name":5}`, `"first_name" must be a string, not a number`},
		{"attributes", `{` + user + `,"last_name":["a"]}`, `"last_name" must be a string, not an array`},
		{"attributes", `{` + user + `,"time_zone":"Mars/Olympus"}`, `'time_zone' is not an IANA time zone name: "Mars/Olympus"`},
		{"attributes", `{` + user + `,"time_zone":"Local"}`, `'time_zone' is not an IANA time zone name: "Local"`},
		{"attributes", `{` + user + `,"time_zone":"../../etc/passwd"}`,
			`'time_zone' is not an IANA time zone name: "../../etc/passwd"`},
		{"attributes", `{` + user + `,"time_zone":""}`, `'time_zone' is not an IANA time zone name: ""`},
		{"attributes", `{` + user + `,"country":"FRA"}`, `'country' must be a two-letter ISO-3166-1 code: "FRA"`},
		{"attributes", `{` + user + `,"country":"F1"}`, `'country' must be a two-letter ISO-3166-1 code: "F1"`},
		{"attributes", `{` + user + `,"dob":"1990-02-30"}`, `'dob' must be a date as YYYY-MM-DD: "1990-02-30"`},
		{"attributes", `{` + user + `,"dob":"03/04/1990"}`, `'dob' must be a date as YYYY-MM-DD: "03/04/1990"`},
		{"attributes", `{` + user + `,"gender":"X"}`, `"gender" must be one of M, F, O, U, N, P: "X"`},
		{"attributes", `{` + user + `,"email_subscribe":"yes"}`,
			`"email_subscribe" must be one of opted_in, subscribed, unsubscribed: "yes"`},
		{"attributes", `{` + user + `,"date_of_last_session":"soon"}`,
			`'date_of_last_session' is not a valid ISO-8601 time: "soon"`},
		{"attributes", `{` + user + `,"first_name":{"inc":1}}`,
			`'inc' on "first_name": standard attributes take only a value or null`},
		{"attributes", `{` + user + `,"score":{"inc":"1"}}`, `'inc' on "score" must be a number, not a string`},
		{"attributes", `{` + user + `,"score":{"inc":null}}`, `'inc' on "score" must be a number, not null`},
		{"attributes", `{` + user + `,"tags":{"add":"x"}}`, `'add' on "tags" must be an array, not a string`},
		{"attributes", `{` + user + `,"tags":{"remove":{}}}`, `'remove' on "tags" must be an array, not an object`},
		{"attributes", `{` + user + `,"tags":` + objects(101, `"t"`) + `}`,
			`attribute "tags" has 101 elements; at most 100 are allowed`},
		{"attributes", `{` + user + `,"tags":{"add":` + objects(101, `"t"`) + `}}`,
			`'add' on "tags" has 101 elements; at most 100 are allowed`},
	}
	for _, tt := range tests {
		name := tt.array + " " + tt.obj
		if len(name) > 80 {
			name = name[:80]
		}
		t.Run(name, func(t *testing.T) {
			b := parseOne(t, tt.array, tt.obj)

			want := []intake.ItemError{{Type: tt.want, InputArray: tt.array, Index: 0}}
			if !reflect.DeepEqual(b.Errors, want) {
				t.Errorf("errors = %+v\nwant     %+v", b.Errors, want)
			}
			if n := len(b.Attributes) + len(b.Events) + len(b.Purchases); n != 0 {
				t.Errorf("%d valid objects, want 0", n)
			}
		})
	}
}

func TestParseKeepsValidObjects(t *testing.T) {
	body := `{
		"purchases": [1],
		"events": [` + validEvent + `, {"external_id":"u1"}, ` + validEvent + `],
		"attributes": [{"external_id":"u1","dob":"never"}, {"external_id":"u2"}]
	}`
	b, err := intake.Parse([]byte(body), now)
	if err != nil {
		t.Fatal(err)
	}

	wantErrors := []intake.ItemError{
		{Type: `'dob' must be a date as YYYY-MM-DD: "never"`, InputArray: "attributes", Index: 0},
		{Type: "'name' is required", InputArray: "events", Index: 1},
		{Type: "the object must be a JSON object, not a number", InputArray: "purchases", Index: 0},
	}
	if !reflect.DeepEqual(b.Errors, wantErrors) {
		t.Errorf("errors = %+v\nwant     %+v", b.Errors, wantErrors)
	}
	if len(b.Events) != 2 || b.Events[0].Index != 0 || b.Events[1].Index != 2 {
		t.Errorf("events = %+v, want indexes 0 and 2", b.Events)
	}
	if len(b.Attributes) != 1 || b.Attributes[0].Index != 1 {
		t.Errorf("attributes = %+v, want index 1", b.Attributes)
	}
}

// The top level reads as json.Unmarshal into a map would: escaped keys are
// decoded, and the last of repeated keys wins.
func TestParseTopLevelKeys(t *testing.T) {
	body := `{ "events" : [` + validEvent + `], "\u0065vents": [` + validEvent + `,` + validEvent +
		`], "purchases": null, "other": {"events": []} }`
	b, err := intake.Parse([]byte(body), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 2 || len(b.Purchases) != 0 || len(b.Attributes) != 0 {
		t.Errorf("parsed %d events, %d purchases, %d attributes; want 2, 0, 0",
			len(b.Events), len(b.Purchases), len(b.Attributes))
	}
}

func TestBatchRefsListsEveryItemsUser(t *testing.T) {
	b, err := intake.Parse([]byte(`{
		"purchases": [{"external_id": "p", "product_id": "x", "currency": "USD", "price": 1, "time": "2026-01-01T00:00:00Z"}],
		"events": [{"external_id": "e1", "name": "n", "time": "2026-01-01T00:00:00Z"},
		           {"email": "e2@example.com", "name": "n", "time": "2026-01-01T00:00:00Z"}],
		"attributes": [{"user_alias": {"alias_name": "a", "alias_label": "l"}}]}`), now)
	if err != nil {
		t.Fatal(err)
	}
	want := []hookflow.UserRef{
		{Alias: &hookflow.Alias{Name: "a", Label: "l"}},
		{ExternalID: "e1"},
		{Email: "e2@example.com"},
		{ExternalID: "p"},
	}
	if got := b.Refs(); !reflect.DeepEqual(got, want) {
		t.Errorf("Refs() = %+v, want %+v", got, want)
	}
}
