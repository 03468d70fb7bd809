package api

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
)

// DefaultRateLimitPerHour is Braze's default request limit per key.
const DefaultRateLimitPerHour = 250_000

// RateLimiter counts requests per key in fixed clock-hour windows. It is
// pure: the caller passes the time, so tests need no clock. Counts live in
// the memory of one node; each node of a cluster counts on its own.
type RateLimiter struct {
	limit int

	mu      sync.Mutex
	windows map[string]rateWindow
}

type rateWindow struct {
	start time.Time
	used  int
}

// RateDecision is what one request learns from the limiter; its fields
// become the X-RateLimit-* headers.
type RateDecision struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is when the current window ends and the count starts over.
	Reset time.Time
}

// NewRateLimiter returns a limiter allowing limit requests per key per
// clock hour.
func NewRateLimiter(limit int) *RateLimiter {
	return &RateLimiter{limit: limit, windows: map[string]rateWindow{}}
}

// Take counts one request of key at now and says whether it is allowed.
// A refused request does not use up the window.
func (l *RateLimiter) Take(key string, now time.Time) RateDecision {
	start := now.UTC().Truncate(time.Hour)
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	if !w.start.Equal(start) {
		l.prune(start)
		w = rateWindow{start: start}
	}
	d := RateDecision{Limit: l.limit, Reset: start.Add(time.Hour)}
	if w.used >= l.limit {
		return d
	}
	w.used++
	l.windows[key] = w
	d.Allowed, d.Remaining = true, l.limit-w.used
	return d
}

// prune drops windows older than start, so keys that stopped calling do
// not stay in memory; it runs at most once per key per hour.
func (l *RateLimiter) prune(start time.Time) {
	for k, w := range l.windows {
		if w.start.Before(start) {
			delete(l.windows, k)
		}
	}
}

// setHeaders writes the X-RateLimit-* headers, Reset in epoch seconds.
func (d RateDecision) setHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(d.Reset.Unix(), 10))
}

// admit authenticates r, checks the key's IP allow-list, its rate limit
// and its scope (empty: any key), and sets the rate-limit headers on w.
// A call from outside the allow-list is refused before it is counted, so
// that a key leaked outside cannot use up its owners' limit; every other
// call of a valid key is counted and carries the headers, as in Braze,
// whether it is then refused for its scope or not.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, scope string) error {
	key, err := s.keys.authenticate(r)
	if err != nil {
		return err
	}
	if err := checkCallerIP(key, r.RemoteAddr); err != nil {
		return err
	}
	now := s.clock.Now()
	d := s.limiter.Take(key.ID, now)
	d.setHeaders(w.Header())
	if !d.Allowed {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(d.Reset.Sub(now).Seconds())+1, 10))
		return errorf(http.StatusTooManyRequests, "rate limit exceeded: API key %q may make %d requests per hour; the count starts over at %s",
			key.Name, d.Limit, d.Reset.UTC().Format(time.RFC3339))
	}
	return checkScope(key, scope)
}

// checkCallerIP refuses a caller outside the key's allow-list. It reads
// the connection's address, not X-Forwarded-For, which callers can forge.
func checkCallerIP(key *hookflow.APIKey, remoteAddr string) error {
	if len(key.AllowedIPs) == 0 {
		return nil
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip != nil {
		for _, allowed := range key.AllowedIPs {
			if ipAllowed(allowed, ip) {
				return nil
			}
		}
	}
	return errorf(http.StatusForbidden, "API key %q does not allow calls from IP %s", key.Name, host)
}

func ipAllowed(allowed string, ip net.IP) bool {
	if !strings.Contains(allowed, "/") {
		a := net.ParseIP(allowed)
		return a != nil && a.Equal(ip)
	}
	_, n, err := net.ParseCIDR(allowed)
	return err == nil && n.Contains(ip)
}

// ParseAllowedIPs checks a comma-separated list of CIDRs and addresses, as
// `hookflow keys create --allowed-ips` takes it.
func ParseAllowedIPs(list string) ([]string, error) {
	var out []string
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(item); err != nil && net.ParseIP(item) == nil {
			return nil, hookflow.Invalid("allowed_ips", "%q is neither an IP address nor a CIDR such as 10.0.0.0/8", item)
		}
		out = append(out, item)
	}
	return out, nil
}
