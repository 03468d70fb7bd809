package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

// MaxDepth is how many AND/OR levels an audience may nest. Braze documents
// no limit; Hookflow sets one so a hostile audience cannot exhaust the stack.
const MaxDepth = 10

// Audience is a parsed connected-audience object, ready to be matched against
// profiles. The nil *Audience is the empty audience: it matches everyone.
type Audience struct {
	root node
}

// node is one element of the audience tree: a group or a leaf filter.
type node interface {
	match(attrs map[string]any, now time.Time) bool
}

// ParseAudience validates raw and compiles it. Empty input, whitespace and
// the JSON literal null yield (nil, nil): no audience, everyone matches.
//
// Every refusal is a *hookflow.ValidationError whose Field is the JSON path
// of the offending part, rooted at "audience", such as
// "audience.AND[1].custom_attribute.comparison".
func ParseAudience(raw json.RawMessage) (*Audience, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}

	v, err := decodeJSON(raw)
	if err != nil {
		return nil, hookflow.Invalid("audience", "invalid JSON: %v", err)
	}

	root, err := parseNode(v, "audience", 0)
	if err != nil {
		return nil, err
	}
	return &Audience{root: root}, nil
}

// decodeJSON reads exactly one JSON value, keeping numbers as json.Number so
// integers stay exact.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()

	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the audience object")
	}
	return v, nil
}

// Match reports whether a profile's attributes satisfy the audience at now.
// A nil Audience matches every profile, including one with no attributes.
func (a *Audience) Match(attrs map[string]any, now time.Time) bool {
	if a == nil || a.root == nil {
		return true
	}
	return a.root.match(attrs, now)
}

// filterKeys are the keys a node object may hold, exactly one at a time.
var filterKeys = []string{
	"AND", "OR", "custom_attribute", "email_subscription_status",
	"push_subscription_status", "last_used_app",
}

// parseNode compiles one node object at path; depth counts the AND/OR
// groups above it.
func parseNode(v any, path string, depth int) (node, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, hookflow.Invalid(path, "must be a JSON object holding one filter")
	}
	if len(obj) != 1 {
		return nil, hookflow.Invalid(path, "must hold exactly one of %s; found %d keys",
			strings.Join(filterKeys, ", "), len(obj))
	}

	var key string
	for k := range obj {
		key = k
	}
	body, at := obj[key], path+"."+key

	switch key {
	case "AND", "OR":
		return parseGroup(key, body, at, depth+1)
	case "custom_attribute":
		return parseCustomAttribute(body, at)
	case "email_subscription_status":
		return parseSubscription(body, at, "email_subscribe")
	case "push_subscription_status":
		return parseSubscription(body, at, "push_subscribe")
	case "last_used_app":
		return parseLastUsedApp(body, at)
	}
	return nil, hookflow.Invalid(at, "unknown filter; want one of %s",
		strings.Join(filterKeys, ", "))
}

// allOf is an AND group: every member must match.
type allOf []node

func (g allOf) match(attrs map[string]any, now time.Time) bool {
	for _, n := range g {
		if !n.match(attrs, now) {
			return false
		}
	}
	return true
}

// anyOf is an OR group: at least one member must match.
type anyOf []node

func (g anyOf) match(attrs map[string]any, now time.Time) bool {
	for _, n := range g {
		if n.match(attrs, now) {
			return true
		}
	}
	return false
}

func parseGroup(op string, body any, path string, depth int) (node, error) {
	if depth > MaxDepth {
		return nil, hookflow.Invalid(path, "nesting deeper than %d levels of AND/OR", MaxDepth)
	}
	items, ok := body.([]any)
	if !ok || len(items) == 0 {
		return nil, hookflow.Invalid(path, "must be a non-empty array of filters")
	}

	members := make([]node, len(items))
	for i, item := range items {
		n, err := parseNode(item, fmt.Sprintf("%s[%d]", path, i), depth)
		if err != nil {
			return nil, err
		}
		members[i] = n
	}
	if op == "AND" {
		return allOf(members), nil
	}
	return anyOf(members), nil
}

// fields checks that body is an object holding no key outside allowed, and
// returns it. Unknown keys are refused so a misspelt "comparision" is an
// error instead of a filter that silently tests something else.
func fields(body any, path string, allowed ...string) (map[string]any, error) {
	obj, ok := body.(map[string]any)
	if !ok {
		return nil, hookflow.Invalid(path, "must be a JSON object")
	}

	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, hookflow.Invalid(path+"."+k, "unknown field; want %s",
				strings.Join(allowed, ", "))
		}
	}
	return obj, nil
}

// stringField returns obj[key] as a non-empty string.
func stringField(obj map[string]any, key, path string) (string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", hookflow.Invalid(path+"."+key, "is required")
	}
	s, ok := v.(string)
	if !ok {
		return "", hookflow.Invalid(path+"."+key, "must be a string")
	}
	if s == "" {
		return "", hookflow.Invalid(path+"."+key, "must not be empty")
	}
	return s, nil
}

// oneOf returns obj[key] when it is one of the strings in want.
func oneOf(obj map[string]any, key, path string, want ...string) (string, error) {
	s, err := stringField(obj, key, path)
	if err != nil {
		return "", err
	}
	if !slices.Contains(want, s) {
		return "", hookflow.Invalid(path+"."+key, "unknown %s %q; want one of %s",
			key, s, strings.Join(want, ", "))
	}
	return s, nil
}

// subscription tests a subscription-state attribute.
type subscription struct {
	attr   string
	state  string
	negate bool
}

func parseSubscription(body any, path, attr string) (node, error) {
	obj, err := fields(body, path, "comparison", "value")
	if err != nil {
		return nil, err
	}
	cmp, err := oneOf(obj, "comparison", path, "is", "is_not")
	if err != nil {
		return nil, err
	}
	state, err := oneOf(obj, "value", path, "opted_in", "subscribed", "unsubscribed")
	if err != nil {
		return nil, err
	}
	return subscription{attr: attr, state: state, negate: cmp == "is_not"}, nil
}

// match reads the state case-insensitively. A profile with no state (or a
// non-string one) is "subscribed", Braze's default for a new profile.
func (s subscription) match(attrs map[string]any, _ time.Time) bool {
	state, _ := attrs[s.attr].(string)
	if state == "" {
		state = "subscribed"
	}
	return strings.EqualFold(state, s.state) != s.negate
}

// lastUsedApp compares the date_of_last_session attribute with a time.
type lastUsedApp struct {
	at    time.Time
	after bool
}

func parseLastUsedApp(body any, path string) (node, error) {
	obj, err := fields(body, path, "comparison", "value")
	if err != nil {
		return nil, err
	}
	cmp, err := oneOf(obj, "comparison", path, "after", "before")
	if err != nil {
		return nil, err
	}
	at, err := timeValue(obj, path)
	if err != nil {
		return nil, err
	}
	return lastUsedApp{at: at, after: cmp == "after"}, nil
}

// match is false for a profile that never had a session: it used no app
// either before or after any time.
func (l lastUsedApp) match(attrs map[string]any, _ time.Time) bool {
	t, ok := asTime(attrs["date_of_last_session"])
	if !ok {
		return false
	}
	if l.after {
		return t.After(l.at)
	}
	return t.Before(l.at)
}

// timeValue reads obj["value"] as a time string.
func timeValue(obj map[string]any, path string) (time.Time, error) {
	s, err := stringField(obj, "value", path)
	if err != nil {
		return time.Time{}, err
	}
	t, ok := parseTime(s)
	if !ok {
		return time.Time{}, hookflow.Invalid(path+".value", "%s", badTime(s))
	}
	return t, nil
}
