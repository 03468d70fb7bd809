package hookflow

import (
	"regexp"
	"testing"
	"time"
)

// TestDispatchIDsSortByTime checks the shape Braze's dispatch ids have
// here ("dsp_" and 24 hex digits) and that a later millisecond sorts after.
func TestDispatchIDsSortByTime(t *testing.T) {
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	shape := regexp.MustCompile(`^dsp_[0-9a-f]{24}$`)
	prev := ""
	for i := range 1000 {
		id := newDispatchID(at.Add(time.Duration(i) * time.Millisecond))
		if !shape.MatchString(id) {
			t.Fatalf("dispatch id %q, want dsp_ and 24 hex digits", id)
		}
		if id <= prev {
			t.Fatalf("dispatch id %q of a later millisecond sorts before %q", id, prev)
		}
		prev = id
	}
	if got, want := newDispatchID(at)[4:16], "01a240113800"; got != want {
		t.Errorf("time digits of %s = %s, want %s (its unix milliseconds)", at, got, want)
	}
	if a, b := newDispatchID(at), newDispatchID(at); a == b {
		t.Errorf("two dispatch ids of one millisecond are both %s", a)
	}
}
