// Package netguard keeps webhooks from reaching non-public addresses: the
// server's own loopback, the private network it sits in, the cloud metadata
// service. A webhook URL is chosen by whoever edits a campaign, so without
// this guard anyone who can save a webhook could make Hookflow fetch
// http://169.254.169.254/ (cloud credentials) or poke services that trust
// the internal network (server-side request forgery).
//
// # What is refused
//
// Unless an allow entry opens it, a destination is refused when it is:
//
//   - loopback: 127.0.0.0/8, ::1, and the names localhost and *.localhost;
//   - private: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, and IPv6
//     unique-local fc00::/7 (which holds AWS's fd00:ec2::254 metadata);
//   - link-local: 169.254.0.0/16, including the cloud metadata address
//     169.254.169.254, and fe80::/10 (and the deprecated site-local
//     fec0::/10);
//   - shared carrier-grade NAT space: 100.64.0.0/10;
//   - multicast 224.0.0.0/4 and ff00::/8, broadcast 255.255.255.255;
//   - unspecified: 0.0.0.0/8 and ::, which Linux connects to the local host;
//   - reserved or documentation ranges that are not routed on the internet:
//     192.0.0.0/24, 192.0.2.0/24, 192.88.99.0/24, 198.18.0.0/15,
//     198.51.100.0/24, 203.0.113.0/24, 240.0.0.0/4; for IPv6 64:ff9b:1::/48,
//     100::/64, 2001:2::/48, 2001:10::/28, 2001:20::/28, 2001:db8::/32,
//     3fff::/20, and anything outside global unicast 2000::/3;
//   - an IPv6 address that carries a refused IPv4 address: IPv4-mapped
//     (::ffff:127.0.0.1), IPv4-compatible (::127.0.0.1), IPv4-translated
//     (::ffff:0:127.0.0.1), NAT64 (64:ff9b::7f00:1), 6to4 (2002:7f00:1::)
//     and Teredo (2001::/32, client address inverted in the last 32 bits).
//
// An address is judged whatever its spelling. Besides Go's own parser, the
// guard reads hosts the way inet_aton does (the C resolver behind
// getaddrinfo, curl and many libraries): "2130706433", "0x7f000001",
// "0177.0.0.1", "127.1", "0x7f.1", each with or without a trailing dot. When
// two parsers disagree ("010.0.0.1" is 8.0.0.1 in octal, 10.0.0.1 in
// decimal) the host is refused if either reading is. Zones ("%eth0") are
// ignored and full-width digits and dots are folded to ASCII first.
//
// # Two checks
//
// CheckURL runs when a webhook is saved and catches literal addresses and
// localhost names early, with a message the user can act on. It does not
// resolve other names: what a name resolves to can change after saving.
//
// The check that decides is made when dialling. The webhook HTTP client
// must use DialContext as its transport's dial function:
//
//	transport := &http.Transport{
//		Proxy:       nil, // a proxy would be judged instead of the destination
//		DialContext: guard.DialContext(&net.Dialer{Timeout: 5 * time.Second}),
//	}
//
// DialContext resolves each name itself, judges every address it got and
// dials those very addresses, so there is no gap between check and connect
// for a rebinding DNS server to use. It also installs a socket-level check
// (the same as Control) on the dialer, as a second line of defence.
// Control alone, on a plain net.Dialer, is enough for address rules but
// cannot honour host name allow entries, since it only sees an address.
// Redirects followed by the client are dialled through the same function
// and so are judged too.
//
// # Known limits
//
// DialContext tries the addresses of a name one after another, without
// the parallel IPv4/IPv6 racing of net.Dialer. Non-ASCII characters other
// than the full-width forms are not folded by CheckURL, so a URL spelled
// with, say, mathematical digits passes the save-time check; net/http maps
// such a host to ASCII before dialling, and the dial-time check refuses it.
package netguard
