package render

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// show is the __show filter: the text a value prints as in {{ }}, the way
// Braze's Ruby Liquid prints it. An array prints as its elements joined with
// nothing between (Array#join); a hash prints as Ruby's Hash#inspect.
func show(v any) string {
	var b strings.Builder
	writeShown(&b, v)
	return b.String()
}

func writeShown(b *strings.Builder, v any) {
	if arr, ok := asSlice(v); ok {
		for _, item := range arr {
			writeShown(b, item)
		}
		return
	}
	b.WriteString(toS(v))
}

// toS is Ruby's to_s: what a value prints as on its own.
func toS(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return formatFloat(v)
	case float32:
		return formatFloat(float64(v))
	case time.Time:
		return v.Format("2006-01-02 15:04:05 -0700")
	}
	if m, ok := asMap(v); ok {
		return inspectMap(m)
	}
	if arr, ok := asSlice(v); ok {
		return inspectSlice(arr)
	}
	return fmt.Sprint(v)
}

// inspect is Ruby's inspect, used for values nested in a hash or an array.
func inspect(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return inspectString(v)
	}
	return toS(v)
}

func inspectString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

func inspectMap(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = inspectString(k) + "=>" + inspect(m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func inspectSlice(arr []any) string {
	parts := make([]string, len(arr))
	for i, item := range arr {
		parts[i] = inspect(item)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// formatFloat prints integral values without a fraction, since JSON gives
// every number as float64 and Ruby would have an Integer there, and never
// uses exponent notation for values a person would write out.
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	if math.Abs(f) >= 1e-4 && math.Abs(f) < 1e18 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// asMap returns v as a map[string]any when it is a map with string keys.
func asMap(v any) (map[string]any, bool) {
	if m, ok := v.(map[string]any); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	m := make(map[string]any, rv.Len())
	for _, k := range rv.MapKeys() {
		m[k.String()] = rv.MapIndex(k).Interface()
	}
	return m, true
}

// asSlice returns v as a []any when it is a slice or array (not bytes).
func asSlice(v any) ([]any, bool) {
	switch v := v.(type) {
	case []any:
		return v, true
	case []byte, string, nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	arr := make([]any, rv.Len())
	for i := range arr {
		arr[i] = rv.Index(i).Interface()
	}
	return arr, true
}
