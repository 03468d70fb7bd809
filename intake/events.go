package intake

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow"
)

// MaxPropertiesBytes bounds an event's or purchase's properties, measured as
// their compact JSON encoding: Braze's 100 KB, read as 100 KiB.
const MaxPropertiesBytes = 100 << 10

// maxStringLen bounds top-level string property values and product ids.
const maxStringLen = 255

// EventInput is one valid object of the events array.
type EventInput struct {
	// Index is the object's position in the request's events array.
	Index int
	Ref   hookflow.UserRef
	// UpdateExistingOnly means the store must not create a profile for an
	// unknown user.
	UpdateExistingOnly bool
	// Event has Name, Time (UTC, never after the time of receipt), AppID,
	// Properties (never nil) and ReceivedAt set; ID and UserID are left to
	// the store.
	Event hookflow.Event
}

// PurchaseInput is one valid object of the purchases array.
type PurchaseInput struct {
	// Index is the object's position in the request's purchases array.
	Index int
	Ref   hookflow.UserRef
	// UpdateExistingOnly means the store must not create a profile for an
	// unknown user.
	UpdateExistingOnly bool
	// Event is as in EventInput, with Name set to the product id and
	// Purchase set.
	Event hookflow.Event
}

// parseEvent turns an events object into an input.
func parseEvent(obj object, now time.Time) (EventInput, error) {
	var in EventInput
	var err error
	if in.Ref, in.UpdateExistingOnly, err = parseSubject(obj); err != nil {
		return in, err
	}
	if in.Event.Name, err = requiredString(obj, "name"); err != nil {
		return in, err
	}
	in.Event, err = parseOccurrence(obj, in.Event.Name, now)
	return in, err
}

// parsePurchase turns a purchases object into an input.
func parsePurchase(obj object, now time.Time) (PurchaseInput, error) {
	var in PurchaseInput
	var err error
	if in.Ref, in.UpdateExistingOnly, err = parseSubject(obj); err != nil {
		return in, err
	}
	p, err := parsePurchaseFields(obj)
	if err != nil {
		return in, err
	}
	if in.Event, err = parseOccurrence(obj, p.ProductID, now); err != nil {
		return in, err
	}
	in.Event.Purchase = p
	return in, nil
}

// parseSubject reads the user reference and _update_existing_only.
func parseSubject(obj object) (hookflow.UserRef, bool, error) {
	ref, err := parseRef(obj)
	if err != nil {
		return ref, false, err
	}
	only, err := updateOnly(obj)
	return ref, only, err
}

// parseOccurrence reads what events and purchases share: time, app_id and
// properties.
func parseOccurrence(obj object, name string, now time.Time) (hookflow.Event, error) {
	ev := hookflow.Event{Name: name, ReceivedAt: now}

	raw, err := requiredString(obj, "time")
	if err != nil {
		return ev, err
	}
	if ev.Time, err = parseTime(raw); err != nil {
		return ev, failf("'time' is not a valid ISO-8601 time: %s", quote(raw))
	}
	// Braze clamps future times: a client clock running fast must not make
	// an event look as if it had not happened yet.
	if ev.Time.After(now) {
		ev.Time = now
	}

	if v, ok := obj.get("app_id"); ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return ev, failf("'app_id' must be a string, not %s", kindOf(v))
		}
		ev.AppID = s
	}

	ev.Properties, ev.EncodedProperties, err = parseProperties(obj)
	return ev, err
}

// parsePurchaseFields reads product_id, currency, price and quantity.
func parsePurchaseFields(obj object) (*hookflow.Purchase, error) {
	id, err := requiredString(obj, "product_id")
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(id) > maxStringLen {
		return nil, failf("'product_id' is longer than %d characters", maxStringLen)
	}

	cur, err := requiredString(obj, "currency")
	if err != nil {
		return nil, err
	}
	if len(cur) != 3 || !isLetters(cur) {
		return nil, failf("'currency' must be a three-letter ISO-4217 code: %s", quote(cur))
	}

	price, err := requiredPrice(obj)
	if err != nil {
		return nil, err
	}

	qty := int64(1)
	if v, ok := obj.get("quantity"); ok && v != nil {
		q, isInt := v.(int64)
		if !isInt || q < 1 || q > 100 {
			return nil, failf("'quantity' must be a whole number from 1 to 100: %s", quote(v))
		}
		qty = q
	}

	return &hookflow.Purchase{
		ProductID: id, Currency: strings.ToUpper(cur), Price: price, Quantity: int(qty),
	}, nil
}

// requiredPrice reads price, which must be a number.
func requiredPrice(obj object) (float64, error) {
	v, ok := obj.get("price")
	switch v := v.(type) {
	case int64:
		return float64(v), nil
	case float64:
		return v, nil
	case nil:
		if !ok {
			return 0, itemError("'price' is required")
		}
	}
	return 0, failf("'price' must be a number, not %s", kindOf(v))
}

// requiredString reads a key that must hold a non-empty string.
func requiredString(obj object, key string) (string, error) {
	v, ok := obj.get(key)
	if !ok || v == nil {
		return "", failf("'%s' is required", key)
	}
	s, ok := v.(string)
	if !ok {
		return "", failf("'%s' must be a string, not %s", key, kindOf(v))
	}
	if s == "" {
		return "", failf("'%s' must not be empty", key)
	}
	return s, nil
}

// reservedProperties are keys Braze keeps for itself.
var reservedProperties = map[string]bool{"time": true, "event_name": true}

// parseProperties reads and checks the properties object, and returns it
// with its encoding (encodeCompact); absent or null gives an empty map and
// no encoding.
func parseProperties(obj object) (map[string]any, []byte, error) {
	v, ok := obj.get("properties")
	if !ok || v == nil {
		return map[string]any{}, nil, nil
	}
	props, ok := v.(map[string]any)
	if !ok {
		return nil, nil, failf("'properties' must be an object, not %s", kindOf(v))
	}

	for k, v := range props {
		if err := checkProperty(k, v); err != nil {
			return nil, nil, err
		}
	}

	encoded, err := encodeCompact(props)
	if err != nil {
		return nil, nil, failf("'properties' cannot be encoded: %v", err)
	}
	if len(encoded) > MaxPropertiesBytes {
		return nil, nil, failf("'properties' is %d bytes of JSON; at most %d are allowed",
			len(encoded), MaxPropertiesBytes)
	}
	return props, encoded, nil
}

// checkProperty checks one top-level property.
func checkProperty(k string, v any) error {
	switch {
	case k == "":
		return itemError("property keys must not be empty")
	case utf8.RuneCountInString(k) > maxNameLen:
		return failf("property key %s is longer than %d characters", quote(k), maxNameLen)
	case strings.HasPrefix(k, "$"):
		return failf("property key %s must not start with '$'", quote(k))
	case reservedProperties[k]:
		return failf("property key %s is reserved", quote(k))
	}
	if s, ok := v.(string); ok && utf8.RuneCountInString(s) > maxStringLen {
		return failf("property %s is longer than %d characters", quote(k), maxStringLen)
	}
	return nil
}

// encodeCompact encodes v as compact JSON without HTML escaping, which is
// how its size is measured and how it may be stored.
func encodeCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil // Encode adds a newline.
}

// Layouts accepted for times. When parsing, Go accepts fractional seconds
// after the seconds field even if the layout has none.
var timeLayouts = []string{
	time.RFC3339,                // 2026-12-03T18:37:24Z, …+01:00
	"2006-01-02T15:04:05Z0700",  // …+0100
	"2006-01-02T15:04:05",       // no zone: UTC
	"2006-01-02 15:04:05Z07:00", // space for T, as some clients send
	"2006-01-02 15:04:05",
}

// parseTime reads an ISO-8601 time and returns it in UTC.
func parseTime(s string) (time.Time, error) {
	var err error
	for _, layout := range timeLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}
