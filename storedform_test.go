package hookflow

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// decodedPayload is p after the trip a store gives it: encoded, then
// decoded with numbers normalised, as the stores' readers do.
func decodedPayload(t *testing.T, p Payload) Payload {
	t.Helper()
	return decodeEncoded(t, p)
}

// decodedFloatsKept is p after the trip a store that keeps floats gives it
// (PostgreSQL's: whole floats written with a fraction).
func decodedFloatsKept(t *testing.T, p Payload) Payload {
	t.Helper()
	mark := func(m map[string]any) map[string]any {
		if m == nil {
			return nil
		}
		return MarkFloats(m).(map[string]any)
	}
	if p.Event != nil {
		ev := *p.Event
		ev.Properties = mark(ev.Properties)
		p.Event = &ev
	}
	p.TriggerProperties, p.Context = mark(p.TriggerProperties), mark(p.Context)
	return decodeEncoded(t, p)
}

func decodeEncoded(t *testing.T, p Payload) Payload {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out Payload
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	maps := []map[string]any{out.TriggerProperties, out.Context}
	if out.Event != nil {
		maps = append(maps, out.Event.Properties)
	}
	for _, m := range maps {
		if _, err := NormalizeNumbers(m); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

type point struct {
	X float32 `json:"x"`
	Y uint64  `json:"y"`
}

func TestStoredFormIsWhatDecodingGives(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	cases := []struct {
		name string
		p    Payload
	}{
		{"empty", Payload{}},
		{"empty maps are left out", Payload{TriggerProperties: map[string]any{}, Context: map[string]any{},
			Event: &EventPayload{Name: "e", Properties: map[string]any{}}}},
		{"numbers", Payload{TriggerProperties: map[string]any{
			"whole float": 2.0, "negative zero": math.Copysign(0, -1), "fraction": 0.1,
			"big whole": 1e20, "huge": 1e21, "tiny": 1e-7, "past int64": 9.3e18,
			"int64 edge": float64(math.MaxInt64), "min int64": float64(math.MinInt64),
			"int64": int64(9007199254740993), "int": 7, "number": json.Number("12"),
			"number float": json.Number("1.50"),
		}}},
		{"nested", Payload{Context: map[string]any{
			"list":  []any{1.0, "a", nil, true, map[string]any{}, []any{}},
			"nils":  []any{[]any(nil), map[string]any(nil)},
			"empty": map[string]any{"slice": []any(nil), "map": map[string]any(nil)},
			"map":   map[string]any{"inner": map[string]any{"n": 3.0}},
		}}},
		{"strings", Payload{Event: &EventPayload{Name: "bad\xffname", Properties: map[string]any{
			"bad": "a\xff\xfeb", "html": "<a href=\"x\">&</a>", "separators": "\u2028\u2029",
			"bad key\xff": 1.0, "other bad key\xfe": 2.0,
		}}}},
		{"times", Payload{Event: &EventPayload{Name: "e",
			Time: time.Date(2026, 12, 4, 11, 0, 0, 123456789, berlin)}}},
		{"utc time with monotonic reading", Payload{Event: &EventPayload{Name: "e", Time: time.Now()}}},
		{"other Go types", Payload{TriggerProperties: map[string]any{
			"float32": float32(0.1), "struct": point{X: 1.5, Y: math.MaxUint64},
			"strings": []string{"a"}, "uint8": uint8(3), "map of ints": map[string]int{"a": 1},
		}}},
	}
	forms := []struct {
		name   string
		form   func(Payload) (Payload, error)
		decode func(*testing.T, Payload) Payload
	}{
		{"StoredForm", Payload.StoredForm, decodedPayload},
		{"StoredFormFloatsKept", Payload.StoredFormFloatsKept, decodedFloatsKept},
	}
	for _, f := range forms {
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				got, err := f.form(c.p)
				if err != nil {
					t.Fatal(err)
				}
				want := f.decode(t, c.p)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s =\n%#v\nwant (decoded)\n%#v", f.name, got, want)
				}
				if got.Event != nil && !got.Event.Time.Equal(want.Event.Time) {
					t.Errorf("time %v, want %v", got.Event.Time, want.Event.Time)
				}
			})
		}
	}
}

// A payload already in its stored form comes back as it is; any other is
// copied, so the caller's later changes do not reach it.
func TestStoredFormCopiesOnlyWhatChanges(t *testing.T) {
	inner := map[string]any{"n": int64(1)}
	as := Payload{Event: &EventPayload{Name: "e", Time: time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC),
		Properties: map[string]any{"inner": inner, "list": []any{int64(1), "s", 1.5}}}}
	got, err := as.StoredForm()
	if err != nil {
		t.Fatal(err)
	}
	if got.Event != as.Event {
		t.Errorf("a payload in stored form was copied")
	}

	changes := []Payload{
		{Event: &EventPayload{Name: "e", Time: time.Now()}}, // a monotonic reading
		{Event: &EventPayload{Name: "e", Properties: map[string]any{"inner": inner, "whole": 2.0}}},
		{TriggerProperties: map[string]any{"list": []any{int64(1), []any(nil)}, "inner": inner}},
		{TriggerProperties: map[string]any{}},
		{Context: map[string]any{"inner": inner, "bad": "\xff"}},
	}
	for i, p := range changes {
		got, err := p.StoredForm()
		if err != nil {
			t.Fatal(err)
		}
		if want := decodedPayload(t, p); !reflect.DeepEqual(got, want) {
			t.Errorf("%d: StoredForm = %#v, want %#v", i, got, want)
		}
		if got.Event != nil && got.Event == p.Event {
			t.Errorf("%d: a payload not in stored form came back as it was", i)
		}
	}
	inner["n"] = int64(2)
	for i, p := range changes[1:3] {
		got, _ := p.StoredForm()
		m := got.TriggerProperties
		if got.Event != nil {
			m = got.Event.Properties
		}
		inner["n"] = int64(3)
		if n := m["inner"].(map[string]any)["n"]; n != int64(2) {
			t.Errorf("%d: inner n = %v after the caller changed its map, want the copy's 2", i+1, n)
		}
		inner["n"] = int64(2)
	}
}

func TestStoredFormRefusesWhatJSONCannotHold(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), json.Number("abc")} {
		p := Payload{Context: map[string]any{"v": v}}
		if _, err := p.StoredForm(); err == nil {
			t.Errorf("StoredForm of %v: no error", v)
		}
	}
}
