package netguard

import (
	"net/netip"
)

// verdict is what the guard decided about one address.
type verdict struct {
	// addr is the address the decision is about: the IPv4 address an
	// IPv4-mapped, NAT64, 6to4 or Teredo address stands for, else the
	// address itself (without a zone).
	addr netip.Addr
	// reason is empty when addr is public, else a phrase such as
	// "a loopback address".
	reason string
}

func (v verdict) refused() bool { return v.reason != "" }

// span is one refused range and the phrase that names it in errors.
type span struct {
	prefix netip.Prefix
	reason string
}

func mustSpans(pairs ...string) []span {
	spans := make([]span, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		spans = append(spans, span{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return spans
}

// refusedV4 lists the IPv4 ranges that are not public, most specific first
// so that 169.254.169.254 is named as the metadata address rather than as
// plain link-local, and 255.255.255.255 as broadcast rather than reserved.
var refusedV4 = mustSpans(
	"169.254.169.254/32", "the cloud metadata address (link-local)",
	"255.255.255.255/32", "the broadcast address",
	"0.0.0.0/8", "an unspecified (\"this network\") address",
	"10.0.0.0/8", "a private address",
	"100.64.0.0/10", "a shared (carrier-grade NAT) address",
	"127.0.0.0/8", "a loopback address",
	"169.254.0.0/16", "a link-local address",
	"172.16.0.0/12", "a private address",
	"192.0.0.0/24", "a reserved (IETF protocol assignment) address",
	"192.0.2.0/24", "a documentation address",
	"192.88.99.0/24", "a reserved (deprecated 6to4 relay) address",
	"192.168.0.0/16", "a private address",
	"198.18.0.0/15", "a reserved (benchmarking) address",
	"198.51.100.0/24", "a documentation address",
	"203.0.113.0/24", "a documentation address",
	"224.0.0.0/4", "a multicast address",
	"240.0.0.0/4", "a reserved address",
)

// refusedV6 lists the IPv6 ranges that are not public and do not embed an
// IPv4 address. Anything outside global unicast (2000::/3) that is not
// listed here or handled as an embedding is refused as reserved.
var refusedV6 = mustSpans(
	"::/128", "an unspecified address",
	"::1/128", "a loopback address",
	"64:ff9b:1::/48", "a reserved (local-use NAT64) address",
	"100::/64", "a reserved (discard-only) address",
	"2001:2::/48", "a reserved (benchmarking) address",
	"2001:10::/28", "a reserved (ORCHID) address",
	"2001:20::/28", "a reserved (ORCHID) address",
	"2001:db8::/32", "a documentation address",
	"3fff::/20", "a documentation address",
	"fc00::/7", "a unique-local address",
	"fe80::/10", "a link-local address",
	"fec0::/10", "a site-local address",
	"ff00::/8", "a multicast address",
)

var globalUnicast = netip.MustParsePrefix("2000::/3")

// embedding is an IPv6 form that carries an IPv4 address: traffic to it
// ends up at (or is translated to) that IPv4 address, so the IPv4 address
// is what must be judged.
type embedding struct {
	prefix  netip.Prefix
	name    string
	extract func(a [16]byte) netip.Addr
}

// IPv4-mapped addresses (::ffff:0:0/96) are not listed: classify unmaps
// them first, since the kernel sends them as plain IPv4.
var embeddings = []embedding{
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "an IPv4-translated", low32},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64", low32},
	{netip.MustParsePrefix("2002::/16"), "a 6to4", sixToFour},
	{netip.MustParsePrefix("2001::/32"), "a Teredo", teredoClient},
	// Last: ::/96 also holds :: and ::1, which refusedV6 names first.
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible", low32},
}

func low32(a [16]byte) netip.Addr { return netip.AddrFrom4([4]byte(a[12:16])) }

// sixToFour reads the IPv4 address in bits 16–47 of a 6to4 address.
func sixToFour(a [16]byte) netip.Addr { return netip.AddrFrom4([4]byte(a[2:6])) }

// teredoClient reads the client's IPv4 address, stored inverted in the
// last 32 bits of a Teredo address.
func teredoClient(a [16]byte) netip.Addr {
	return netip.AddrFrom4([4]byte{^a[12], ^a[13], ^a[14], ^a[15]})
}

// classify decides whether a is a public destination. The zone, if any, is
// ignored: a zone picks an interface, it does not make an address public.
func classify(a netip.Addr) verdict {
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return verdict{addr: a, reason: lookup(refusedV4, a)}
	}

	if reason := lookup(refusedV6, a); reason != "" {
		return verdict{addr: a, reason: reason}
	}
	for _, e := range embeddings {
		if e.prefix.Contains(a) {
			return classifyEmbedded(e, a)
		}
	}
	if !globalUnicast.Contains(a) {
		return verdict{addr: a, reason: "a reserved address (outside global unicast 2000::/3)"}
	}
	return verdict{addr: a}
}

// classifyEmbedded judges the IPv4 address that a stands for. The IPv4
// address becomes the verdict's address only when it is refused, so a
// public 6to4 address is still dialled and reported as itself.
func classifyEmbedded(e embedding, a netip.Addr) verdict {
	v4 := classify(e.extract(a.As16()))
	if !v4.refused() {
		return verdict{addr: a}
	}
	v4.reason += " (embedded in " + e.name + " IPv6 address)"
	return v4
}

func lookup(spans []span, a netip.Addr) string {
	for _, s := range spans {
		if s.prefix.Contains(a) {
			return s.reason
		}
	}
	return ""
}
