package intake

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// The reader must decode exactly as json.Decoder with UseNumber does.
func TestValueReaderMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `""`, `0`, `-1.5e+10`, `1E3`, `true`, `false`, `null`,
		`"plain"`, `"caf\u00e9 \"quoted\" \\ \/ \n\t"`, `"\ud83d\ude00 surrogate pair"`,
		`"\ud800 lone surrogate"`, "\"invalid \xff utf-8\"", `"ünïcödé ✓"`,
		` { "a" : [ 1 , 2.0 , { "b" : null } ] , "c" : { } , "d" : [ ] } `,
		`{"dup": 1, "dup": 2}`, `{"k\u0065y": "v"}`, `{"nested": {"deep": [[[{"x": [true]}]]]}}`,
		"{\"ws\":\r\n\t[ 1 ,\n2 ]\n}", `[1,"two",{"three":3},[4],null,false]`,
		`{"big": 9007199254740993, "neg": -0, "frac": 0.1}`,
		`{"braces in strings": "{[}]\",", "k": "]"}`,
	}
	for _, in := range inputs {
		dec := json.NewDecoder(bytes.NewReader([]byte(in)))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json cannot decode %q: %v", in, err)
		}

		r := valueReader{data: []byte(in)}
		got, err := r.value()
		if err != nil {
			t.Errorf("value(%q): %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("value(%q)\n got %#v\nwant %#v", in, got, want)
		}
		if r.peek() != 0 {
			t.Errorf("value(%q) stopped at byte %d", in, r.pos)
		}

		r = valueReader{data: []byte(in)}
		raw, err := r.skip()
		if err != nil || string(raw) != string(bytes.TrimSpace([]byte(in))) {
			t.Errorf("skip(%q) = %q, %v; want the whole value", in, raw, err)
		}
	}
}

// decodeObject keeps the keys in request order, repeated ones included.
func TestDecodeObjectKeepsKeyOrder(t *testing.T) {
	obj, err := decodeObject(json.RawMessage(`{"z": 1, "a": {"n": 2}, "z": "again", "m\u00e9": []}`))
	if err != nil {
		t.Fatal(err)
	}
	want := object{{"z", int64(1)}, {"a", map[string]any{"n": int64(2)}}, {"z", "again"},
		{"mé", []any{}}}
	if !reflect.DeepEqual(obj, want) {
		t.Errorf("decodeObject = %#v, want %#v", obj, want)
	}
}
