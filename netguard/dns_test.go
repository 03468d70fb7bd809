package netguard

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// startDNS runs a tiny DNS server on loopback UDP that answers A and AAAA
// queries from records (names with a trailing dot) and NXDOMAIN for the
// rest, and returns a resolver that asks only it. This lets the tests
// point names at the canary through Go's real resolver instead of a fake
// lookup function.
func startDNS(t *testing.T, records map[string][]netip.Addr) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go serveDNS(pc, records)

	server := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", server)
		},
	}
}

func serveDNS(pc net.PacketConn, records map[string][]netip.Addr) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return // closed by the test's cleanup
		}
		if reply := dnsReply(buf[:n], records); reply != nil {
			pc.WriteTo(reply, from)
		}
	}
}

// dnsReply answers the first question of query, or returns nil for a
// message it cannot read.
func dnsReply(query []byte, records map[string][]netip.Addr) []byte {
	name, qtype, end, ok := dnsQuestion(query)
	if !ok {
		return nil
	}

	addrs, known := records[name]
	var answers [][]byte
	for _, a := range addrs {
		if (qtype == 1 && a.Is4()) || (qtype == 28 && a.Is6()) {
			answers = append(answers, a.AsSlice())
		}
	}

	flags := uint16(0x8180) // response, recursion desired and available
	if !known {
		flags |= 3 // NXDOMAIN
	}
	reply := append([]byte{}, query[:2]...)
	reply = binary.BigEndian.AppendUint16(reply, flags)
	reply = binary.BigEndian.AppendUint16(reply, 1)
	reply = binary.BigEndian.AppendUint16(reply, uint16(len(answers)))
	reply = append(reply, 0, 0, 0, 0) // no authority, no additional
	reply = append(reply, query[12:end]...)
	for _, rdata := range answers {
		reply = append(reply, 0xc0, 12) // name: pointer to the question
		reply = binary.BigEndian.AppendUint16(reply, qtype)
		reply = append(reply, 0, 1, 0, 0, 0, 0) // class IN, TTL 0
		reply = binary.BigEndian.AppendUint16(reply, uint16(len(rdata)))
		reply = append(reply, rdata...)
	}
	return reply
}

// dnsQuestion reads the name and type of the first question and where the
// question ends.
func dnsQuestion(msg []byte) (name string, qtype uint16, end int, ok bool) {
	if len(msg) < 12 {
		return "", 0, 0, false
	}
	var labels []string
	i := 12
	for i < len(msg) && msg[i] != 0 {
		n := int(msg[i])
		if n > 63 || i+1+n > len(msg) {
			return "", 0, 0, false
		}
		labels = append(labels, string(msg[i+1:i+1+n]))
		i += 1 + n
	}
	if i+5 > len(msg) {
		return "", 0, 0, false
	}
	qtype = binary.BigEndian.Uint16(msg[i+1:])
	return strings.ToLower(strings.Join(labels, ".")) + ".", qtype, i + 5, true
}
