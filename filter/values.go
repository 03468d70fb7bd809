package filter

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// number is a numeric value from JSON or from Go code. Integers are kept as
// int64 so that two large integers compare exactly; anything else is a
// float64.
type number struct {
	i     int64
	f     float64
	isInt bool
}

// asNumber converts the numeric types attributes, properties and filter
// values arrive in. NaN and infinities are refused: they cannot come from
// JSON and compare with nothing.
func asNumber(v any) (number, bool) {
	switch n := v.(type) {
	case int:
		return number{i: int64(n), isInt: true}, true
	case int32:
		return number{i: int64(n), isInt: true}, true
	case int64:
		return number{i: n, isInt: true}, true
	case uint32:
		return number{i: int64(n), isInt: true}, true
	case uint64:
		if n > math.MaxInt64 {
			return asFloat(float64(n))
		}
		return number{i: int64(n), isInt: true}, true
	case float32:
		return asFloat(float64(n))
	case float64:
		return asFloat(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return number{i: i, isInt: true}, true
		}
		f, err := n.Float64()
		if err != nil {
			return number{}, false
		}
		return asFloat(f)
	}
	return number{}, false
}

func asFloat(f float64) (number, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return number{}, false
	}
	return number{f: f}, true
}

// compareNumbers returns -1, 0 or +1. Two integers compare exactly; as soon
// as one side is a float both are compared as float64, so 3 equals 3.0.
func compareNumbers(a, b number) int {
	if a.isInt && b.isInt {
		return cmp.Compare(a.i, b.i)
	}
	return cmp.Compare(a.float(), b.float())
}

func (n number) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// isScalar reports whether v is a string, a number or a boolean: the values
// an equality or membership test can take.
func isScalar(v any) bool {
	switch v.(type) {
	case string, bool:
		return true
	}
	_, ok := asNumber(v)
	return ok
}

// scalarEqual compares two scalars by type: numbers numerically, strings
// byte for byte, booleans as booleans. Values of different types are never
// equal, so the string "3" does not equal the number 3.
func scalarEqual(a, b any) bool {
	if x, ok := asNumber(a); ok {
		y, ok := asNumber(b)
		return ok && compareNumbers(x, y) == 0
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// hasElement reports whether v is an array holding an element
// scalarEqual to want.
func hasElement(v, want any) bool {
	switch a := v.(type) {
	case []any:
		return slices.ContainsFunc(a, func(item any) bool { return scalarEqual(item, want) })
	case []string:
		s, ok := want.(string)
		return ok && slices.Contains(a, s)
	}
	return false
}

// timeLayouts are the forms a time is accepted in, tried in order: RFC 3339
// (with or without fractional seconds), ISO 8601 with a colon-less offset as
// Braze writes it ("2019-07-22T13:17:55+0000"), a zoneless date-time and a
// bare date, both taken as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// parseTime reads s in one of timeLayouts.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// badTime is the reason given for a time value that parseTime refuses.
func badTime(s string) string {
	return fmt.Sprintf("invalid time %q; want RFC 3339 such as 2019-07-22T13:17:55Z, or 2019-07-22", s)
}

// asTime reads a time attribute or property: a string in one of
// timeLayouts, or a time.Time put there by Go code.
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case string:
		return parseTime(t)
	case time.Time:
		return t, true
	}
	return time.Time{}, false
}
