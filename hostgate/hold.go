package hostgate

import (
	"fmt"
	"time"

	"github.com/hookflow/hookflow"
)

// StatusHostUnhealthy is the synthetic status recorded for a delivery held
// because its host is paused (Braze's 598). deliver.Classify retries it like
// any 5xx.
const StatusHostUnhealthy = 598

// KindUnhealthy is the ErrorKind of a synthetic 598 attempt.
const KindUnhealthy = "unhealthy"

// HoldReason says why Acquire did not grant an attempt.
type HoldReason int

const (
	// HoldNone: the attempt was granted.
	HoldNone HoldReason = iota
	// HoldBusy: the host has no free slot (MaxPerHost in flight, or its
	// probes are out). The delivery waits for a slot; nothing is recorded.
	HoldBusy
	// HoldPaused: the breaker paused the host until Until. The sender
	// records a synthetic 598 attempt (Hold.Attempt) and retries at Until.
	HoldPaused
	// HoldSlowed: the receiver asked the host to be slowed until Until. The
	// delivery is deferred to Until; nothing is recorded.
	HoldSlowed
)

func (r HoldReason) String() string {
	switch r {
	case HoldNone:
		return "none"
	case HoldBusy:
		return "busy"
	case HoldPaused:
		return "paused"
	case HoldSlowed:
		return "slowed"
	}
	return fmt.Sprintf("hold(%d)", int(r))
}

// Hold is Acquire's answer when it grants no attempt.
type Hold struct {
	Reason HoldReason
	// Until is when the host opens again, for HoldPaused and HoldSlowed;
	// zero for HoldBusy, since a slot frees when an attempt ends.
	Until time.Time
	// Host is the host held.
	Host string
}

// Attempt returns the synthetic attempt a sender records for a delivery
// held by HoldPaused, started at now: status 598, no request made.
func (h Hold) Attempt(now time.Time) hookflow.Attempt {
	return hookflow.Attempt{
		StartedAt: now,
		Status:    StatusHostUnhealthy,
		Error: fmt.Sprintf("host %s paused as unhealthy until %s; not sent",
			h.Host, h.Until.UTC().Format(time.RFC3339)),
		ErrorKind: KindUnhealthy,
	}
}
