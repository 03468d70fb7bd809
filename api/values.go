package api

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

// timeZero is passed where a parse needs a "now" only to clamp event times,
// which attribute objects have none of.
var timeZero = time.Time{}

// normalize turns json.Number values (the decoder keeps numbers exact) into
// int64 when integral and float64 otherwise, recursively, so templates and
// filters see the same types /users/track stores.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// literal reports whether a template has no Liquid in it.
func literal(s string) bool {
	return !strings.Contains(s, "{{") && !strings.Contains(s, "{%")
}

// prefixed re-roots a validation error from the render package (whose
// fields start with "webhook") under field.
func prefixed(field string, err error) error {
	var ve *hookflow.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	return &hookflow.ValidationError{
		Field:  field + strings.TrimPrefix(ve.Field, "webhook"),
		Reason: ve.Reason,
	}
}
