package filter

import (
	"encoding/json"
	"testing"

	"github.com/hookflow/hookflow"
)

func TestMatchProperties(t *testing.T) {
	props := map[string]any{
		"qty":      int64(3),
		"price":    19.5,
		"total":    json.Number("120"),
		"count":    "3",
		"sku":      "SKU-RED-42",
		"gift":     true,
		"nothing":  nil,
		"tags":     []any{"sale", "new", json.Number("7")},
		"names":    []string{"ann", "bob"},
		"at":       "2026-06-15T12:00:00Z",
		"cart":     map[string]any{"total": 150.0, "coupon": map[string]any{"code": "X1"}},
		"a.b":      "dotted key",
		"shipping": "2026-06-15",
	}
	cases := []struct {
		name string
		f    hookflow.PropertyFilter
		want bool
	}{
		{"equals int64 to int", pf("qty", OpEquals, 3), true},
		{"equals int64 to float", pf("qty", OpEquals, 3.0), true},
		{"equals int64 to json.Number", pf("qty", OpEquals, json.Number("3")), true},
		{"equals float", pf("price", OpEquals, 19.5), true},
		{"equals json.Number prop", pf("total", OpEquals, 120.0), true},
		{"equals other number", pf("qty", OpEquals, 4), false},
		{"equals numeric string is typed", pf("count", OpEquals, 3), false},
		{"equals string to number-looking string", pf("count", OpEquals, "3"), true},
		{"equals number prop to string", pf("qty", OpEquals, "3"), false},
		{"equals string", pf("sku", OpEquals, "SKU-RED-42"), true},
		{"equals string case", pf("sku", OpEquals, "sku-red-42"), false},
		{"equals bool", pf("gift", OpEquals, true), true},
		{"equals bool other", pf("gift", OpEquals, false), false},
		{"equals bool vs string", pf("gift", OpEquals, "true"), false},
		{"equals array", pf("tags", OpEquals, "sale"), false},
		{"equals missing", pf("nope", OpEquals, 1), false},
		{"equals null", pf("nothing", OpEquals, 1), false},
		{"equals nested", pf("cart.coupon.code", OpEquals, "X1"), true},
		{"equals nested number", pf("cart.total", OpEquals, 150), true},

		{"not_equals other", pf("qty", OpNotEquals, 4), true},
		{"not_equals same", pf("qty", OpNotEquals, 3.0), false},
		{"not_equals numeric string", pf("count", OpNotEquals, 3), true},
		{"not_equals missing", pf("nope", OpNotEquals, 3), true},
		{"not_equals null", pf("nothing", OpNotEquals, 3), true},
		{"not_equals nested missing", pf("cart.coupon.nope", OpNotEquals, "X1"), true},

		{"gt above", pf("cart.total", OpGreaterThan, 100), true},
		{"gt within range", pf("total", OpGreaterThan, 100), true},
		{"gt equal", pf("qty", OpGreaterThan, 3), false},
		{"gt numeric string", pf("count", OpGreaterThan, 1), false},
		{"gt missing", pf("nope", OpGreaterThan, 1), false},
		{"gt string vs number", pf("sku", OpGreaterThan, 1), false},
		{"gt time", pf("at", OpGreaterThan, "2026-06-15T11:59:59Z"), true},
		{"gt time other offset", pf("at", OpGreaterThan, "2026-06-15T13:30:00+02:00"), true},
		{"gt time same", pf("at", OpGreaterThan, "2026-06-15T12:00:00Z"), false},
		{"gt date prop", pf("shipping", OpGreaterThan, "2026-06-14"), true},
		{"gt non-time string prop", pf("sku", OpGreaterThan, "2026-06-14"), false},
		{"gt number prop vs time", pf("qty", OpGreaterThan, "2026-06-14"), false},
		{"lt below", pf("price", OpLessThan, 20), true},
		{"lt equal", pf("price", OpLessThan, 19.5), false},
		{"lt above", pf("total", OpLessThan, json.Number("100.5")), false},
		{"lt time", pf("at", OpLessThan, "2026-06-16"), true},
		{"lt time later", pf("at", OpLessThan, "2026-06-15"), false},
		{"lt missing", pf("nope", OpLessThan, 1), false},
		{"lt bool", pf("gift", OpLessThan, 2), false},

		{"contains substring", pf("sku", OpContains, "RED"), true},
		{"contains case", pf("sku", OpContains, "red"), false},
		{"contains absent substring", pf("sku", OpContains, "BLUE"), false},
		{"contains number in string", pf("sku", OpContains, 42), false},
		{"contains element", pf("tags", OpContains, "new"), true},
		{"contains no element", pf("tags", OpContains, "ne"), false},
		{"contains number element", pf("tags", OpContains, 7), true},
		{"contains []string", pf("names", OpContains, "bob"), true},
		{"contains on number", pf("qty", OpContains, 3), false},
		{"contains missing", pf("nope", OpContains, "x"), false},

		{"exists", pf("qty", OpExists, nil), true},
		{"exists nested", pf("cart.coupon", OpExists, nil), true},
		{"exists false bool", pf("gift", OpExists, nil), true},
		{"exists missing", pf("nope", OpExists, nil), false},
		{"exists null", pf("nothing", OpExists, nil), false},
		{"exists path through scalar", pf("sku.x", OpExists, nil), false},
		{"dot always separates", pf("a.b", OpExists, nil), false},
		{"does_not_exist missing", pf("nope", OpDoesNotExist, nil), true},
		{"does_not_exist null", pf("nothing", OpDoesNotExist, nil), true},
		{"does_not_exist present", pf("qty", OpDoesNotExist, nil), false},
		{"does_not_exist nested", pf("cart.coupon.code", OpDoesNotExist, nil), false},

		{"unknown op never holds", pf("qty", "between", 3), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := MatchProperties([]hookflow.PropertyFilter{tc.f}, props)
			if got != tc.want {
				t.Errorf("%+v: got %v, want %v", tc.f, got, tc.want)
			}
		})
	}
}

func pf(property, op string, value any) hookflow.PropertyFilter {
	return hookflow.PropertyFilter{Property: property, Op: op, Value: value}
}

func TestMatchPropertiesAllMustHold(t *testing.T) {
	// Braze's example: a cart value between 100 and 200.
	between := []hookflow.PropertyFilter{
		pf("cart_value", OpGreaterThan, 100),
		pf("cart_value", OpLessThan, 200),
	}
	cases := []struct {
		props map[string]any
		want  bool
	}{
		{map[string]any{"cart_value": 150.0}, true},
		{map[string]any{"cart_value": int64(100)}, false},
		{map[string]any{"cart_value": 250.0}, false},
		{map[string]any{}, false},
		{nil, false},
	}
	for _, tc := range cases {
		if got := MatchProperties(between, tc.props); got != tc.want {
			t.Errorf("between 100 and 200 on %v: got %v, want %v", tc.props, got, tc.want)
		}
	}

	if !MatchProperties(nil, nil) || !MatchProperties(nil, map[string]any{"x": 1}) {
		t.Error("no filters must always hold")
	}
}

// TestPropertyFiltersFromJSON checks the values a stored campaign decodes
// to: encoding/json gives float64 numbers, and the filters still compare
// with int64 properties.
func TestPropertyFiltersFromJSON(t *testing.T) {
	var trig hookflow.Trigger
	raw := `{"event": "checkout", "filters": [
		{"property": "qty", "op": "equals", "value": 3},
		{"property": "meta.source", "op": "not_equals", "value": "test"},
		{"property": "placed_at", "op": "greater_than", "value": "2026-01-01T00:00:00Z"}
	]}`
	if err := json.Unmarshal([]byte(raw), &trig); err != nil {
		t.Fatal(err)
	}
	if err := CheckProperties(trig.Filters); err != nil {
		t.Fatalf("CheckProperties: %v", err)
	}

	props := map[string]any{"qty": int64(3), "placed_at": "2026-03-01T09:00:00+01:00"}
	if !MatchProperties(trig.Filters, props) {
		t.Error("filters decoded from JSON do not match")
	}
	props["meta"] = map[string]any{"source": "test"}
	if MatchProperties(trig.Filters, props) {
		t.Error("not_equals on meta.source = test still matches")
	}
}

func TestCheckProperties(t *testing.T) {
	const badTime = `invalid time "next week"; want RFC 3339 such as 2019-07-22T13:17:55Z, or 2019-07-22`
	ok := pf("qty", OpExists, nil)
	cases := []struct {
		name   string
		fs     []hookflow.PropertyFilter
		field  string
		reason string
	}{
		{"no property", []hookflow.PropertyFilter{ok, pf("", OpExists, nil)},
			"trigger.filters[1].property", "is required"},
		{"empty segment", []hookflow.PropertyFilter{pf("cart..total", OpExists, nil)},
			"trigger.filters[0].property",
			`"cart..total" has an empty path segment; use dots only between names`},
		{"leading dot", []hookflow.PropertyFilter{pf(".total", OpExists, nil)},
			"trigger.filters[0].property",
			`".total" has an empty path segment; use dots only between names`},
		{"no op", []hookflow.PropertyFilter{ok, ok, pf("qty", "", 1)},
			"trigger.filters[2].op", "is required"},
		{"unknown op", []hookflow.PropertyFilter{pf("qty", "greater_than_or_equal_to", 1)},
			"trigger.filters[0].op", `unknown op "greater_than_or_equal_to"; want one of ` + opNames},
		{"equals no value", []hookflow.PropertyFilter{pf("qty", OpEquals, nil)},
			"trigger.filters[0].value", "must be a string, number or boolean for op equals"},
		{"not_equals array", []hookflow.PropertyFilter{pf("qty", OpNotEquals, []any{1})},
			"trigger.filters[0].value", "must be a string, number or boolean for op not_equals"},
		{"contains object", []hookflow.PropertyFilter{pf("qty", OpContains, map[string]any{})},
			"trigger.filters[0].value", "must be a string, number or boolean for op contains"},
		{"gt bool", []hookflow.PropertyFilter{pf("qty", OpGreaterThan, true)},
			"trigger.filters[0].value", "must be a number or a time string for op greater_than"},
		{"lt missing", []hookflow.PropertyFilter{pf("qty", OpLessThan, nil)},
			"trigger.filters[0].value", "must be a number or a time string for op less_than"},
		{"lt non-time string", []hookflow.PropertyFilter{pf("at", OpLessThan, "next week")},
			"trigger.filters[0].value", "must be a number or a time string for op less_than; " + badTime},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertInvalid(t, CheckProperties(tc.fs), tc.field, tc.reason)
		})
	}
}

func TestCheckPropertiesAccepts(t *testing.T) {
	fs := []hookflow.PropertyFilter{
		pf("qty", OpEquals, 3),
		pf("qty", OpNotEquals, json.Number("3.5")),
		pf("sku", OpEquals, "A"),
		pf("gift", OpEquals, false),
		pf("cart.total", OpGreaterThan, 100.0),
		pf("at", OpLessThan, "2026-01-01T00:00:00+0000"),
		pf("tags", OpContains, "sale"),
		pf("tags", OpContains, 7),
		pf("x", OpExists, nil),
		pf("x.y", OpDoesNotExist, "ignored"),
	}
	if err := CheckProperties(fs); err != nil {
		t.Errorf("CheckProperties: %v", err)
	}
	if err := CheckProperties(nil); err != nil {
		t.Errorf("CheckProperties(nil): %v", err)
	}
}
