package filter

import (
	"regexp"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

// maxDays bounds the x_days comparisons: a century is plenty, and it keeps
// the span far below time.Duration's 292-year range.
const maxDays = 36500

// attribute tests one profile attribute. test sees the attribute's value,
// nil when the profile lacks it; negate turns a comparison into its
// complement (not_equal, does_not_match_regex, ...), so a negative
// comparison is true exactly when its positive one is false, including for a
// missing attribute or one of another type.
type attribute struct {
	name   string
	test   func(v any, now time.Time) bool
	negate bool
}

func (a attribute) match(attrs map[string]any, now time.Time) bool {
	return a.test(attrs[a.name], now) != a.negate
}

// negative maps each complement comparison to the one it negates.
var negative = map[string]string{
	"does_not_exist":         "exists",
	"not_equal":              "equals",
	"does_not_match_regex":   "matches_regex",
	"does_not_include_value": "includes_value",
}

// comparisonNames lists every comparison, for error messages.
const comparisonNames = "equals, not_equal, matches_regex, does_not_match_regex, " +
	"includes_value, does_not_include_value, greater_than, greater_than_or_equal_to, " +
	"less_than, less_than_or_equal_to, less_than_x_days_ago, greater_than_x_days_ago, " +
	"less_than_x_days_in_the_future, greater_than_x_days_in_the_future, after, before, " +
	"exists, does_not_exist"

func parseCustomAttribute(body any, path string) (node, error) {
	obj, err := fields(body, path, "custom_attribute_name", "comparison", "value")
	if err != nil {
		return nil, err
	}
	name, err := stringField(obj, "custom_attribute_name", path)
	if err != nil {
		return nil, err
	}
	cmp, err := stringField(obj, "comparison", path)
	if err != nil {
		return nil, err
	}

	positive, negate := cmp, false
	if p, ok := negative[cmp]; ok {
		positive, negate = p, true
	}

	value, hasValue := obj["value"]
	if positive != "exists" && (!hasValue || value == nil) {
		return nil, hookflow.Invalid(path+".value", "is required for comparison %s", cmp)
	}
	test, reason := compile(positive, value)
	if test == nil && reason == "" {
		return nil, hookflow.Invalid(path+".comparison", "unknown comparison %q; want one of %s",
			cmp, comparisonNames)
	}
	if reason != "" {
		return nil, hookflow.Invalid(path+".value", "%s (comparison %s)", reason, cmp)
	}
	return attribute{name: name, test: test, negate: negate}, nil
}

// compile builds the test of a positive comparison. It returns a reason when
// the value does not suit the comparison, and (nil, "") when the comparison
// is unknown.
func compile(cmp string, value any) (func(any, time.Time) bool, string) {
	switch cmp {
	case "exists":
		// Any value is ignored, so a filter may give one or leave it out.
		return func(v any, _ time.Time) bool { return v != nil }, ""
	case "equals":
		return equalTo(value)
	case "matches_regex":
		return matchesRegex(value)
	case "includes_value":
		return includes(value)
	case "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to":
		return numeric(cmp, value)
	case "less_than_x_days_ago", "greater_than_x_days_ago",
		"less_than_x_days_in_the_future", "greater_than_x_days_in_the_future":
		return relativeTime(cmp, value)
	case "after", "before":
		return absoluteTime(cmp, value)
	}
	return nil, ""
}

// equalTo compares by type: a string value tests string attributes, a
// number numeric ones, a boolean boolean ones.
func equalTo(value any) (func(any, time.Time) bool, string) {
	if !isScalar(value) {
		return nil, "must be a string, number or boolean"
	}
	return func(v any, _ time.Time) bool { return scalarEqual(v, value) }, ""
}

// matchesRegex uses Go's RE2 syntax, not Ruby's: lookarounds and
// backreferences are refused at parse time. Matching is case-sensitive
// unless the pattern starts with (?i), and unanchored.
func matchesRegex(value any) (func(any, time.Time) bool, string) {
	pattern, ok := value.(string)
	if !ok {
		return nil, "must be a string"
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, "invalid regular expression (Go RE2 syntax, no lookarounds): " +
			strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	}
	return func(v any, _ time.Time) bool {
		s, ok := v.(string)
		return ok && re.MatchString(s)
	}, ""
}

// includes tests array attributes for one element equal to value.
func includes(value any) (func(any, time.Time) bool, string) {
	if !isScalar(value) {
		return nil, "must be a string, number or boolean"
	}
	return func(v any, _ time.Time) bool { return hasElement(v, value) }, ""
}

// numeric orders numeric attributes against a number. A numeric string such
// as "3" is not a number and never matches.
func numeric(cmp string, value any) (func(any, time.Time) bool, string) {
	want, ok := asNumber(value)
	if !ok {
		return nil, "must be a number"
	}
	return func(v any, _ time.Time) bool {
		got, ok := asNumber(v)
		if !ok {
			return false
		}
		c := compareNumbers(got, want)
		switch cmp {
		case "greater_than":
			return c > 0
		case "greater_than_or_equal_to":
			return c >= 0
		case "less_than":
			return c < 0
		}
		return c <= 0
	}, ""
}

// relativeTime compares a time attribute with now, value being a number of
// days. A day is 24 hours counted from now, not a calendar day. The "ago"
// comparisons match only past times and the "in the future" ones only
// future times, so a date 2 days ahead is not "less than 7 days ago".
func relativeTime(cmp string, value any) (func(any, time.Time) bool, string) {
	days, ok := asNumber(value)
	if !ok || days.float() < 0 || days.float() > maxDays {
		return nil, "must be a number of days from 0 to 36500"
	}
	span := time.Duration(days.float() * float64(24*time.Hour))

	return func(v any, now time.Time) bool {
		t, ok := asTime(v)
		if !ok {
			return false
		}
		switch cmp {
		case "less_than_x_days_ago":
			return !t.After(now) && t.After(now.Add(-span))
		case "greater_than_x_days_ago":
			return t.Before(now.Add(-span))
		case "less_than_x_days_in_the_future":
			return !t.Before(now) && t.Before(now.Add(span))
		}
		return t.After(now.Add(span))
	}, ""
}

// absoluteTime compares a time attribute with a fixed time; both ends are
// exclusive.
func absoluteTime(cmp string, value any) (func(any, time.Time) bool, string) {
	s, ok := value.(string)
	if !ok {
		return nil, "must be a time string"
	}
	at, ok := parseTime(s)
	if !ok {
		return nil, badTime(s)
	}
	return func(v any, _ time.Time) bool {
		t, ok := asTime(v)
		if !ok {
			return false
		}
		if cmp == "after" {
			return t.After(at)
		}
		return t.Before(at)
	}, ""
}
