package intake_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
)

// update parses one attributes object (its external_id is added) into an
// update, so Apply is tested on exactly what Parse produces.
func update(t *testing.T, attrs string) intake.AttributeUpdate {
	t.Helper()
	b := parseOne(t, "attributes", `{"external_id":"u1",`+attrs+`}`)
	if len(b.Attributes) != 1 {
		t.Fatalf("errors: %+v", b.Errors)
	}
	return b.Attributes[0]
}

func TestApply(t *testing.T) {
	hundred := make([]any, 100)
	for i := range hundred {
		hundred[i] = int64(i)
	}
	tests := []struct {
		name  string
		start map[string]any
		attrs string
		want  map[string]any
	}{
		{"set on a nil map", nil, `"plan":"gold","n":2`, map[string]any{"plan": "gold", "n": int64(2)}},
		{"set replaces any type", map[string]any{"plan": []any{"x"}}, `"plan":{"tier":1}`,
			map[string]any{"plan": map[string]any{"tier": int64(1)}}},
		{"delete", map[string]any{"plan": "gold", "keep": true}, `"plan":null`, map[string]any{"keep": true}},
		{"delete missing", nil, `"plan":null`, map[string]any{}},
		{"inc missing", nil, `"score":{"inc":1}`, map[string]any{"score": int64(1)}},
		{"inc null", map[string]any{"score": nil}, `"score":{"inc":1}`, map[string]any{"score": int64(1)}},
		{"inc int", map[string]any{"score": int64(5)}, `"score":{"inc":2}`, map[string]any{"score": int64(7)}},
		{"inc negative", map[string]any{"score": int64(5)}, `"score":{"inc":-7}`, map[string]any{"score": int64(-2)}},
		// A store that decoded JSON without UseNumber gives back float64.
		{"inc whole float64 stays integral", map[string]any{"score": 5.0}, `"score":{"inc":1}`,
			map[string]any{"score": int64(6)}},
		{"inc int by float", map[string]any{"score": int64(5)}, `"score":{"inc":0.5}`, map[string]any{"score": 5.5}},
		{"inc float by int", map[string]any{"score": 1.5}, `"score":{"inc":1}`, map[string]any{"score": 2.5}},
		{"request order: set then inc", nil, `"score":1,"score":{"inc":2}`, map[string]any{"score": int64(3)}},
		{"add to missing", nil, `"tags":{"add":["a"]}`, map[string]any{"tags": []any{"a"}}},
		{"add nothing to missing", nil, `"tags":{"add":[]}`, map[string]any{"tags": []any{}}},
		{"add keeps duplicates", map[string]any{"tags": []any{"a"}}, `"tags":{"add":["a","b"]}`,
			map[string]any{"tags": []any{"a", "a", "b"}}},
		{"add up to 100", map[string]any{"tags": hundred[:99]}, `"tags":{"add":[99]}`,
			map[string]any{"tags": hundred}},
		{"remove every equal element", map[string]any{"tags": []any{int64(1), "1", 1.0, int64(2)}},
			`"tags":{"remove":[1]}`, map[string]any{"tags": []any{"1", int64(2)}}},
		{"remove objects by content", map[string]any{"tags": []any{map[string]any{"a": int64(1), "b": "x"}, "y"}},
			`"tags":{"remove":[{"b":"x","a":1}]}`, map[string]any{"tags": []any{"y"}}},
		{"remove from missing creates nothing", nil, `"tags":{"remove":["a"]}`, map[string]any{}},
		{"remove absent value", map[string]any{"tags": []any{"a"}}, `"tags":{"remove":["z"]}`,
			map[string]any{"tags": []any{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &hookflow.User{Attributes: tt.start}
			if err := update(t, tt.attrs).Apply(u); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !reflect.DeepEqual(u.Attributes, tt.want) {
				t.Errorf("got  %#v\nwant %#v", u.Attributes, tt.want)
			}
		})
	}
}

func TestApplyClashes(t *testing.T) {
	hundred := make([]any, 100)
	tests := []struct {
		name  string
		start map[string]any
		attrs string
		want  string
	}{
		{"inc a string", map[string]any{"score": "5"}, `"score":{"inc":1}`, `attribute "score": cannot increment a string`},
		{"inc an array", map[string]any{"score": []any{}}, `"score":{"inc":1}`, `attribute "score": cannot increment an array`},
		{"inc a boolean", map[string]any{"score": true}, `"score":{"inc":1}`, `attribute "score": cannot increment a boolean`},
		{"inc overflows", map[string]any{"score": int64(9223372036854775807)}, `"score":{"inc":1}`,
			`attribute "score": increment overflows: 9223372036854775807 + 1`},
		{"add to a string", map[string]any{"tags": "a"}, `"tags":{"add":["b"]}`,
			`attribute "tags": cannot add elements: it holds a string, not an array`},
		{"remove from an object", map[string]any{"tags": map[string]any{}}, `"tags":{"remove":["b"]}`,
			`attribute "tags": cannot remove elements: it holds an object, not an array`},
		{"add past 100", map[string]any{"tags": hundred}, `"tags":{"add":["b"]}`,
			`attribute "tags": adding 1 elements to 100 would exceed 100`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The first op succeeds on its own; the clash must undo it.
			u := &hookflow.User{Attributes: tt.start}
			before := fmt.Sprint(tt.start)

			err := update(t, `"plan":"gold",`+tt.attrs).Apply(u)

			var ae *intake.AttributeError
			if !errors.As(err, &ae) || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if got := fmt.Sprint(u.Attributes); got != before || u.Attributes["plan"] != nil {
				t.Errorf("attributes changed to %v, want %v", got, before)
			}
		})
	}
}

// TestApplyIntegersPrint checks what templates will see: {"inc": 1} on a
// missing attribute prints 1, not 1.0 or 1e+00.
func TestApplyIntegersPrint(t *testing.T) {
	u := &hookflow.User{}
	up := update(t, `"score":{"inc":1},"visits":{"inc":1},"visits":{"inc":1}`)
	if err := up.Apply(u); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(u.Attributes)
	if got, want := string(out), `{"score":1,"visits":2}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
	if got := fmt.Sprint(u.Attributes["score"]); got != "1" {
		t.Errorf("printed %q, want 1", got)
	}
}

// TestApplySharesNothing checks that applying twice, or editing the profile
// afterwards, never reaches back into the parsed update.
func TestApplySharesNothing(t *testing.T) {
	up := update(t, `"tags":{"add":["a"]}`)
	u1, u2 := &hookflow.User{}, &hookflow.User{}
	if err := up.Apply(u1); err != nil {
		t.Fatal(err)
	}
	u1.Attributes["tags"].([]any)[0] = "changed"
	if err := up.Apply(u2); err != nil {
		t.Fatal(err)
	}
	if got := u2.Attributes["tags"]; !reflect.DeepEqual(got, []any{"a"}) {
		t.Errorf("second apply gave %v, want [a]", got)
	}
}
