package hostgate

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
)

// Breaker states of a host, as HostState.State reports them.
const (
	// StateClosed: full speed, failures counted.
	StateClosed = "closed"
	// StatePaused: the breaker tripped; no attempts until PausedUntil.
	StatePaused = "paused"
	// StateProbing: the pause ended; a few probe attempts decide.
	StateProbing = "probing"
)

// HostState is one host as the Gate sees it, for metrics and operators.
type HostState struct {
	Host  string
	State string
	// Failures is the count of failures in the window ending now.
	Failures int
	// InFlight is the attempts granted and not yet released.
	InFlight int
	// Limit is how many attempts may be in flight in this state:
	// MaxPerHost when closed (-1 for no limit), Probes when probing, 0 when
	// paused.
	Limit       int
	PausedUntil time.Time
	// SlowedUntil is when receiver-driven slowing ends; past or zero when
	// the host is not slowed.
	SlowedUntil time.Time
	// RateLimit is the last X-RateLimit-Limit the host sent, 0 if none.
	RateLimit int
	// Trips counts the pauses since the Gate began tracking the host.
	Trips int
}

// Gate decides, per host, whether an attempt may start now. It is safe for
// concurrent use. The zero value is not usable; call New.
type Gate struct {
	clock hookflow.Clock
	opts  Options

	mu        sync.Mutex
	hosts     map[string]*host
	lastSweep time.Time
}

// host is the state of one host. Guarded by Gate.mu.
type host struct {
	name     string
	state    string
	inFlight int
	failures window

	// epoch changes at every trip; an attempt granted in an earlier epoch
	// ended after the decision it could have informed, and is ignored.
	epoch        uint64
	pausedUntil  time.Time
	probesOut    int // probes granted and not given back this probing
	probesPassed int

	slowedUntil time.Time
	rateLimit   int
	trips       int
}

// ticket is one granted attempt.
type ticket struct {
	epoch uint64
	probe bool
	done  bool
}

// event is a state change to log once the lock is released.
type event struct {
	level slog.Level
	msg   string
	attrs []any
}

// New returns a Gate reading the time from clock, tuned by o.
func New(clock hookflow.Clock, o Options) *Gate {
	o.defaults()
	return &Gate{clock: clock, opts: o, hosts: make(map[string]*host), lastSweep: clock.Now()}
}

// Acquire asks to start an attempt to host now. When granted it returns a
// release func, which the caller must call exactly once with the attempt's
// outcome (later calls are ignored), and a zero Hold. Otherwise release is
// nil and the Hold says why and until when; see HoldReason for what the
// caller does with each.
func (g *Gate) Acquire(host string) (release func(Outcome), hold Hold) {
	now := g.clock.Now()
	g.mu.Lock()
	release, hold, evs := g.acquire(strings.ToLower(host), now)
	g.mu.Unlock()

	g.log(evs)
	return release, hold
}

func (g *Gate) acquire(name string, now time.Time) (func(Outcome), Hold, []event) {
	if now.Sub(g.lastSweep) >= g.opts.Window {
		g.sweep(now)
	}
	h := g.hosts[name]
	if h == nil {
		h = &host{name: name, state: StateClosed}
		g.hosts[name] = h
	}
	evs := g.advance(h, now)

	switch {
	case h.state == StatePaused:
		return nil, Hold{Reason: HoldPaused, Until: h.pausedUntil, Host: name}, evs
	case now.Before(h.slowedUntil):
		return nil, Hold{Reason: HoldSlowed, Until: h.slowedUntil, Host: name}, evs
	case g.opts.MaxPerHost > 0 && h.inFlight >= g.opts.MaxPerHost,
		h.state == StateProbing && h.probesOut >= g.opts.Probes:
		return nil, Hold{Reason: HoldBusy, Host: name}, evs
	}

	t := &ticket{epoch: h.epoch, probe: h.state == StateProbing}
	if t.probe {
		h.probesOut++
	}
	h.inFlight++
	return func(o Outcome) { g.release(h, t, o) }, Hold{}, evs
}

// release records the outcome of a granted attempt.
func (g *Gate) release(h *host, t *ticket, o Outcome) {
	now := g.clock.Now()
	g.mu.Lock()
	if t.done {
		g.mu.Unlock()
		return
	}
	t.done = true
	h.inFlight--

	var evs []event
	if !o.Test {
		evs = g.slow(h, o, now)
	}
	evs = append(evs, g.record(h, t, judge(o), now)...)
	g.mu.Unlock()

	g.log(evs)
}

// slow applies receiver-driven slowing and keeps X-RateLimit-Limit.
func (g *Gate) slow(h *host, o Outcome, now time.Time) []event {
	if n := rateLimitLimit(o.Header); n > 0 {
		h.rateLimit = n
	}
	until, ok := slowUntil(o, now, g.opts.SlowCap)
	if !ok || !until.After(h.slowedUntil) {
		return nil
	}
	h.slowedUntil = until
	return []event{{slog.LevelDebug, "host slowed by receiver",
		[]any{"host", h.name, "status", o.Status, "until", until}}}
}

// record applies the breaker rule of the package doc to one outcome.
func (g *Gate) record(h *host, t *ticket, v verdict, now time.Time) []event {
	evs := g.advance(h, now)
	if t.epoch != h.epoch || v == neutral && !t.probe {
		return evs
	}

	switch h.state {
	case StateClosed:
		if v != failing || g.opts.FailureThreshold < 0 {
			return evs
		}
		h.failures.add(now, g.opts.windowSeconds())
		if n := h.failures.total; n > g.opts.FailureThreshold {
			return append(evs, g.trip(h, now, "failures", n))
		}
	case StateProbing:
		switch v {
		case failing:
			return append(evs, g.trip(h, now, "probe_failed", true))
		case neutral:
			h.probesOut--
		case healthy:
			h.probesPassed++
			if h.probesPassed >= g.opts.Probes {
				return append(evs, g.close(h))
			}
		}
	}
	return evs
}

// advance ends a pause that is over: the host starts probing.
func (g *Gate) advance(h *host, now time.Time) []event {
	if h.state != StatePaused || now.Before(h.pausedUntil) {
		return nil
	}
	h.state = StateProbing
	h.probesOut, h.probesPassed = 0, 0
	return []event{{slog.LevelInfo, "host pause over, probing", []any{"host", h.name, "probes", g.opts.Probes}}}
}

// trip pauses the host for Pause from now.
func (g *Gate) trip(h *host, now time.Time, why string, detail any) event {
	h.state = StatePaused
	h.epoch++
	h.pausedUntil = now.Add(g.opts.Pause)
	h.probesOut, h.probesPassed = 0, 0
	h.trips++
	return event{slog.LevelWarn, "host unhealthy, paused",
		[]any{"host", h.name, why, detail, "window", g.opts.Window, "until", h.pausedUntil}}
}

// close resumes full speed after the probes passed, with an empty window.
func (g *Gate) close(h *host) event {
	h.state = StateClosed
	h.failures.reset()
	h.probesOut, h.probesPassed = 0, 0
	return event{slog.LevelInfo, "host healthy again", []any{"host", h.name}}
}

func (g *Gate) log(evs []event) {
	for _, e := range evs {
		g.opts.Log.Log(context.Background(), e.level, e.msg, e.attrs...)
	}
}

// State returns the state of host now. A host the Gate does not track is
// closed with nothing in flight.
func (g *Gate) State(host string) HostState {
	name := strings.ToLower(host)
	now := g.clock.Now()
	g.mu.Lock()
	h := g.hosts[name]
	var evs []event
	var s HostState
	if h == nil {
		s = HostState{Host: name, State: StateClosed, Limit: g.limit(StateClosed)}
	} else {
		evs = g.advance(h, now)
		s = g.snapshot(h, now)
	}
	g.mu.Unlock()

	g.log(evs)
	return s
}

// Hosts returns the state of every tracked host, ordered by host.
func (g *Gate) Hosts() []HostState {
	now := g.clock.Now()
	g.mu.Lock()
	var evs []event
	out := make([]HostState, 0, len(g.hosts))
	for _, h := range g.hosts {
		evs = append(evs, g.advance(h, now)...)
		out = append(out, g.snapshot(h, now))
	}
	g.mu.Unlock()

	g.log(evs)
	slices.SortFunc(out, func(a, b HostState) int { return strings.Compare(a.Host, b.Host) })
	return out
}

func (g *Gate) snapshot(h *host, now time.Time) HostState {
	return HostState{
		Host:        h.name,
		State:       h.state,
		Failures:    h.failures.count(now),
		InFlight:    h.inFlight,
		Limit:       g.limit(h.state),
		PausedUntil: h.pausedUntil,
		SlowedUntil: h.slowedUntil,
		RateLimit:   h.rateLimit,
		Trips:       h.trips,
	}
}

// MaxPerHost is the most attempts a healthy host may have in flight, 0
// when there is no such limit.
func (g *Gate) MaxPerHost() int {
	return max(g.opts.MaxPerHost, 0)
}

func (g *Gate) limit(state string) int {
	switch state {
	case StatePaused:
		return 0
	case StateProbing:
		return g.opts.Probes
	}
	return max(g.opts.MaxPerHost, -1)
}

// Sweep forgets the hosts that hold no information now: nothing in flight,
// closed, no failures in the window, not slowed. It returns how many it
// forgot. Acquire sweeps once per Window, so calling it is optional.
func (g *Gate) Sweep() int {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sweep(now)
}

func (g *Gate) sweep(now time.Time) int {
	g.lastSweep = now
	n := 0
	for name, h := range g.hosts {
		if h.inFlight == 0 && h.state == StateClosed && h.failures.count(now) == 0 &&
			!now.Before(h.slowedUntil) {
			delete(g.hosts, name)
			n++
		}
	}
	return n
}
