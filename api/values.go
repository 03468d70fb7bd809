package api

import (
	"errors"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

// timeZero is passed where a parse needs a "now" only to clamp event times,
// which attribute objects have none of.
var timeZero = time.Time{}

// normalize applies hookflow.NormalizeNumbers to a decoded request value.
// A number too large even for a float64 is left as the decoder's text.
func normalize(v any) any {
	n, err := hookflow.NormalizeNumbers(v)
	if err != nil {
		return v
	}
	return n
}

// literal reports whether a template has no Liquid in it.
func literal(s string) bool {
	return !strings.Contains(s, "{{") && !strings.Contains(s, "{%")
}

// literalOrigin returns the scheme and host of a URL template when they
// hold no Liquid, so a destination can be checked when the webhook is
// saved even if its path or query is personalised
// (http://10.0.0.1/users/{{${user_id}}}).
func literalOrigin(tmpl string) (string, bool) {
	scheme, rest, ok := strings.Cut(tmpl, "://")
	if !ok || !literal(scheme) {
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if host == "" || !literal(host) {
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
