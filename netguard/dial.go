package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
)

// DialFunc is the shape of http.Transport.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DialContext returns the dial function the webhook HTTP client must use
// as its http.Transport.DialContext. For each connection it:
//
//  1. reads the host as an IP literal in any spelling, or else resolves
//     the name once with dialer.Resolver (net.DefaultResolver if nil);
//  2. judges every address: the connection is refused if any address is
//     refused, since a name that mixes public and private answers is a
//     DNS rebinding attempt, not a receiver;
//  3. dials the judged addresses themselves, one after the other, so DNS
//     cannot answer differently between the check and the connect.
//
// A host name allow entry opens every address the name resolves to.
// The returned dialer also re-checks the socket address just before
// connect (see Control), as a second line of defence; a Control or
// ControlContext already set on dialer still runs after it. dialer is
// copied, never changed; nil means a zero net.Dialer.
//
// The transport must not route around it: set Proxy to nil (the default
// transport's ProxyFromEnvironment would have the guard judge the proxy,
// not the destination) and leave DialTLSContext unset.
func (g *Guard) DialContext(dialer *net.Dialer) DialFunc {
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return g.dial(ctx, dialer, network, addr)
	}
}

func (g *Guard) dial(ctx context.Context, dialer *net.Dialer, network, addr string) (net.Conn, error) {
	family, ok := ipFamily[network]
	if !ok {
		return nil, fmt.Errorf("netguard: network %q not supported", network)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("netguard: dial address: %w", err)
	}

	addrs, err := g.resolve(ctx, dialer.Resolver, family, host)
	if err != nil {
		return nil, err
	}

	d := g.secondLine(dialer, addrs)
	var errs []error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// ipFamily maps a dial network to the lookup network of its addresses.
var ipFamily = map[string]string{
	"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6",
	"udp": "ip", "udp4": "ip4", "udp6": "ip6",
}

// resolve turns host into the addresses to dial, refusing if any of them
// is refused.
func (g *Guard) resolve(ctx context.Context, r *net.Resolver, family, host string) ([]netip.Addr, error) {
	name := normalizeHost(host)
	if addrs := literalAddrs(name); addrs != nil {
		if err := g.judgeAll(host, addrs, false); err != nil {
			return nil, err
		}
		// A standard spelling is dialled as written, keeping its zone;
		// otherwise the first reading, inet_aton's, which is what a C-based
		// client would have connected to.
		if a, err := netip.ParseAddr(host); err == nil {
			return []netip.Addr{a.Unmap()}, nil
		}
		return addrs[:1], nil
	}
	if err := g.checkHost(host); err != nil {
		return nil, err
	}

	if r == nil {
		r = net.DefaultResolver
	}
	// The host is resolved as written (net/http has already mapped it to
	// ASCII); the normalised name only serves the allow list.
	addrs, err := r.LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, fmt.Errorf("netguard: resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("netguard: resolve %s: no addresses", host)
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, g.judgeAll(host, addrs, g.allow.allowsName(name))
}

// secondLine returns a copy of dialer whose ControlContext re-checks the
// address the socket is about to connect to. Addresses already approved
// (including those opened by a host name entry, which Control alone could
// not know) pass; anything else must pass Control.
func (g *Guard) secondLine(dialer *net.Dialer, approved []netip.Addr) *net.Dialer {
	d := *dialer
	userCtx, user := dialer.ControlContext, dialer.Control
	d.Control = nil
	d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := g.control(address, approved); err != nil {
			return err
		}
		switch {
		case userCtx != nil:
			return userCtx(ctx, network, address, c)
		case user != nil:
			return user(network, address, c)
		}
		return nil
	}
	return &d
}

// Control checks the address a socket is about to connect to, after any
// DNS resolution, and refuses it unless it is public or inside an allowed
// range. It fits net.Dialer.Control. Since it sees only an address, host
// name allow entries do not apply here; use DialContext, which applies
// them and runs this check as well.
func (g *Guard) Control(network, address string, c syscall.RawConn) error {
	return g.control(address, nil)
}

func (g *Guard) control(address string, approved []netip.Addr) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: an address the guard cannot read is not dialled.
		return fmt.Errorf("netguard: cannot read dial address %q: %w", address, err)
	}
	a := ap.Addr().WithZone("").Unmap()
	if slices.ContainsFunc(approved, func(b netip.Addr) bool { return b.WithZone("") == a }) {
		return nil
	}
	return g.judge(a.String(), a, false)
}
