package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

// MaxObjects is the most objects each of attributes, events and purchases
// may hold in one request, as in Braze.
const MaxObjects = 75

// Names of the top-level arrays, also used as ItemError.InputArray.
const (
	InputAttributes = "attributes"
	InputEvents     = "events"
	InputPurchases  = "purchases"
)

// Batch is a parsed request: the valid objects of each array, in request
// order, and one ItemError for each object that was refused.
type Batch struct {
	Attributes []AttributeUpdate
	Events     []EventInput
	Purchases  []PurchaseInput
	Errors     []ItemError

	// present records which arrays the request held, so the response
	// reports counts only for those, as Braze does.
	present map[string]bool
}

// Refs lists the user of every item of b: attributes, then events, then
// purchases, one entry an item.
func (b *Batch) Refs() []hookflow.UserRef {
	refs := make([]hookflow.UserRef, 0, len(b.Attributes)+len(b.Events)+len(b.Purchases))
	for _, a := range b.Attributes {
		refs = append(refs, a.Ref)
	}
	for _, e := range b.Events {
		refs = append(refs, e.Ref)
	}
	for _, p := range b.Purchases {
		refs = append(refs, p.Ref)
	}
	return refs
}

// ItemError is one entry of Braze's errors[] array: what was wrong with the
// object at Index of InputArray ("attributes", "events" or "purchases").
type ItemError struct {
	Type       string `json:"type"`
	InputArray string `json:"input_array"`
	Index      int    `json:"index"`
}

// Parse validates a whole /users/track body. now is the time of receipt: it
// clamps event times in the future and becomes each event's ReceivedAt.
//
// A problem with the request as a whole returns a *hookflow.ValidationError
// and no batch. A problem with one object becomes an ItemError in the batch,
// and the valid objects are still returned.
func Parse(body []byte, now time.Time) (*Batch, error) {
	arrays, err := splitArrays(body)
	if err != nil {
		return nil, err
	}

	now = now.UTC()
	b := &Batch{present: map[string]bool{}}
	for name, items := range arrays {
		b.present[name] = true
		for i, raw := range items {
			if err := b.add(name, i, raw, now); err != nil {
				b.Errors = append(b.Errors, ItemError{Type: err.Error(), InputArray: name, Index: i})
			}
		}
	}
	sortItemErrors(b.Errors)
	return b, nil
}

// add parses one object of array name and appends it to b.
func (b *Batch) add(name string, index int, raw json.RawMessage, now time.Time) error {
	obj, err := decodeObject(raw)
	if err != nil {
		return err
	}
	switch name {
	case InputAttributes:
		a, err := parseAttributes(obj)
		a.Index = index
		if err == nil {
			b.Attributes = append(b.Attributes, a)
		}
		return err
	case InputEvents:
		e, err := parseEvent(obj, now)
		e.Index = index
		if err == nil {
			b.Events = append(b.Events, e)
		}
		return err
	default:
		p, err := parsePurchase(obj, now)
		p.Index = index
		if err == nil {
			b.Purchases = append(b.Purchases, p)
		}
		return err
	}
}

// splitArrays checks the shape of the request and returns its non-empty
// arrays by name, each element still raw.
func splitArrays(body []byte) (map[string][]json.RawMessage, error) {
	if !json.Valid(body) {
		return nil, invalidBody(body)
	}
	r := valueReader{data: body}
	switch r.peek() {
	case '{':
	case 'n':
		return nil, hookflow.Invalid("", "request body must be a JSON object, not null")
	default:
		return nil, hookflow.Invalid("", "request body must be a JSON object, not %s", jsonKind(body))
	}
	// As json.Unmarshal into a map would: the last of repeated keys wins.
	top := map[string][]byte{}
	err := r.members(func(key string) error {
		raw, err := r.skip()
		top[key] = raw
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("splitting the body: %w", err)
	}

	arrays := map[string][]json.RawMessage{}
	for _, name := range []string{InputAttributes, InputEvents, InputPurchases} {
		raw, ok := top[name]
		if !ok || string(raw) == "null" {
			continue
		}
		if raw[0] != '[' {
			return nil, hookflow.Invalid(name, "must be an array, not %s", jsonKind(raw))
		}
		items, err := (&valueReader{data: raw}).elements()
		if err != nil {
			return nil, fmt.Errorf("splitting %s: %w", name, err)
		}
		if len(items) > MaxObjects {
			return nil, hookflow.Invalid(name, "has %d objects; at most %d are allowed", len(items), MaxObjects)
		}
		arrays[name] = items
	}

	if countItems(arrays) == 0 {
		return nil, hookflow.Invalid("", "'attributes', 'events' or 'purchases' must hold at least one object%s",
			unknownFields(top))
	}
	return arrays, nil
}

// unknownFields names the top-level fields of a request that are none of
// the three arrays, for the error of a request with nothing to do: a
// misspelt "atributes" is then found at once. A request with something to
// do may carry other fields, as Braze's may.
func unknownFields(top map[string][]byte) string {
	var names []string
	for name := range top {
		if name != InputAttributes && name != InputEvents && name != InputPurchases {
			names = append(names, strconv.Quote(name))
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return " (unknown fields: " + strings.Join(names, ", ") + ")"
}

// invalidBody explains why body, which is not valid JSON, was refused.
func invalidBody(body []byte) error {
	var top any
	err := json.Unmarshal(body, &top)
	var syn *json.SyntaxError
	if errors.As(err, &syn) && syn.Error() != "unexpected end of JSON input" {
		// Say where (the offset counts from 1, as the api package's
		// messages do): a stray comma in a large batch is hard to find
		// from the reason alone.
		return hookflow.Invalid("", "request body is not valid JSON: %v (at byte %d)", err, syn.Offset)
	}
	return hookflow.Invalid("", "request body is not valid JSON: %v", err)
}

func countItems(arrays map[string][]json.RawMessage) int {
	n := 0
	for _, items := range arrays {
		n += len(items)
	}
	return n
}
