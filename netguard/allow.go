package netguard

import (
	"fmt"
	"net/netip"
	"strings"
)

// allowList is the parsed form of the operator's allow entries.
type allowList struct {
	prefixes  []netip.Prefix
	names     map[string]bool // exact names, normalised
	wildcards []string        // suffixes such as ".internal.example.com"
}

// parseAllow reads allow entries: CIDRs, single addresses, host names and
// "*." wildcards. An entry that an IP parser other than Go's would read as
// an address ("127.1", "0x7f000001") is refused rather than taken as a
// name, so that the operator's intent is never ambiguous.
func parseAllow(entries []string) (allowList, error) {
	list := allowList{names: map[string]bool{}}
	for _, raw := range entries {
		if err := list.add(strings.TrimSpace(raw)); err != nil {
			return allowList{}, fmt.Errorf("netguard: bad allow entry %q: %w", raw, err)
		}
	}
	return list, nil
}

func (l *allowList) add(entry string) error {
	if entry == "" {
		return fmt.Errorf("empty entry")
	}
	if strings.ContainsAny(entry, "/:") {
		return l.addPrefix(entry)
	}

	name := normalizeHost(entry)
	if addrs := looseIPv4(name); len(addrs) > 0 {
		if a, err := netip.ParseAddr(entry); err == nil {
			l.prefixes = append(l.prefixes, netip.PrefixFrom(a, a.BitLen()))
			return nil
		}
		return fmt.Errorf("write the address in dotted decimal form (%s)", addrs[0])
	}
	return l.addName(name)
}

// addPrefix takes a CIDR or a bare IPv6 address. Host bits set in a CIDR
// ("10.1.2.3/8") are cleared, as net.ParseCIDR does.
func (l *allowList) addPrefix(entry string) error {
	if strings.Contains(entry, "%") {
		return fmt.Errorf("zones are not supported; list the address without %%zone")
	}
	if !strings.Contains(entry, "/") {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return fmt.Errorf("not an address, CIDR or host name")
		}
		entry = netip.PrefixFrom(a, a.BitLen()).String()
	}

	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return fmt.Errorf("not a CIDR: %w", err)
	}
	if p.Addr().Is4In6() {
		// ::ffff:10.0.0.0/104 would never match: addresses are unmapped
		// before matching.
		return fmt.Errorf("write IPv4-mapped ranges as plain IPv4 CIDRs")
	}
	l.prefixes = append(l.prefixes, p.Masked())
	return nil
}

func (l *allowList) addName(name string) error {
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		if !validName(rest) {
			return fmt.Errorf("not a host name wildcard")
		}
		l.wildcards = append(l.wildcards, "."+rest)
		return nil
	}
	if !validName(name) {
		return fmt.Errorf("not an address, CIDR or host name")
	}
	l.names[name] = true
	return nil
}

// allowsName reports whether name (normalised) is opened by a host name
// entry. "*.example.com" opens every name under example.com, at any depth,
// but not example.com itself.
func (l *allowList) allowsName(name string) bool {
	if l.names[name] {
		return true
	}
	for _, suffix := range l.wildcards {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// allowsAddr reports whether a is inside an allowed range.
func (l *allowList) allowsAddr(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
