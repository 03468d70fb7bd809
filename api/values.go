package api

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/render"
)

// timeZero is passed where a parse needs a "now" only to clamp event times,
// which attribute objects have none of.
var timeZero = time.Time{}

// properties checks a free-form object of a request (trigger or event
// properties, attributes) and turns its numbers into the domain's: int64
// when whole, float64 otherwise. A number even a float64 cannot hold is
// refused here; stored, it could never be read back.
func properties(field string, m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	if _, err := hookflow.NormalizeNumbers(m); err != nil {
		return nil, hookflow.Invalid(field, "%v", err)
	}
	return m, nil
}

// literalOrigin returns the scheme and host of a URL template when they
// hold no Liquid, so a destination can be checked when the webhook is
// saved even if its path or query is personalised
// (http://10.0.0.1/users/{{${user_id}}}).
func literalOrigin(tmpl string) (string, bool) {
	scheme, rest, ok := strings.Cut(tmpl, "://")
	if !ok || !render.Literal(scheme) {
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if host == "" || !render.Literal(host) {
		return "", false
	}
	return scheme + "://" + host + "/", true
}

// prefixed re-roots a validation error from the render package (whose
// fields start with "webhook") under field.
func prefixed(field string, err error) error {
	var ve *hookflow.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	return &hookflow.ValidationError{
		Field:  field + strings.TrimPrefix(ve.Field, "webhook"),
		Reason: ve.Reason,
	}
}

// intParam reads query parameter name, v, as a whole number from lo to hi;
// def when it is absent.
func intParam(v, name string, def, lo, hi int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, hookflow.Invalid(name, "must be a whole number from %d to %d, not %q", lo, hi, v)
	}
	return n, nil
}
