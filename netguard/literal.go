package netguard

import (
	"net/netip"
	"strings"
)

// normalizeHost brings a host as written in a URL or a dial address to the
// form the rest of the guard reads: brackets removed, lower case, full-width
// characters and ideographic full stops folded to ASCII (as IDNA mapping
// does before a name is resolved), trailing dots (the DNS root) removed.
func normalizeHost(host string) string {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	host = strings.Map(foldRune, host)
	host = strings.ToLower(host)
	return strings.TrimRight(host, ".")
}

// foldRune maps the non-ASCII look-alikes of digits, letters and dots that
// IDNA mapping turns into ASCII. It covers the Halfwidth and Fullwidth Forms
// block only; rarer compatibility characters stay as they are, are treated
// as part of a name and meet the dial-time check after net/http has mapped
// the name to ASCII.
func foldRune(r rune) rune {
	switch {
	case r == '\u3002' || r == '\uff0e' || r == '\uff61':
		return '.'
	case r >= '\uff01' && r <= '\uff5e':
		return r - 0xfee0
	}
	return r
}

// literalAddrs returns the addresses host stands for when some parser
// reads it as an IP literal, or nil when host is a name. host must be
// normalised. More than one address comes back when parsers disagree:
// "010.0.0.1" is 8.0.0.1 to inet_aton (octal) but 10.0.0.1 to a parser
// that reads decimal; the guard refuses if any reading is refused.
func literalAddrs(host string) []netip.Addr {
	// A zone ("%eth0") selects an interface; it is ignored for judging.
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i]
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}
	}
	return looseIPv4(host)
}

// looseIPv4 reads s the way inet_aton does, which is what the C resolver
// behind getaddrinfo and many HTTP clients accept: one to four parts
// separated by dots, each decimal, octal (leading 0) or hex (leading 0x),
// the last part filling the remaining bytes ("127.1" is 127.0.0.1,
// "2130706433" is 127.0.0.1). It also returns the decimal reading of parts
// with leading zeros when that differs.
func looseIPv4(s string) []netip.Addr {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return nil
	}

	var addrs []netip.Addr
	if a, ok := assemble(parts, parseCPart); ok {
		addrs = append(addrs, a)
	}
	if a, ok := assemble(parts, parseDecimalPart); ok && (len(addrs) == 0 || a != addrs[0]) {
		addrs = append(addrs, a)
	}
	return addrs
}

// assemble joins parsed parts into an address, inet_aton style: all but
// the last part are one byte each and the last fills the rest.
func assemble(parts []string, parse func(string) (uint64, bool)) (netip.Addr, bool) {
	var n uint64
	for i, p := range parts {
		v, ok := parse(p)
		if !ok {
			return netip.Addr{}, false
		}
		last := i == len(parts)-1
		if !last && v > 0xff {
			return netip.Addr{}, false
		}
		if !last {
			n = n<<8 | v
			continue
		}
		room := uint(8 * (5 - len(parts)))
		if v >= 1<<room {
			return netip.Addr{}, false
		}
		n = n<<room | v
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}

// parseCPart reads one part as inet_aton does. "0x" alone reads as 0,
// as it does in glibc.
func parseCPart(p string) (uint64, bool) {
	switch {
	case strings.HasPrefix(p, "0x"):
		return parseBase(p[2:], 16, true)
	case len(p) > 1 && p[0] == '0':
		return parseBase(p[1:], 8, false)
	}
	return parseBase(p, 10, false)
}

func parseDecimalPart(p string) (uint64, bool) { return parseBase(p, 10, false) }

// parseBase reads digits in base, refusing values past 32 bits so that
// nothing can wrap around to a small address.
func parseBase(digits string, base uint64, emptyOK bool) (uint64, bool) {
	if digits == "" {
		return 0, emptyOK
	}
	var v uint64
	for _, c := range []byte(digits) {
		d, ok := digitValue(c)
		if !ok || d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 0xffffffff {
			return 0, false
		}
	}
	return v, true
}

func digitValue(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	}
	return 0, false
}

// isLocalhostName reports whether name (normalised) is "localhost" or a
// name under it, which resolvers answer with loopback without asking DNS
// (RFC 6761).
func isLocalhostName(name string) bool {
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}

// validName reports whether name (normalised) can be a DNS host name:
// dot-separated non-empty labels of letters, digits, '-' and '_', or
// non-ASCII letters of an internationalised name.
func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if r < 0x80 && !isLDH(byte(r)) {
				return false
			}
		}
	}
	return true
}

func isLDH(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
