// Package hookflow holds the domain of the Hookflow webhook engine: users and
// their events, webhook campaigns, deliveries and their attempts, and the
// storage contract every backend implements. It imports nothing internal; each
// technology (SQLite, Liquid, HTTP) lives in a package of its own that depends
// on this one.
package hookflow

import (
	"errors"
	"fmt"
	"time"
)

// Version is the release of this build. It is sent in the User-Agent of every
// webhook. Builds may override it with -ldflags "-X ...hookflow.Version=...".
var Version = "0.1.0-dev"

// UserAgent is the User-Agent header sent with every webhook attempt.
func UserAgent() string { return "Hookflow/" + Version }

// Clock tells the time. Components take a Clock rather than calling time.Now
// so retries, delays and schedules can be tested without sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the Clock of the real world.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Domain errors. Storage backends map their driver errors onto these at their
// edge so callers compare with errors.Is and never see driver types.
var (
	// ErrNotFound means the named object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write would break a uniqueness rule or the
	// object changed under the caller.
	ErrConflict = errors.New("conflict")
)

// ValidationError reports input that was refused: Field names where, in the
// caller's terms (a JSON path such as "webhook.headers[1].value"), and Reason
// says what was wrong.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

// Invalid returns a *ValidationError for field with a formatted reason.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
