package postgres

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hookflow/hookflow"
)

// Free-form values (attributes, event and trigger properties) must come back
// with the Go types they went in with: int64 for whole numbers, float64 for
// the rest, per hookflow.NormalizeNumbers, which decoding applies. But
// encoding/json writes float64(3) as 3, which would then read back as
// int64, so marked writes a whole float64 as 3.0: it reads back a float64.

// marked returns v with every whole float64 inside maps and slices replaced
// by a json.Number that keeps its ".0" (hookflow.MarkFloats).
func marked(v any) any { return hookflow.MarkFloats(v) }

// markedMap is marked for a map, keeping its type.
func markedMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return marked(m).(map[string]any)
}

// encodeDoc encodes v, a value whose free-form maps were passed through
// marked, as a JSON document; nil maps and pointers become NULL.
func encodeDoc(v any) (*string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	s := string(b)
	return &s, nil
}

// decodeDoc decodes a document written by encodeDoc into v, leaving v alone
// on NULL. Numbers in free-form values arrive as json.Number; callers pass
// the maps they hold through hookflow.NormalizeNumbers.
func decodeDoc(doc *string, v any) error {
	if doc == nil {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(*doc))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding stored JSON: %w", err)
	}
	return nil
}

// decodeMap decodes a document holding one free-form map.
func decodeMap(doc *string) (map[string]any, error) {
	var m map[string]any
	if err := decodeDoc(doc, &m); err != nil {
		return nil, err
	}
	if _, err := hookflow.NormalizeNumbers(m); err != nil {
		return nil, fmt.Errorf("decoding stored JSON: %w", err)
	}
	return m, nil
}
