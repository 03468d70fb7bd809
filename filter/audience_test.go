package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// now is the injected present of every audience test.
var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// days returns now moved by n days, as an RFC 3339 attribute string.
func days(n float64) string {
	return now.Add(time.Duration(n * float64(24*time.Hour))).Format(time.RFC3339)
}

// ca builds a custom_attribute filter; value nil leaves "value" out.
func ca(name, cmp string, value any) string {
	body := map[string]any{"custom_attribute_name": name, "comparison": cmp}
	if value != nil {
		body["value"] = value
	}
	b, err := json.Marshal(map[string]any{"custom_attribute": body})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mustParse(t *testing.T, raw string) *Audience {
	t.Helper()
	a, err := ParseAudience(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("ParseAudience(%s): %v", raw, err)
	}
	if a == nil {
		t.Fatalf("ParseAudience(%s) = nil", raw)
	}
	return a
}

func TestParseAudienceEmptyMatchesEveryone(t *testing.T) {
	for _, raw := range []string{"", "  \n", "null", " null "} {
		a, err := ParseAudience(json.RawMessage(raw))
		if err != nil || a != nil {
			t.Errorf("ParseAudience(%q) = %v, %v; want nil, nil", raw, a, err)
		}
		if !a.Match(nil, now) || !a.Match(map[string]any{"x": 1}, now) {
			t.Errorf("nil audience from %q does not match everyone", raw)
		}
	}
	if got, _ := ParseAudience(nil); got != nil {
		t.Errorf("ParseAudience(nil) = %v; want nil", got)
	}
}

// attrCase is one custom-attribute comparison on one attribute value; a
// value of missing leaves the attribute out of the profile.
type attrCase struct {
	name   string
	filter string
	value  any
	want   bool
}

// missing marks an attribute absent from the profile.
type missingAttr struct{}

var missing = missingAttr{}

func runAttrCases(t *testing.T, cases []attrCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := mustParse(t, tc.filter)
			attrs := map[string]any{"other": "x"}
			if tc.value != missing {
				attrs["a"] = tc.value
			}
			if got := a.Match(attrs, now); got != tc.want {
				t.Errorf("%s on a=%#v: got %v, want %v", tc.filter, tc.value, got, tc.want)
			}
		})
	}
}

func TestStringComparisons(t *testing.T) {
	runAttrCases(t, []attrCase{
		{"equals same", ca("a", "equals", "blue"), "blue", true},
		{"equals other", ca("a", "equals", "blue"), "green", false},
		{"equals is case-sensitive", ca("a", "equals", "blue"), "Blue", false},
		{"equals missing", ca("a", "equals", "blue"), missing, false},
		{"equals wrong type", ca("a", "equals", "3"), int64(3), false},
		{"not_equal other", ca("a", "not_equal", "blue"), "green", true},
		{"not_equal same", ca("a", "not_equal", "blue"), "blue", false},
		{"not_equal missing", ca("a", "not_equal", "blue"), missing, true},
		{"not_equal wrong type", ca("a", "not_equal", "3"), 3.0, true},
		{"regex matches", ca("a", "matches_regex", "^bl"), "blue", true},
		{"regex unanchored", ca("a", "matches_regex", "ue"), "blue", true},
		{"regex no match", ca("a", "matches_regex", "^gr"), "blue", false},
		{"regex case-sensitive", ca("a", "matches_regex", "^BL"), "blue", false},
		{"regex (?i)", ca("a", "matches_regex", "(?i)^BL"), "blue", true},
		{"regex missing", ca("a", "matches_regex", ".*"), missing, false},
		{"regex wrong type", ca("a", "matches_regex", ".*"), true, false},
		{"not regex no match", ca("a", "does_not_match_regex", "^gr"), "blue", true},
		{"not regex match", ca("a", "does_not_match_regex", "^bl"), "blue", false},
		{"not regex missing", ca("a", "does_not_match_regex", "^bl"), missing, true},
		{"exists string", ca("a", "exists", nil), "blue", true},
		{"exists empty string", ca("a", "exists", nil), "", true},
		{"exists with value true", ca("a", "exists", true), "blue", true},
		{"exists missing", ca("a", "exists", nil), missing, false},
		{"exists null", ca("a", "exists", nil), nil, false},
		{"does_not_exist missing", ca("a", "does_not_exist", nil), missing, true},
		{"does_not_exist null", ca("a", "does_not_exist", nil), nil, true},
		{"does_not_exist present", ca("a", "does_not_exist", nil), "blue", false},
	})
}

func TestNumericComparisons(t *testing.T) {
	runAttrCases(t, []attrCase{
		{"equals int64", ca("a", "equals", 3), int64(3), true},
		{"equals float64", ca("a", "equals", 3), 3.0, true},
		{"equals json.Number", ca("a", "equals", 3), json.Number("3"), true},
		{"equals json.Number float", ca("a", "equals", 3), json.Number("3.0"), true},
		{"equals int", ca("a", "equals", 3), 3, true},
		{"equals fraction", ca("a", "equals", 2.5), 2.5, true},
		{"equals other", ca("a", "equals", 3), int64(4), false},
		{"equals numeric string", ca("a", "equals", 3), "3", false},
		{"equals missing", ca("a", "equals", 3), missing, false},
		{"equals exact large ints", ca("a", "equals", int64(9007199254740993)),
			int64(9007199254740992), false},
		{"not_equal other", ca("a", "not_equal", 3), 4.0, true},
		{"not_equal same", ca("a", "not_equal", 3), int64(3), false},
		{"not_equal numeric string", ca("a", "not_equal", 3), "3", true},
		{"gt above", ca("a", "greater_than", 10), int64(11), true},
		{"gt equal", ca("a", "greater_than", 10), 10.0, false},
		{"gt below", ca("a", "greater_than", 10), json.Number("9.5"), false},
		{"gt string", ca("a", "greater_than", 10), "11", false},
		{"gt missing", ca("a", "greater_than", 10), missing, false},
		{"gte equal", ca("a", "greater_than_or_equal_to", 10), int64(10), true},
		{"gte below", ca("a", "greater_than_or_equal_to", 10), 9.99, false},
		{"lt below", ca("a", "less_than", 10), -1.0, true},
		{"lt equal", ca("a", "less_than", 10), int64(10), false},
		{"lt bool", ca("a", "less_than", 10), false, false},
		{"lte equal", ca("a", "less_than_or_equal_to", 10), json.Number("10"), true},
		{"lte above", ca("a", "less_than_or_equal_to", 10), 10.01, false},
		{"exists number", ca("a", "exists", nil), 0.0, true},
	})
}

func TestBooleanComparisons(t *testing.T) {
	runAttrCases(t, []attrCase{
		{"equals true", ca("a", "equals", true), true, true},
		{"equals false", ca("a", "equals", true), false, false},
		{"equals false value", ca("a", "equals", false), false, true},
		{"equals string true", ca("a", "equals", true), "true", false},
		{"equals missing", ca("a", "equals", false), missing, false},
		{"not_equal", ca("a", "not_equal", true), false, true},
		{"not_equal same", ca("a", "not_equal", true), true, false},
		{"not_equal missing", ca("a", "not_equal", true), missing, true},
		{"exists false", ca("a", "exists", nil), false, true},
	})
}

func TestArrayComparisons(t *testing.T) {
	shows := []any{"Friends", "Lost", json.Number("42"), true}
	runAttrCases(t, []attrCase{
		{"includes string", ca("a", "includes_value", "Lost"), shows, true},
		{"includes absent", ca("a", "includes_value", "Dark"), shows, false},
		{"includes case-sensitive", ca("a", "includes_value", "lost"), shows, false},
		{"includes number", ca("a", "includes_value", 42), shows, true},
		{"includes number as string", ca("a", "includes_value", "42"), shows, false},
		{"includes bool", ca("a", "includes_value", true), shows, true},
		{"includes []string", ca("a", "includes_value", "b"), []string{"a", "b"}, true},
		{"includes on string attr", ca("a", "includes_value", "Lost"), "Lost", false},
		{"includes empty", ca("a", "includes_value", "Lost"), []any{}, false},
		{"includes missing", ca("a", "includes_value", "Lost"), missing, false},
		{"not includes absent", ca("a", "does_not_include_value", "Dark"), shows, true},
		{"not includes present", ca("a", "does_not_include_value", "Lost"), shows, false},
		{"not includes missing", ca("a", "does_not_include_value", "Lost"), missing, true},
		{"exists array", ca("a", "exists", nil), shows, true},
		{"exists empty array", ca("a", "exists", nil), []any{}, true},
		{"does_not_exist array", ca("a", "does_not_exist", nil), shows, false},
	})
}

func TestTimeComparisons(t *testing.T) {
	runAttrCases(t, []attrCase{
		{"ago inside", ca("a", "less_than_x_days_ago", 7), days(-6), true},
		{"ago just now", ca("a", "less_than_x_days_ago", 7), days(0), true},
		{"ago outside", ca("a", "less_than_x_days_ago", 7), days(-8), false},
		{"ago on the edge", ca("a", "less_than_x_days_ago", 7), days(-7), false},
		{"ago future", ca("a", "less_than_x_days_ago", 7), days(2), false},
		{"ago fractional", ca("a", "less_than_x_days_ago", 0.5), days(-0.25), true},
		{"ago date only", ca("a", "less_than_x_days_ago", 7), "2026-06-10", true},
		{"ago time.Time", ca("a", "less_than_x_days_ago", 7), now.Add(-time.Hour), true},
		{"ago plus0000", ca("a", "less_than_x_days_ago", 7), "2026-06-14T13:17:55+0000", true},
		{"ago not a time", ca("a", "less_than_x_days_ago", 7), "yesterday", false},
		{"ago number", ca("a", "less_than_x_days_ago", 7), 1718000000.0, false},
		{"ago missing", ca("a", "less_than_x_days_ago", 7), missing, false},
		{"more ago", ca("a", "greater_than_x_days_ago", 7), days(-8), true},
		{"more ago inside", ca("a", "greater_than_x_days_ago", 7), days(-6), false},
		{"more ago future", ca("a", "greater_than_x_days_ago", 7), days(1), false},
		{"more ago missing", ca("a", "greater_than_x_days_ago", 7), missing, false},
		{"future inside", ca("a", "less_than_x_days_in_the_future", 3), days(2), true},
		{"future now", ca("a", "less_than_x_days_in_the_future", 3), days(0), true},
		{"future outside", ca("a", "less_than_x_days_in_the_future", 3), days(4), false},
		{"future past", ca("a", "less_than_x_days_in_the_future", 3), days(-1), false},
		{"more future", ca("a", "greater_than_x_days_in_the_future", 3), days(4), true},
		{"more future inside", ca("a", "greater_than_x_days_in_the_future", 3), days(2), false},
		{"more future past", ca("a", "greater_than_x_days_in_the_future", 3), days(-9), false},
		{"after later", ca("a", "after", "2026-01-01T00:00:00Z"), "2026-01-01T00:00:01Z", true},
		{"after same", ca("a", "after", "2026-01-01T00:00:00Z"), "2026-01-01T00:00:00Z", false},
		{"after offset", ca("a", "after", "2026-01-01T00:00:00Z"), "2026-01-01T00:30:00+01:00", false},
		{"after date value", ca("a", "after", "2026-01-01"), "2026-01-01T00:00:01Z", true},
		{"after missing", ca("a", "after", "2026-01-01"), missing, false},
		{"after garbage", ca("a", "after", "2026-01-01"), "soon", false},
		{"before earlier", ca("a", "before", "2026-01-01T00:00:00+0000"), "2025-12-31", true},
		{"before later", ca("a", "before", "2026-01-01T00:00:00+0000"), "2026-02-01", false},
		{"before missing", ca("a", "before", "2026-01-01"), missing, false},
		{"exists time", ca("a", "exists", nil), days(0), true},
	})
}

func TestSubscriptionStatus(t *testing.T) {
	sub := func(kind, cmp, value string) string {
		return fmt.Sprintf(`{%q: {"comparison": %q, "value": %q}}`, kind, cmp, value)
	}
	cases := []struct {
		name   string
		filter string
		attrs  map[string]any
		want   bool
	}{
		{"email is opted_in", sub("email_subscription_status", "is", "opted_in"),
			map[string]any{"email_subscribe": "opted_in"}, true},
		{"email is opted_in, subscribed", sub("email_subscription_status", "is", "opted_in"),
			map[string]any{"email_subscribe": "subscribed"}, false},
		{"email is subscribed, opted_in", sub("email_subscription_status", "is", "subscribed"),
			map[string]any{"email_subscribe": "opted_in"}, false},
		{"email default subscribed", sub("email_subscription_status", "is", "subscribed"),
			nil, true},
		{"email non-string is default", sub("email_subscription_status", "is", "subscribed"),
			map[string]any{"email_subscribe": true}, true},
		{"email case", sub("email_subscription_status", "is", "unsubscribed"),
			map[string]any{"email_subscribe": "Unsubscribed"}, true},
		{"email is_not", sub("email_subscription_status", "is_not", "unsubscribed"),
			map[string]any{"email_subscribe": "opted_in"}, true},
		{"email is_not same", sub("email_subscription_status", "is_not", "unsubscribed"),
			map[string]any{"email_subscribe": "unsubscribed"}, false},
		{"email ignores push", sub("email_subscription_status", "is", "unsubscribed"),
			map[string]any{"push_subscribe": "unsubscribed"}, false},
		{"push is", sub("push_subscription_status", "is", "unsubscribed"),
			map[string]any{"push_subscribe": "unsubscribed"}, true},
		{"push default", sub("push_subscription_status", "is_not", "subscribed"),
			map[string]any{"email_subscribe": "opted_in"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParse(t, tc.filter).Match(tc.attrs, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLastUsedApp(t *testing.T) {
	const after = `{"last_used_app": {"comparison": "after", "value": "2019-07-22T13:17:55+0000"}}`
	const before = `{"last_used_app": {"comparison": "before", "value": "2019-07-22T13:17:55+0000"}}`
	cases := []struct {
		name   string
		filter string
		last   any
		want   bool
	}{
		{"after, later", after, "2019-07-22T13:17:56Z", true},
		{"after, same", after, "2019-07-22T13:17:55Z", false},
		{"after, earlier", after, "2019-07-01", false},
		{"before, earlier", before, "2019-07-01", true},
		{"before, later", before, "2020-01-01T00:00:00Z", false},
		{"after, never", after, nil, false},
		{"before, never", before, nil, false},
		{"after, not a time", after, 12, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := map[string]any{"date_of_last_session": tc.last}
			if got := mustParse(t, tc.filter).Match(attrs, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNestedGroups(t *testing.T) {
	// (eye_color = blue AND (age >= 18 OR vip)) AND email not unsubscribed
	raw := `{"AND": [
		` + ca("eye_color", "equals", "blue") + `,
		{"OR": [` + ca("age", "greater_than_or_equal_to", 18) + `, ` + ca("vip", "equals", true) + `]},
		{"email_subscription_status": {"comparison": "is_not", "value": "unsubscribed"}}
	]}`
	a := mustParse(t, raw)

	cases := []struct {
		name  string
		attrs map[string]any
		want  bool
	}{
		{"adult", map[string]any{"eye_color": "blue", "age": int64(30)}, true},
		{"vip minor", map[string]any{"eye_color": "blue", "age": 12.0, "vip": true}, true},
		{"minor", map[string]any{"eye_color": "blue", "age": json.Number("12")}, false},
		{"green eyes", map[string]any{"eye_color": "green", "age": int64(30)}, false},
		{"unsubscribed", map[string]any{
			"eye_color": "blue", "age": int64(30), "email_subscribe": "unsubscribed"}, false},
		{"empty profile", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.Match(tc.attrs, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSingleMemberGroupsAndMaxDepth(t *testing.T) {
	leaf := ca("a", "equals", 1)
	raw := leaf
	for range MaxDepth {
		raw = `{"OR": [` + raw + `]}`
	}
	a := mustParse(t, raw)
	if !a.Match(map[string]any{"a": 1.0}, now) || a.Match(map[string]any{"a": 2.0}, now) {
		t.Errorf("%d nested single-member groups do not behave as their leaf", MaxDepth)
	}

	_, err := ParseAudience(json.RawMessage(`{"AND": [` + raw + `]}`))
	wantField := "audience.AND[0]" + strings.Repeat(".OR[0]", MaxDepth-1) + ".OR"
	assertInvalid(t, err, wantField, "nesting deeper than 10 levels of AND/OR")
}

func assertInvalid(t *testing.T, err error, field, reason string) {
	t.Helper()
	var ve *hookflow.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T); want *hookflow.ValidationError", err, err)
	}
	if ve.Field != field || ve.Reason != reason {
		t.Errorf("got\n  field  %q\n  reason %q\nwant\n  field  %q\n  reason %q",
			ve.Field, ve.Reason, field, reason)
	}
}

func TestParseAudienceErrors(t *testing.T) {
	const keys = "AND, OR, custom_attribute, email_subscription_status, " +
		"push_subscription_status, last_used_app"
	const badTime = `invalid time "tomorrow"; want RFC 3339 such as 2019-07-22T13:17:55Z, or 2019-07-22`
	cases := []struct {
		name   string
		raw    string
		field  string
		reason string
	}{
		{"not JSON", `{"AND": [`, "audience", "invalid JSON: unexpected EOF"},
		{"trailing data", `{"AND": [` + ca("a", "exists", nil) + `]} {}`, "audience",
			"invalid JSON: unexpected data after the audience object"},
		{"array at top", `[]`, "audience", "must be a JSON object holding one filter"},
		{"empty object", `{}`, "audience", "must hold exactly one of " + keys + "; found 0 keys"},
		{"two keys", `{"AND": [], "OR": []}`, "audience",
			"must hold exactly one of " + keys + "; found 2 keys"},
		{"unknown filter", `{"AND": [{"segment": "x"}]}`, "audience.AND[0].segment",
			"unknown filter; want one of " + keys},
		{"lower-case and", `{"and": []}`, "audience.and", "unknown filter; want one of " + keys},
		{"empty AND", `{"AND": []}`, "audience.AND", "must be a non-empty array of filters"},
		{"OR not array", `{"OR": {}}`, "audience.OR", "must be a non-empty array of filters"},
		{"member not object", `{"AND": [` + ca("a", "exists", nil) + `, "x"]}`,
			"audience.AND[1]", "must be a JSON object holding one filter"},
		{"unknown comparison", `{"AND": [` + ca("a", "exists", nil) + `, ` +
			ca("b", "contains", "x") + `]}`, "audience.AND[1].custom_attribute.comparison",
			`unknown comparison "contains"; want one of ` + comparisonNames},
		{"missing comparison", `{"custom_attribute": {"custom_attribute_name": "a"}}`,
			"audience.custom_attribute.comparison", "is required"},
		{"missing name", `{"custom_attribute": {"comparison": "exists"}}`,
			"audience.custom_attribute.custom_attribute_name", "is required"},
		{"empty name", ca("", "exists", nil),
			"audience.custom_attribute.custom_attribute_name", "must not be empty"},
		{"name not string", `{"custom_attribute": {"custom_attribute_name": 3, "comparison": "exists"}}`,
			"audience.custom_attribute.custom_attribute_name", "must be a string"},
		{"misspelt field", `{"custom_attribute": {"custom_attribute_name": "a", "comparision": "exists"}}`,
			"audience.custom_attribute.comparision",
			"unknown field; want custom_attribute_name, comparison, value"},
		{"custom_attribute not object", `{"custom_attribute": "a"}`,
			"audience.custom_attribute", "must be a JSON object"},
		{"missing value", ca("a", "equals", nil), "audience.custom_attribute.value",
			"is required for comparison equals"},
		{"null value",
			`{"custom_attribute": {"custom_attribute_name": "a", "comparison": "not_equal", "value": null}}`,
			"audience.custom_attribute.value", "is required for comparison not_equal"},
		{"equals array", ca("a", "equals", []any{1}), "audience.custom_attribute.value",
			"must be a string, number or boolean (comparison equals)"},
		{"includes object", ca("a", "does_not_include_value", map[string]any{}),
			"audience.custom_attribute.value",
			"must be a string, number or boolean (comparison does_not_include_value)"},
		{"regex number", ca("a", "matches_regex", 3), "audience.custom_attribute.value",
			"must be a string (comparison matches_regex)"},
		{"lookahead", ca("a", "matches_regex", "^a(?=b)"), "audience.custom_attribute.value",
			"invalid regular expression (Go RE2 syntax, no lookarounds): " +
				"invalid or unsupported Perl syntax: `(?=` (comparison matches_regex)"},
		{"unbalanced regex", ca("a", "does_not_match_regex", "(a"), "audience.custom_attribute.value",
			"invalid regular expression (Go RE2 syntax, no lookarounds): " +
				"missing closing ): `(a` (comparison does_not_match_regex)"},
		{"gt string", ca("a", "greater_than", "3"), "audience.custom_attribute.value",
			"must be a number (comparison greater_than)"},
		{"days string", ca("a", "less_than_x_days_ago", "7"), "audience.custom_attribute.value",
			"must be a number of days from 0 to 36500 (comparison less_than_x_days_ago)"},
		{"days negative", ca("a", "greater_than_x_days_in_the_future", -1),
			"audience.custom_attribute.value",
			"must be a number of days from 0 to 36500 (comparison greater_than_x_days_in_the_future)"},
		{"days huge", ca("a", "greater_than_x_days_ago", 1e9), "audience.custom_attribute.value",
			"must be a number of days from 0 to 36500 (comparison greater_than_x_days_ago)"},
		{"after number", ca("a", "after", 1563801475), "audience.custom_attribute.value",
			"must be a time string (comparison after)"},
		{"before bad time", ca("a", "before", "tomorrow"), "audience.custom_attribute.value",
			badTime + " (comparison before)"},
		{"subscription bad comparison",
			`{"OR": [{"email_subscription_status": {"comparison": "equals", "value": "opted_in"}}]}`,
			"audience.OR[0].email_subscription_status.comparison",
			`unknown comparison "equals"; want one of is, is_not`},
		{"subscription bad value",
			`{"push_subscription_status": {"comparison": "is", "value": "OPTED_IN"}}`,
			"audience.push_subscription_status.value",
			`unknown value "OPTED_IN"; want one of opted_in, subscribed, unsubscribed`},
		{"subscription value missing", `{"push_subscription_status": {"comparison": "is"}}`,
			"audience.push_subscription_status.value", "is required"},
		{"subscription extra field",
			`{"email_subscription_status": {"comparison": "is", "value": "opted_in", "x": 1}}`,
			"audience.email_subscription_status.x", "unknown field; want comparison, value"},
		{"last_used_app bad comparison",
			`{"last_used_app": {"comparison": "less_than_x_days_ago", "value": 3}}`,
			"audience.last_used_app.comparison",
			`unknown comparison "less_than_x_days_ago"; want one of after, before`},
		{"last_used_app bad time", `{"last_used_app": {"comparison": "after", "value": "tomorrow"}}`,
			"audience.last_used_app.value", badTime},
		{"last_used_app number", `{"last_used_app": {"comparison": "after", "value": 3}}`,
			"audience.last_used_app.value", "must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAudience(json.RawMessage(tc.raw))
			if a != nil {
				t.Errorf("audience = %v; want nil", a)
			}
			assertInvalid(t, err, tc.field, tc.reason)
		})
	}
}
