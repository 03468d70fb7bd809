package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/hookflow/hookflow"
)

// field is one key of a request object with its decoded value.
type field struct {
	key   string
	value any
}

// object is a request object with its keys in request order, so attribute
// operations apply in the order the caller wrote them.
type object []field

// get returns the value of key, the last one if the key is repeated (as
// encoding/json would).
func (o object) get(key string) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].key == key {
			return o[i].value, true
		}
	}
	return nil, false
}

// itemError is a problem with one object; its message becomes the "type" of
// Braze's errors[] entry.
type itemError string

func (e itemError) Error() string { return string(e) }

// failf formats an item error.
func failf(format string, args ...any) error {
	return itemError(fmt.Sprintf(format, args...))
}

// decodeObject decodes raw, one element of a top-level array, keeping key
// order. raw is known to be valid JSON.
func decodeObject(raw json.RawMessage) (object, error) {
	r := valueReader{data: raw}
	if r.peek() != '{' {
		return nil, failf("the object must be a JSON object, not %s", jsonKind(raw))
	}

	var obj object
	var bad error
	err := r.members(func(key string) error {
		v, err := r.value()
		if err != nil {
			return err
		}
		if bad == nil {
			if v, err = hookflow.NormalizeNumbers(v); err != nil {
				bad = failf("%q: %v", key, err)
			}
		}
		obj = append(obj, field{key: key, value: v})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	if bad != nil {
		return nil, bad
	}
	return obj, nil
}

// jsonKind names the JSON type of raw for error messages.
func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// kindOf names the JSON type of a decoded value for error messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64, int, json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// quote renders a user's value in an error message: a string quoted, any
// other value as JSON, shortened so one bad value cannot make the response
// huge.
func quote(v any) string {
	s, isString := v.(string)
	if !isString {
		b, err := json.Marshal(v)
		if err != nil {
			return kindOf(v)
		}
		s = string(b)
	}
	const max = 64
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	if isString {
		return strconv.Quote(s)
	}
	return s
}

// Keys that identify the user rather than describe it.
const (
	keyExternalID = "external_id"
	keyBrazeID    = "braze_id"
	keyAlias      = "user_alias"
	keyEmail      = "email"
	keyUpdateOnly = "_update_existing_only"
)

var errNoRef = itemError("'external_id', 'braze_id', 'user_alias' or 'email' is required")

// parseRef picks the identifier that names the user, by Braze's priority:
// external_id, braze_id, user_alias, email. A null identifier counts as
// absent; the lower-priority ones are not examined.
func parseRef(obj object) (hookflow.UserRef, error) {
	if v, ok := obj.get(keyExternalID); ok && v != nil {
		s, err := identifier(keyExternalID, v)
		return hookflow.UserRef{ExternalID: s}, err
	}
	if v, ok := obj.get(keyBrazeID); ok && v != nil {
		s, err := identifier(keyBrazeID, v)
		return hookflow.UserRef{BrazeID: s}, err
	}
	if v, ok := obj.get(keyAlias); ok && v != nil {
		a, err := alias(v)
		return hookflow.UserRef{Alias: a}, err
	}
	if v, ok := obj.get(keyEmail); ok && v != nil {
		s, err := identifier(keyEmail, v)
		if err == nil && !isEmail(s) {
			err = failf("'email' is not a valid email address: %s", quote(s))
		}
		return hookflow.UserRef{Email: s}, err
	}
	if _, ok := obj.get("phone"); ok {
		return hookflow.UserRef{}, itemError("'phone' as an identifier is not supported by Hookflow; " +
			"use 'external_id', 'braze_id', 'user_alias' or 'email'")
	}
	return hookflow.UserRef{}, errNoRef
}

// identifier checks a string identifier.
func identifier(key string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", failf("'%s' must be a string, not %s", key, kindOf(v))
	}
	if s == "" {
		return "", failf("'%s' must not be empty", key)
	}
	return s, nil
}

// alias checks a user_alias object.
func alias(v any) (*hookflow.Alias, error) {
	errBad := itemError("'user_alias' must be an object with non-empty string " +
		"'alias_name' and 'alias_label'")
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errBad
	}
	name, _ := m["alias_name"].(string)
	label, _ := m["alias_label"].(string)
	if name == "" || label == "" {
		return nil, errBad
	}
	return &hookflow.Alias{Name: name, Label: label}, nil
}

// updateOnly reads _update_existing_only, false when absent or null.
func updateOnly(obj object) (bool, error) {
	v, ok := obj.get(keyUpdateOnly)
	if !ok || v == nil {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, failf("'%s' must be a boolean, not %s", keyUpdateOnly, kindOf(v))
	}
	return b, nil
}
