package hostgate

import (
	"log/slog"
	"time"
)

// Options tune a Gate. Zero values take the defaults.
type Options struct {
	// MaxPerHost is the most attempts in flight to one host. Defaults to 16;
	// negative means no limit. Keep it well below the sender's global
	// concurrency, or one slow host can still take every slot.
	MaxPerHost int
	// FailureThreshold is the count of failures in the window that a host
	// may reach without being paused: one more pauses it. Defaults to 3000
	// (Braze: more than 3,000 a minute); negative disables the breaker.
	FailureThreshold int
	// Window is the length of the sliding failure window, in whole seconds
	// (rounded up). Defaults to 60s.
	Window time.Duration
	// Pause is how long a tripped host is paused. Defaults to 60s.
	Pause time.Duration
	// Probes is how many probe attempts run after a pause; all must pass
	// for the host to resume full speed. Defaults to 3; at most MaxPerHost.
	Probes int
	// SlowCap is the longest a receiver can slow its host down by
	// Retry-After or X-RateLimit-Reset. Defaults to 1h.
	SlowCap time.Duration
	// Log receives the host state changes: paused (Warn), probing and
	// healthy again (Info), slowed (Debug). Defaults to discarding them.
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxPerHost == 0 {
		o.MaxPerHost = 16
	}
	if o.FailureThreshold == 0 {
		o.FailureThreshold = 3000
	}
	if o.Window <= 0 {
		o.Window = 60 * time.Second
	}
	if frac := o.Window % time.Second; frac != 0 {
		o.Window += time.Second - frac
	}
	if o.Pause <= 0 {
		o.Pause = 60 * time.Second
	}
	if o.Probes <= 0 {
		o.Probes = 3
	}
	if o.MaxPerHost > 0 {
		o.Probes = min(o.Probes, o.MaxPerHost)
	}
	if o.SlowCap <= 0 {
		o.SlowCap = time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// windowSeconds is the window's length in buckets.
func (o *Options) windowSeconds() int { return int(o.Window / time.Second) }
