package filter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hookflow/hookflow"
)

// Property filter operators, the values of hookflow.PropertyFilter.Op.
const (
	OpEquals       = "equals"
	OpNotEquals    = "not_equals"
	OpGreaterThan  = "greater_than"
	OpLessThan     = "less_than"
	OpExists       = "exists"
	OpDoesNotExist = "does_not_exist"
	OpContains     = "contains"
)

const opNames = "equals, not_equals, greater_than, less_than, exists, does_not_exist, contains"

// CheckProperties validates a trigger's property filters when a campaign is
// saved. Errors are *hookflow.ValidationError with Field such as
// "trigger.filters[2].op".
func CheckProperties(fs []hookflow.PropertyFilter) error {
	for i, f := range fs {
		if err := checkProperty(f, fmt.Sprintf("trigger.filters[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func checkProperty(f hookflow.PropertyFilter, path string) error {
	if f.Property == "" {
		return hookflow.Invalid(path+".property", "is required")
	}
	if slices.Contains(strings.Split(f.Property, "."), "") {
		return hookflow.Invalid(path+".property",
			"%q has an empty path segment; use dots only between names", f.Property)
	}

	switch f.Op {
	case OpExists, OpDoesNotExist:
		return nil
	case OpEquals, OpNotEquals, OpContains:
		if !isScalar(f.Value) {
			return hookflow.Invalid(path+".value", "must be a string, number or boolean for op %s", f.Op)
		}
		return nil
	case OpGreaterThan, OpLessThan:
		return checkOrdered(f, path)
	case "":
		return hookflow.Invalid(path+".op", "is required")
	}
	return hookflow.Invalid(path+".op", "unknown op %q; want one of %s", f.Op, opNames)
}

// checkOrdered accepts a number or a time string: the two kinds of value
// greater_than and less_than can order.
func checkOrdered(f hookflow.PropertyFilter, path string) error {
	if _, ok := asNumber(f.Value); ok {
		return nil
	}
	s, ok := f.Value.(string)
	if !ok {
		return hookflow.Invalid(path+".value", "must be a number or a time string for op %s", f.Op)
	}
	if _, ok := parseTime(s); !ok {
		// A string here is taken for a time; say so, since the author may
		// have meant a number ("abc" is no number either).
		return hookflow.Invalid(path+".value", "must be a number or a time string for op %s; %s", f.Op, badTime(s))
	}
	return nil
}

// MatchProperties reports whether every filter holds on an event's
// properties; no filters always hold. A filter CheckProperties would refuse
// does not hold.
func MatchProperties(fs []hookflow.PropertyFilter, props map[string]any) bool {
	for _, f := range fs {
		if !matchProperty(f, props) {
			return false
		}
	}
	return true
}

func matchProperty(f hookflow.PropertyFilter, props map[string]any) bool {
	v, ok := lookup(props, f.Property)

	// Like not_equal in Braze's segment filters, not_equals holds for an
	// event that lacks the property: it certainly is not equal.
	switch f.Op {
	case OpDoesNotExist:
		return !ok
	case OpNotEquals:
		return !ok || !scalarEqual(v, f.Value)
	}
	if !ok {
		return false
	}

	switch f.Op {
	case OpExists:
		return true
	case OpEquals:
		return scalarEqual(v, f.Value)
	case OpGreaterThan:
		c, ok := order(v, f.Value)
		return ok && c > 0
	case OpLessThan:
		c, ok := order(v, f.Value)
		return ok && c < 0
	case OpContains:
		return contains(v, f.Value)
	}
	return false
}

// lookup follows a dotted path through nested objects. A dot always
// separates names, so a key that itself holds a dot cannot be reached. A
// JSON null counts as missing.
func lookup(props map[string]any, path string) (any, bool) {
	var cur any = props
	for name := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur = obj[name]
	}
	return cur, cur != nil
}

// order compares a property with a filter value: numerically when both are
// numbers, as instants when both are time strings. Anything else (a number
// against a numeric string, a plain string) cannot be ordered.
func order(v, want any) (int, bool) {
	if a, ok := asNumber(v); ok {
		b, ok := asNumber(want)
		if !ok {
			return 0, false
		}
		return compareNumbers(a, b), true
	}

	s, ok := want.(string)
	if !ok {
		return 0, false
	}
	a, ok := asTime(v)
	if !ok {
		return 0, false
	}
	b, ok := parseTime(s)
	if !ok {
		return 0, false
	}
	return a.Compare(b), true
}

// contains is substring search when both are strings and membership when
// the property is an array; it is case-sensitive.
func contains(v, want any) bool {
	if s, ok := v.(string); ok {
		sub, ok := want.(string)
		return ok && strings.Contains(s, sub)
	}
	return hasElement(v, want)
}
