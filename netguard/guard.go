package netguard

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// AllowEnv and AllowFlag name the environment variable and the command-line
// flag through which an operator lists allowed destinations. Refusal
// messages point at them, so the command that reads them must use these
// names.
const (
	AllowEnv  = "HOOKFLOW_ALLOW_DESTINATIONS"
	AllowFlag = "--allow-destinations"
)

// Guard decides which webhook destinations may be reached. It is immutable
// once built and safe for concurrent use. The zero Guard allows nothing
// beyond public addresses.
type Guard struct {
	allow allowList
}

// New builds a guard that refuses non-public destinations except those
// opened by allow. Each entry is one of:
//
//   - a CIDR: "127.0.0.0/8", "::1/128", "10.0.0.0/8";
//   - a single address: "10.1.2.3", "fd00::5";
//   - a host name: "localhost", "hooks.internal.example.com";
//   - a wildcard: "*.internal.example.com", every name under
//     internal.example.com at any depth, but not internal.example.com itself.
//
// A host name entry opens whatever that name resolves to, so it is only
// honoured when dialling through DialContext. The error names the first bad
// entry.
func New(allow []string) (*Guard, error) {
	list, err := parseAllow(allow)
	if err != nil {
		return nil, err
	}
	return &Guard{allow: list}, nil
}

// CheckURL is the check made when a webhook URL is saved. The scheme must
// be http or https. A host that any common parser reads as an IP address —
// "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1",
// "127.0.0.1.", "[::ffff:127.0.0.1]", "[fe80::1%25eth0]", full-width
// digits — is normalised and refused unless public or allowed. The names
// "localhost" and "*.localhost" are refused unless allowed. Other names are
// accepted without being resolved: DNS answers change, so they are judged
// when dialled.
//
// A refusal is a *RefusedError; a URL that cannot be a webhook destination
// at all gets a plain error.
func (g *Guard) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("netguard: invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("netguard: URL scheme %q not allowed: use http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("netguard: URL %q has no host", raw)
	}
	return g.checkHost(u.Hostname())
}

// checkHost judges a host without resolving it: literals by their
// address, localhost names by rule, other names not at all.
func (g *Guard) checkHost(host string) error {
	name := normalizeHost(host)
	if addrs := literalAddrs(name); addrs != nil {
		return g.judgeAll(host, addrs, false)
	}
	if !validName(name) {
		return fmt.Errorf("netguard: invalid host %q", host)
	}
	if isLocalhostName(name) && !g.allowsLocalhost(name) {
		return &RefusedError{Host: host, Reason: "a loopback name"}
	}
	return nil
}

// allowsLocalhost reports whether a localhost name may be used: it is
// allowed by name, or the loopback addresses it resolves to are allowed.
func (g *Guard) allowsLocalhost(name string) bool {
	return g.allow.allowsName(name) ||
		g.allow.allowsAddr(netip.IPv6Loopback()) ||
		g.allow.allowsAddr(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
}

// judgeAll refuses when any of the addresses host may stand for is refused.
func (g *Guard) judgeAll(host string, addrs []netip.Addr, nameAllowed bool) error {
	for _, a := range addrs {
		if err := g.judge(host, a, nameAllowed); err != nil {
			return err
		}
	}
	return nil
}

// judge returns a *RefusedError when a is not public and neither it, the
// IPv4 address it embeds, nor the name it was reached by is allowed.
func (g *Guard) judge(host string, a netip.Addr, nameAllowed bool) error {
	v := classify(a)
	if !v.refused() || nameAllowed {
		return nil
	}
	if g.allow.allowsAddr(a) || g.allow.allowsAddr(v.addr) {
		return nil
	}
	return &RefusedError{Host: host, Addr: v.addr, Reason: v.reason}
}

// RefusedError reports a destination the guard refused. Its message says
// what the address is and how to allow it. A delivery refused this way
// should fail at once: retrying cannot change the answer until the
// operator changes the allow list.
type RefusedError struct {
	// Host is the host as written in the URL or dial address.
	Host string
	// Addr is the normalised address refused: for an IPv6 form that embeds
	// an IPv4 address, the IPv4 address. It is the zero Addr when a name
	// was refused by rule ("localhost") without resolving it.
	Addr netip.Addr
	// Reason names the kind of address, e.g. "a loopback address".
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("destination %s is %s; Hookflow refuses non-public destinations "+
		"unless allow-listed: add it to %s (e.g. %s) or %s",
		e.subject(), e.Reason, AllowEnv, e.example(), AllowFlag)
}

// subject names the destination, showing the spelling it came from when
// that differs from the normalised address.
func (e *RefusedError) subject() string {
	if !e.Addr.IsValid() {
		return fmt.Sprintf("%q", e.Host)
	}
	if strings.Trim(e.Host, "[]") == e.Addr.String() {
		return e.Addr.String()
	}
	return fmt.Sprintf("%s (from %q)", e.Addr, e.Host)
}

// example suggests an allow entry: the whole loopback range for loopback
// (a developer's local receiver moves between ports and addresses), else
// the single address, and the name too when one was dialled.
func (e *RefusedError) example() string {
	name := normalizeHost(e.Host)
	isName := literalAddrs(name) == nil
	switch {
	case !e.Addr.IsValid():
		return name
	case e.Addr.Is4() && e.Addr.IsLoopback():
		return withName("127.0.0.0/8", name, isName)
	}
	return withName(netip.PrefixFrom(e.Addr, e.Addr.BitLen()).String(), name, isName)
}

func withName(cidr, name string, isName bool) string {
	if !isName {
		return cidr
	}
	return cidr + " or " + name
}
