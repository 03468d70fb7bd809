package intake

import (
	"net/mail"
	"strings"
	"time"
	// Embedded so time_zone is checked the same way on hosts without a
	// zoneinfo database (minimal containers); it adds about 450 KB.
	_ "time/tzdata"

	"github.com/hookflow/hookflow"
)

// MaxArrayLen is the most elements an array attribute may hold.
const MaxArrayLen = 100

// maxNameLen bounds attribute names and property keys (Braze's limit for
// property keys, applied to attribute names too).
const maxNameLen = 255

// OpKind is what an AttributeOp does.
type OpKind string

// The attribute operations.
const (
	// OpSet replaces the attribute with Value.
	OpSet OpKind = "set"
	// OpInc adds Value (int64 or float64) to a numeric attribute; a missing
	// attribute counts as 0.
	OpInc OpKind = "inc"
	// OpAdd appends the elements of Value ([]any) to an array attribute,
	// creating it if missing.
	OpAdd OpKind = "add"
	// OpRemove removes from an array attribute every element equal to one of
	// Value's ([]any).
	OpRemove OpKind = "remove"
	// OpDelete removes the attribute.
	OpDelete OpKind = "delete"
)

// AttributeOp is one change to one attribute.
type AttributeOp struct {
	Kind  OpKind
	Name  string
	Value any
}

// AttributeUpdate is one valid object of the attributes array: the user it
// names and its operations in request order.
type AttributeUpdate struct {
	// Index is the object's position in the request's attributes array.
	Index int
	Ref   hookflow.UserRef
	// UpdateExistingOnly means the store must not create a profile for an
	// unknown user.
	UpdateExistingOnly bool
	Ops                []AttributeOp
}

// Keys Braze gives a meaning Hookflow does not implement; refusing them is
// better than storing them as custom attributes nobody asked for.
var unsupportedKeys = map[string]bool{
	"_merge_objects": true, "push_tokens": true, "subscription_groups": true,
}

// parseAttributes turns an attributes object into an update.
func parseAttributes(obj object) (AttributeUpdate, error) {
	var a AttributeUpdate
	var err error
	if a.Ref, err = parseRef(obj); err != nil {
		return a, err
	}
	if a.UpdateExistingOnly, err = updateOnly(obj); err != nil {
		return a, err
	}

	for _, f := range obj {
		switch f.key {
		case keyExternalID, keyBrazeID, keyAlias, keyUpdateOnly:
			continue
		}
		op, err := parseOp(f.key, f.value)
		if err != nil {
			return a, err
		}
		a.Ops = append(a.Ops, op)
	}
	return a, nil
}

// parseOp reads one attribute key and value.
func parseOp(name string, v any) (AttributeOp, error) {
	switch {
	case name == "":
		return AttributeOp{}, itemError("attribute names must not be empty")
	case len(name) > maxNameLen:
		return AttributeOp{}, failf("attribute name %s is longer than %d characters", quote(name), maxNameLen)
	case unsupportedKeys[name]:
		return AttributeOp{}, failf("'%s' is not supported by Hookflow", name)
	}

	if v == nil {
		return AttributeOp{Kind: OpDelete, Name: name}, nil
	}
	if kind, arg, ok := operator(v); ok {
		return parseOperator(name, kind, arg)
	}
	if hookflow.StandardAttributes[name] {
		s, err := standard(name, v)
		return AttributeOp{Kind: OpSet, Name: name, Value: s}, err
	}
	if arr, ok := v.([]any); ok && len(arr) > MaxArrayLen {
		return AttributeOp{}, failf("attribute %q has %d elements; at most %d are allowed",
			name, len(arr), MaxArrayLen)
	}
	return AttributeOp{Kind: OpSet, Name: name, Value: v}, nil
}

// operator recognises {"inc": n}, {"add": [...]} and {"remove": [...]}: an
// object whose only key is one of those. Any other object is a nested
// attribute value.
func operator(v any) (OpKind, any, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, arg := range m {
		switch OpKind(k) {
		case OpInc, OpAdd, OpRemove:
			return OpKind(k), arg, true
		}
	}
	return "", nil, false
}

// parseOperator checks an inc, add or remove.
func parseOperator(name string, kind OpKind, arg any) (AttributeOp, error) {
	op := AttributeOp{Kind: kind, Name: name, Value: arg}
	if hookflow.StandardAttributes[name] {
		return op, failf("'%s' on %q: standard attributes take only a value or null", kind, name)
	}
	if kind == OpInc {
		switch arg.(type) {
		case int64, float64:
			return op, nil
		}
		return op, failf("'inc' on %q must be a number, not %s", name, kindOf(arg))
	}

	arr, ok := arg.([]any)
	if !ok {
		return op, failf("'%s' on %q must be an array, not %s", kind, name, kindOf(arg))
	}
	if len(arr) > MaxArrayLen {
		return op, failf("'%s' on %q has %d elements; at most %d are allowed", kind, name, len(arr), MaxArrayLen)
	}
	return op, nil
}

// standard checks a standard attribute's value and returns it as stored.
func standard(name string, v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, failf("%q must be a string, not %s", name, kindOf(v))
	}
	switch name {
	case "email":
		if !isEmail(s) {
			return nil, failf("'email' is not a valid email address: %s", quote(s))
		}
	case "time_zone":
		if !isTimeZone(s) {
			return nil, failf("'time_zone' is not an IANA time zone name: %s", quote(s))
		}
	case "country":
		if len(s) != 2 || !isLetters(s) {
			return nil, failf("'country' must be a two-letter ISO-3166-1 code: %s", quote(s))
		}
		return strings.ToUpper(s), nil
	case "dob":
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, failf("'dob' must be a date as YYYY-MM-DD: %s", quote(s))
		}
	case "gender":
		return oneOf(name, strings.ToUpper(s), s, "M", "F", "O", "U", "N", "P")
	case "email_subscribe", "push_subscribe":
		return oneOf(name, s, s, "opted_in", "subscribed", "unsubscribed")
	case "date_of_first_session", "date_of_last_session":
		t, err := parseTime(s)
		if err != nil {
			return nil, failf("'%s' is not a valid ISO-8601 time: %s", name, quote(s))
		}
		return t.Format(time.RFC3339Nano), nil
	}
	return s, nil
}

// oneOf accepts norm if it is one of allowed; raw is what the caller sent.
func oneOf(name, norm, raw string, allowed ...string) (any, error) {
	for _, a := range allowed {
		if norm == a {
			return norm, nil
		}
	}
	return nil, failf("%q must be one of %s: %s", name, strings.Join(allowed, ", "), quote(raw))
}

// isEmail accepts a bare address (no display name) with a dotted domain.
func isEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return false
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// isTimeZone accepts IANA names such as "Europe/Paris" and "UTC". "Local"
// names the server's zone, not a user's, so it is refused.
func isTimeZone(s string) bool {
	if s == "" || s == "Local" {
		return false
	}
	_, err := time.LoadLocation(s)
	return err == nil
}

func isLetters(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}
