package hookflow

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// NormalizeNumbers replaces, in place, every json.Number inside v (maps and
// slices of any, as a decoder with UseNumber leaves them) with an int64
// when it is an integer literal that fits, and a float64 otherwise. This is
// the one rule for numbers in profiles, events and trigger properties: whole
// numbers stay whole, so 9007199254740993 is not rounded and 1 never prints
// as 1.0.
func NormalizeNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return number(x)
	case map[string]any:
		for k, e := range x {
			n, err := NormalizeNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	case []any:
		for i, e := range x {
			n, err := NormalizeNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	}
	return v, nil
}

func number(n json.Number) (any, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fmt.Errorf("number %s is out of range", n)
	}
	return f, nil
}
