package intake

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// valueReader decodes JSON that encoding/json has already validated (Parse
// splits the body with json.Unmarshal first) into the values a json.Decoder
// with UseNumber would produce: map[string]any, []any, string, json.Number,
// bool and nil. It exists because the Decoder's token API, which keeping
// key order needs, cost more than half of Parse: it formats an error
// message for every value that a comma follows.
//
// Strings with escapes or bytes that are not UTF-8 are handed to
// encoding/json, so their decoding (replacement characters included) is
// exactly its own.
type valueReader struct {
	data []byte
	pos  int
}

// errMalformed reports input that was not valid JSON after all; Parse
// never passes such input.
var errMalformed = errors.New("malformed JSON")

func (r *valueReader) skipSpace() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the next byte that is not white space, or 0 at the end.
func (r *valueReader) peek() byte {
	r.skipSpace()
	if r.pos >= len(r.data) {
		return 0
	}
	return r.data[r.pos]
}

// expect consumes c, the next byte that is not white space.
func (r *valueReader) expect(c byte) error {
	if r.peek() != c {
		return errMalformed
	}
	r.pos++
	return nil
}

// value decodes the next value.
func (r *valueReader) value() (any, error) {
	switch c := r.peek(); c {
	case '{':
		return r.object()
	case '[':
		return r.array()
	case '"':
		return r.string()
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	case 'n':
		return nil, r.literal("null")
	case 0:
		return nil, errMalformed
	default:
		return r.number()
	}
}

func (r *valueReader) literal(word string) error {
	if len(r.data)-r.pos < len(word) || string(r.data[r.pos:r.pos+len(word)]) != word {
		return errMalformed
	}
	r.pos += len(word)
	return nil
}

func (r *valueReader) number() (any, error) {
	start := r.pos
	for r.pos < len(r.data) && isNumberByte(r.data[r.pos]) {
		r.pos++
	}
	if r.pos == start {
		return nil, errMalformed
	}
	return json.Number(r.data[start:r.pos]), nil
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// string decodes the string starting at the next byte, a quote.
func (r *valueReader) string() (string, error) {
	if err := r.expect('"'); err != nil {
		return "", err
	}
	start, plain := r.pos, true
	for r.pos < len(r.data) {
		switch c := r.data[r.pos]; {
		case c == '"':
			body := r.data[start:r.pos]
			r.pos++
			if plain && utf8.Valid(body) {
				return string(body), nil
			}
			var s string
			if err := json.Unmarshal(r.data[start-1:r.pos], &s); err != nil {
				return "", err
			}
			return s, nil
		case c == '\\':
			plain = false
			r.pos += 2
		default:
			r.pos++
		}
	}
	return "", errMalformed
}

func (r *valueReader) object() (map[string]any, error) {
	m := map[string]any{}
	err := r.members(func(key string) error {
		v, err := r.value()
		m[key] = v
		return err
	})
	return m, err
}

// members reads an object's members, calling member with each key when the
// reader stands at its value, which member must consume.
func (r *valueReader) members(member func(key string) error) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	if r.peek() == '}' {
		r.pos++
		return nil
	}
	for {
		key, err := r.string()
		if err != nil {
			return err
		}
		if err := r.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			return nil
		default:
			return errMalformed
		}
	}
}

func (r *valueReader) array() ([]any, error) {
	if err := r.expect('['); err != nil {
		return nil, err
	}
	a := []any{}
	if r.peek() == ']' {
		r.pos++
		return a, nil
	}
	for {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			return a, nil
		default:
			return nil, errMalformed
		}
	}
}

// skip consumes the next value and returns its bytes.
func (r *valueReader) skip() ([]byte, error) {
	c := r.peek()
	start := r.pos
	switch c {
	case 0:
		return nil, errMalformed
	case '"':
		if _, err := r.skipString(); err != nil {
			return nil, err
		}
	case '{', '[':
		if err := r.skipNested(); err != nil {
			return nil, err
		}
	default:
		for r.pos < len(r.data) && !isDelimiter(r.data[r.pos]) {
			r.pos++
		}
	}
	return r.data[start:r.pos], nil
}

// skipString consumes a string and reports whether it held an escape.
func (r *valueReader) skipString() (escaped bool, err error) {
	r.pos++ // the opening quote
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case '"':
			r.pos++
			return escaped, nil
		case '\\':
			escaped = true
			r.pos += 2
		default:
			r.pos++
		}
	}
	return escaped, errMalformed
}

// skipNested consumes an object or an array.
func (r *valueReader) skipNested() error {
	depth := 0
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case '"':
			if _, err := r.skipString(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				r.pos++
				return nil
			}
		}
		r.pos++
	}
	return errMalformed
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// elements returns the elements of the array at the reader, each raw.
func (r *valueReader) elements() ([]json.RawMessage, error) {
	if err := r.expect('['); err != nil {
		return nil, err
	}
	items := []json.RawMessage{}
	if r.peek() == ']' {
		r.pos++
		return items, nil
	}
	for {
		raw, err := r.skip()
		if err != nil {
			return nil, err
		}
		items = append(items, raw)
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			return items, nil
		default:
			return nil, errMalformed
		}
	}
}
