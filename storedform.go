package hookflow

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// StoredForm returns p as a store gives it back: what decoding its JSON
// yields, numbers through NormalizeNumbers. A store that hands a delivery
// it has just enqueued to its sender without reading it back (HandOffer)
// hands it over in this form, so its template renders the same bytes as it
// would from the stored row: 2.0 comes back as the whole number 2, a string
// with invalid UTF-8 with U+FFFD in place of each bad byte, an empty map of
// the payload as none, a time in the zone its offset decodes to.
//
// A payload already in that form, as intake's parsing leaves one, comes
// back as it is, sharing its maps with p, which must then not change;
// any other is copied.
func (p Payload) StoredForm() (Payload, error) { return jsonForm.payload(p) }

// StoredFormFloatsKept is StoredForm for a store that writes a whole
// float64 so that it reads back a float64 (PostgreSQL writes 2.0 as 2.0).
func (p Payload) StoredFormFloatsKept() (Payload, error) { return floatsKept.payload(p) }

// form is a store's rule for what its JSON round trip gives back.
type form struct {
	keepFloats bool
}

var (
	jsonForm   = form{}
	floatsKept = form{keepFloats: true}
)

func (f form) payload(p Payload) (Payload, error) {
	if f.stored(p) {
		return p, nil
	}
	var out Payload
	var err error
	if p.Event != nil {
		ev := &EventPayload{Name: storedString(p.Event.Name)}
		if ev.Time, err = storedTime(p.Event.Time); err != nil {
			return Payload{}, err
		}
		if ev.Properties, err = f.topMap(p.Event.Properties); err != nil {
			return Payload{}, err
		}
		out.Event = ev
	}
	if out.TriggerProperties, err = f.topMap(p.TriggerProperties); err != nil {
		return Payload{}, err
	}
	if out.Context, err = f.topMap(p.Context); err != nil {
		return Payload{}, err
	}
	return out, nil
}

// stored says whether p is in its stored form already.
func (f form) stored(p Payload) bool {
	if ev := p.Event; ev != nil {
		t, err := storedTime(ev.Time)
		if err != nil || t != ev.Time || !utf8.ValidString(ev.Name) || !f.storedTop(ev.Properties) {
			return false
		}
	}
	return f.storedTop(p.TriggerProperties) && f.storedTop(p.Context)
}

// storedTop says whether a map field of Payload decodes to itself: nil,
// or not empty and holding only what decoding yields.
func (f form) storedTop(m map[string]any) bool {
	return m == nil || len(m) > 0 && f.isStored(m)
}

// isStored says whether v is what decoding its JSON yields, as value
// would return it.
func (f form) isStored(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64:
		return true
	case string:
		return utf8.ValidString(x)
	case float64:
		g, err := f.float(x)
		return err == nil && g == any(x)
	case map[string]any:
		if x == nil {
			return false // encoded as null
		}
		for k, e := range x {
			if !utf8.ValidString(k) || !f.isStored(e) {
				return false
			}
		}
		return true
	case []any:
		if x == nil {
			return false // encoded as null
		}
		for _, e := range x {
			if !f.isStored(e) {
				return false
			}
		}
		return true
	}
	return false
}

// topMap is a map field of Payload, which omitempty leaves out of the
// JSON when empty: it decodes to nil.
func (f form) topMap(m map[string]any) (map[string]any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	v, err := f.value(m)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// value is v as decoding its JSON yields it. The types JSON decoding
// itself produces are copied directly; anything else takes the round trip.
func (f form) value(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64:
		return x, nil
	case string:
		return storedString(x), nil
	case int:
		return int64(x), nil
	case float64:
		return f.float(x)
	case json.Number:
		return number(x)
	case map[string]any:
		if x == nil {
			return nil, nil // encoded as null
		}
		return f.mapOf(x)
	case []any:
		if x == nil {
			return nil, nil // encoded as null
		}
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = f.value(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return f.roundTrip(v)
}

func (f form) mapOf(m map[string]any) (any, error) {
	out := make(map[string]any, len(m))
	for k, e := range m {
		if !utf8.ValidString(k) {
			// Two bad keys can decode to one: only the round trip says
			// which value wins.
			return f.roundTrip(m)
		}
		v, err := f.value(e)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// float follows encoding/json: a whole float64 under 1e21 is written as
// its shortest digits without a fraction or exponent, which decode as an
// integer when they fit an int64 (2.0 comes back 2, but -2^63 as
// -9223372036854776000, which does not fit); any other float64 is written
// in a form that decodes to itself. With keepFloats every float64 comes
// back as itself.
func (f form) float(x float64) (any, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, fmt.Errorf("number %v cannot be stored as JSON", x)
	}
	if !f.keepFloats && x == math.Trunc(x) && math.Abs(x) < 1e21 {
		return number(json.Number(strconv.FormatFloat(x, 'f', -1, 64)))
	}
	return x, nil
}

// storedString replaces each byte that is not valid UTF-8 with U+FFFD, as
// encoding/json writes it.
func storedString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func storedTime(t time.Time) (time.Time, error) {
	b, err := t.MarshalJSON()
	if err != nil {
		return time.Time{}, err
	}
	var out time.Time
	err = out.UnmarshalJSON(b)
	return out, err
}

// roundTrip encodes v and decodes it back, as a store does.
func (f form) roundTrip(v any) (any, error) {
	if f.keepFloats {
		v = MarkFloats(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return NormalizeNumbers(out)
}

// MarkFloats returns v with each whole float64 inside its maps and slices
// replaced by a json.Number with a fraction (2.0 for 2), which decodes as a
// float64: encoding/json writes float64(2) as 2, which decodes as int64. A
// store whose values must come back with the types they went in with
// encodes them through it. v itself is not changed.
func MarkFloats(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = MarkFloats(e)
		}
		return out
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = MarkFloats(e)
		}
		return out
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e21 {
			return json.Number(strconv.FormatFloat(x, 'f', -1, 64) + ".0")
		}
	}
	return v
}
