package render

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"hash"
	"regexp"
	"strings"
	"time"

	"github.com/osteele/tuesday"
)

// standardFilters are the filters osteele/liquid defines itself.
var standardFilters = []string{
	"abs", "append", "capitalize", "ceil", "compact", "concat", "date", "default",
	"divided_by", "downcase", "escape", "escape_once", "first", "floor", "inspect",
	"join", "json", "last", "lstrip", "map", "minus", "modulo", "newline_to_br",
	"plus", "prepend", "remove", "remove_first", "replace", "replace_first",
	"reverse", "round", "rstrip", "size", "slice", "sort", "sort_natural", "split",
	"strip", "strip_html", "strip_newlines", "times", "truncate", "truncatewords",
	"type", "uniq", "upcase", "url_decode", "url_encode",
}

// brazeFilters are the filters Hookflow adds to osteele/liquid's or
// replaces where Braze's semantics differ (default, date, the numeric
// filters).
func brazeFilters(now func() time.Time) map[string]any {
	return map[string]any{
		showFilter: show,

		"default":        defaultFilter,
		"as_json_string": asJSONString,
		"json_escape":    jsonEscape,

		"url_escape":       urlEscape,
		"url_param_escape": urlParamEscape,

		"md5":                digest(md5.New),
		"sha1":               digest(sha1.New),
		"sha2":               digest(sha256.New),
		"base64_encode":      func(v any) string { return base64.StdEncoding.EncodeToString([]byte(toS(v))) },
		"hmac_sha1_hex":      hmacFilter(sha1.New, hex.EncodeToString),
		"hmac_sha1_base64":   hmacFilter(sha1.New, base64.StdEncoding.EncodeToString),
		"hmac_sha256_hex":    hmacFilter(sha256.New, hex.EncodeToString),
		"hmac_sha256_base64": hmacFilter(sha256.New, base64.StdEncoding.EncodeToString),
		// hmac_sha1 is brazejs's name for the hex form.
		"hmac_sha1": hmacFilter(sha1.New, hex.EncodeToString),

		"property_accessor":     propertyAccessor,
		"number_with_delimiter": numberWithDelimiter,

		"plus":       plus,
		"minus":      minus,
		"times":      times,
		"divided_by": dividedBy,
		"modulo":     modulo,
		"abs":        abs,
		"ceil":       ceil,
		"floor":      floor,
		"round":      round,
		"at_least":   atLeast,
		"at_most":    atMost,

		"date":      dateFilter(now),
		"time_zone": timeZoneFilter(now),
	}
}

var (
	liquidMarkup  = regexp.MustCompile(`(?s)\{\{.*?\}\}|\{%.*?%\}`)
	quotedLiteral = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	filterCall    = regexp.MustCompile(`\|\s*([A-Za-z_][A-Za-z0-9_]*)`)
)

// unknownFilter returns the first filter src uses that no one defines, and
// the line it is on, or "". osteele/liquid only notices an undefined filter
// when it runs, which would fail every send of a template saved without
// complaint.
func unknownFilter(src string, known map[string]bool) (string, int) {
	for _, loc := range liquidMarkup.FindAllStringIndex(src, -1) {
		markup := quotedLiteral.ReplaceAllStringFunc(src[loc[0]:loc[1]], blankQuoted)
		for _, m := range filterCall.FindAllStringSubmatchIndex(markup, -1) {
			if name := markup[m[2]:m[3]]; !known[name] {
				return name, lineAt(src, loc[0]) + strings.Count(markup[:m[2]], "\n")
			}
		}
	}
	return "", 0
}

// blankQuoted empties a quoted literal but keeps its newlines, so offsets
// into the markup still count the author's lines.
func blankQuoted(q string) string {
	return "''" + strings.Repeat("\n", strings.Count(q, "\n"))
}

// defaultFilter gives the fallback for nil, false, "" and an empty array
// or hash, as Ruby Liquid's default does (R3).
func defaultFilter(v, fallback any) any {
	if isBlank(v) {
		return fallback
	}
	return v
}

func isBlank(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	}
	if m, ok := asMap(v); ok {
		return len(m) == 0
	}
	if arr, ok := asSlice(v); ok {
		return len(arr) == 0
	}
	return false
}

// marshalJSON encodes v without escaping <, > and &, which would change
// the bytes a receiver sees for no benefit outside HTML.
func marshalJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func asJSONString(v any) (string, error) {
	return marshalJSON(v)
}

// jsonEscape escapes a value for use inside a JSON string literal: the
// JSON encoding of its text without the surrounding quotes.
func jsonEscape(v any) string {
	s, _ := marshalJSON(toS(v))
	return s[1 : len(s)-1]
}

func digest(newHash func() hash.Hash) func(any) string {
	return func(v any) string {
		h := newHash()
		h.Write([]byte(toS(v)))
		return hex.EncodeToString(h.Sum(nil))
	}
}

func hmacFilter(newHash func() hash.Hash, encode func([]byte) string) func(any, any) string {
	return func(v, key any) string {
		m := hmac.New(newHash, []byte(toS(key)))
		m.Write([]byte(toS(v)))
		return encode(m.Sum(nil))
	}
}

func propertyAccessor(v, key any) any {
	m, ok := asMap(v)
	if !ok {
		return nil
	}
	return m[toS(key)]
}

// urlParamEscape escapes everything but unreserved characters (a space
// becomes %20), so the result is safe as one query parameter value.
func urlParamEscape(v any) string {
	return percentEncode(toS(v), "-_.~")
}

// urlEscape escapes a whole URL, keeping the characters that give a URL
// its structure (/?:@&=+$,;) as Ruby's URI escape does.
func urlEscape(v any) string {
	return percentEncode(toS(v), "-_.!~*'();/?:@&=+$,[]")
}

func percentEncode(s, keep string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if alnum || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// dateFilter formats a date with strftime (%s gives Unix seconds). Like
// Ruby Liquid it returns a value that is not a date unchanged, and nil for
// nil.
func dateFilter(now func() time.Time) func(any, any) (any, error) {
	return func(v, format any) (any, error) {
		f := toS(format)
		if f == "" {
			return v, nil
		}
		t, ok := toTime(v, now)
		if !ok {
			return v, nil
		}
		return tuesday.Strftime(f, t)
	}
}

// timeZoneFilter converts a date to an IANA zone, for a date filter after
// it. An unknown zone leaves the time as it was (UTC for stored dates).
func timeZoneFilter(now func() time.Time) func(any, any) any {
	return func(v, zone any) any {
		t, ok := toTime(v, now)
		if !ok {
			return v
		}
		loc, err := time.LoadLocation(toS(zone))
		if err != nil || toS(zone) == "" {
			return t
		}
		return t.In(loc)
	}
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
	time.RFC1123Z,
	time.RFC1123,
	"January 2, 2006",
	"Jan 2, 2006",
}

// toTime reads a date the ways Ruby Liquid's to_date does: a time, "now" or
// "today", Unix seconds (number or digits), or a date string. Dates without
// a zone are UTC, as Braze's are.
func toTime(v any, now func() time.Time) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case float64, int, int64:
		return time.Unix(toNumber(v).i, 0).UTC(), true
	case string:
		return parseTime(strings.TrimSpace(v), now)
	}
	return time.Time{}, false
}

func parseTime(s string, now func() time.Time) (time.Time, bool) {
	switch {
	case s == "now" || s == "today":
		return now().UTC(), true
	case s != "" && strings.Trim(s, "0123456789") == "":
		return time.Unix(toNumber(s).i, 0).UTC(), true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
