package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/hookflow/hookflow"
)

// AttributeError is an operation that cannot apply to the profile as it
// stands, such as an increment of a string. Its message names the attribute
// and suits ItemError.Type.
type AttributeError struct {
	Attribute string
	Reason    string
}

func (e *AttributeError) Error() string {
	return fmt.Sprintf("attribute %q: %s", e.Attribute, e.Reason)
}

// Apply applies a's operations to u.Attributes in order, creating the map if
// nil. It is all or nothing: if one operation clashes with the value it
// finds, Apply returns an *AttributeError and leaves u unchanged.
//
// Increments keep integers integral: int64 plus int64 is int64. A float64
// holding a whole number below 2^53 counts as an integer too, because a store
// that decodes JSON without UseNumber hands every number back as float64.
// Apply never shares slices with a: added elements are copied.
func (a AttributeUpdate) Apply(u *hookflow.User) error {
	attrs := maps.Clone(u.Attributes)
	if attrs == nil {
		attrs = map[string]any{}
	}
	for _, op := range a.Ops {
		if err := applyOp(attrs, op); err != nil {
			return err
		}
	}
	u.Attributes = attrs
	return nil
}

// applyOp applies one operation. Values are replaced, never mutated in
// place, so the shallow clone in Apply keeps the original intact.
func applyOp(attrs map[string]any, op AttributeOp) error {
	cur, exists := attrs[op.Name]
	if cur == nil {
		exists = false
	}

	switch op.Kind {
	case OpSet:
		attrs[op.Name] = op.Value
	case OpDelete:
		delete(attrs, op.Name)
	case OpInc:
		n, err := increment(cur, exists, op.Value)
		if err != nil {
			return &AttributeError{Attribute: op.Name, Reason: err.Error()}
		}
		attrs[op.Name] = n
	case OpAdd, OpRemove:
		arr, err := editArray(op, cur, exists)
		if err != nil {
			return &AttributeError{Attribute: op.Name, Reason: err.Error()}
		}
		if arr != nil {
			attrs[op.Name] = arr
		}
	default:
		return &AttributeError{Attribute: op.Name, Reason: fmt.Sprintf("unknown operation %q", op.Kind)}
	}
	return nil
}

// increment adds by to cur.
func increment(cur any, exists bool, by any) (any, error) {
	if !exists {
		cur = int64(0)
	}
	ci, cf, cIsInt, ok := numeric(cur)
	if !ok {
		return nil, fmt.Errorf("cannot increment %s", kindOf(cur))
	}
	bi, bf, bIsInt, ok := numeric(by)
	if !ok {
		return nil, fmt.Errorf("cannot increment by %s", kindOf(by))
	}

	if cIsInt && bIsInt {
		sum := ci + bi
		// Signs equal and the sum's sign differs: it wrapped.
		if (ci >= 0) == (bi >= 0) && (sum >= 0) != (ci >= 0) {
			return nil, fmt.Errorf("increment overflows: %d + %d", ci, bi)
		}
		return sum, nil
	}
	return cf + bf, nil
}

// maxExactInt is 2^53, the bound below which float64 holds every integer.
const maxExactInt = 1 << 53

// numeric reads a number as both int64 and float64, and whether it is
// integral.
func numeric(v any) (i int64, f float64, isInt bool, ok bool) {
	switch v := v.(type) {
	case int64:
		return v, float64(v), true, true
	case int:
		return int64(v), float64(v), true, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < maxExactInt {
			return int64(v), v, true, true
		}
		return 0, v, false, true
	case json.Number:
		n, err := hookflow.NormalizeNumbers(v)
		if err != nil {
			return 0, 0, false, false
		}
		return numeric(n)
	}
	return 0, 0, false, false
}

// editArray returns the array after an add or remove, or nil when a remove
// finds no attribute (nothing to do).
func editArray(op AttributeOp, cur any, exists bool) ([]any, error) {
	vals, _ := op.Value.([]any)
	var arr []any
	if exists {
		var ok bool
		if arr, ok = cur.([]any); !ok {
			return nil, fmt.Errorf("cannot %s elements: it holds %s, not an array", op.Kind, kindOf(cur))
		}
	}

	if op.Kind == OpRemove {
		if !exists {
			return nil, nil
		}
		return slices.DeleteFunc(slices.Clone(arr), func(e any) bool {
			return slices.ContainsFunc(vals, func(v any) bool { return jsonEqual(e, v) })
		}), nil
	}

	if len(arr)+len(vals) > MaxArrayLen {
		return nil, fmt.Errorf("adding %d elements to %d would exceed %d", len(vals), len(arr), MaxArrayLen)
	}
	out := make([]any, 0, len(arr)+len(vals))
	return append(append(out, arr...), vals...), nil
}

// jsonEqual compares two JSON values by their encoding, so int64(1) equals
// float64(1) and objects compare by content (encoding/json sorts map keys).
func jsonEqual(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
