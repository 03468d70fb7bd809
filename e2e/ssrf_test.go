package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hookflowtest"
)

// ssrfHost is one way of writing a destination that must be refused.
type ssrfHost struct {
	kind string
	host string // as written in the URL, without the port
	// dialOnly marks spellings the save-time check does not read as an
	// address (net/http maps them to ASCII before dialling, where they are
	// refused).
	dialOnly bool
}

// ssrfHosts are the spellings issue 3 names: the canary's loopback address
// in decimal, hex, octal, short forms, with a trailing dot, IPv4-mapped and
// other IPv6 embeddings, localhost names; and the other refused kinds,
// unique-local, CGNAT, multicast, unspecified (which Linux connects to the
// local host, so to the canary's port), the metadata address and
// link-local, some in odd spellings too.
var ssrfHosts = []ssrfHost{
	{"loopback", "127.0.0.1", false},
	{"decimal", "2130706433", false},
	{"hex", "0x7f000001", false},
	{"hex, upper case", "0X7F000001", false},
	{"hex, dotted", "0x7f.0x0.0x0.0x1", false},
	{"octal", "0177.0.0.1", false},
	{"octal, one part", "017700000001", false},
	{"octal, padded", "0177.0000.0000.0001", false},
	{"short", "127.1", false},
	{"short, three parts", "127.0.1", false},
	{"short, hex", "0x7f.1", false},
	{"trailing dot", "127.0.0.1.", false},
	{"decimal, trailing dot", "2130706433.", false},
	{"full-width digits", "１２７.０.０.１", false},
	{"mathematical digits", "𝟏𝟐𝟕.𝟎.𝟎.𝟏", true},
	{"IPv4-mapped", "[::ffff:127.0.0.1]", false},
	{"IPv4-mapped, hex", "[::ffff:7f00:1]", false},
	{"IPv4-mapped, long", "[0:0:0:0:0:ffff:7f00:0001]", false},
	{"IPv4-compatible", "[::127.0.0.1]", false},
	{"NAT64", "[64:ff9b::7f00:1]", false},
	{"6to4", "[2002:7f00:1::]", false},
	{"IPv6 loopback", "[::1]", false},
	{"localhost", "localhost", false},
	{"localhost, trailing dot", "localhost.", false},
	{"localhost, upper case", "LOCALHOST", false},
	{"under localhost", "hooks.localhost", false},
	{"unspecified", "0.0.0.0", false},
	{"unspecified, short", "0", false},
	{"unspecified IPv6", "[::]", false},
	{"unique-local", "[fc00::1]", false},
	{"unique-local, AWS metadata", "[fd00:ec2::254]", false},
	{"CGNAT", "100.64.0.1", false},
	{"CGNAT, top", "100.127.255.255", false},
	{"multicast", "224.0.0.1", false},
	{"multicast IPv6", "[ff02::1]", false},
	{"metadata", "169.254.169.254", false},
	{"metadata, decimal", "2852039166", false},
	{"metadata, hex", "0xa9fea9fe", false},
	{"metadata, octal", "0251.0376.0251.0376", false},
	{"metadata, short", "169.254.43518", false},
	{"metadata, trailing dot", "169.254.169.254.", false},
	{"metadata, IPv4-mapped", "[::ffff:169.254.169.254]", false},
	{"link-local", "169.254.0.1", false},
	{"link-local IPv6", "[fe80::1]", false},
	{"link-local IPv6, zone", "[fe80::1%25lo]", false},
	{"private", "10.0.0.1", false},
	{"private, short", "10.1", false},
	{"private, IPv4-mapped", "[::ffff:10.0.0.1]", false},
	{"private 172", "172.16.0.1", false},
	{"private 192", "192.168.0.1", false},
	{"broadcast", "255.255.255.255", false},
}

// The SSRF test of issue 3: a canary listens on loopback, which is not
// allow-listed, and every spelling above is tried where a user can put a
// destination: saved in a campaign and in /messages/send (refused with
// 400 naming the setting to change), and rendered from a user attribute
// into a campaign's URL, as a queued delivery and as a test send (refused
// when dialled: failed after one attempt of kind "refused", which no
// connection attempt ever makes, and not retried). The canary sees zero
// connections.
func TestSSRFEverySpellingNeverReachesTheCanary(t *testing.T) {
	canary := frCanary(t)
	_, port, _ := net.SplitHostPort(canary.Addr())
	sys := hookflowtest.Start(t, hookflowtest.Options{Allow: []string{}})

	t.Run("save", func(t *testing.T) {
		for _, h := range ssrfHosts {
			if h.dialOnly {
				continue
			}
			url := "http://" + h.host + ":" + port + "/x"
			status, body := sys.Do("POST", "/v1/campaigns", map[string]any{
				"name": h.kind, "delivery_type": "api_triggered", "webhook": frPairs(url, "a", "b"),
			})
			if status != http.StatusBadRequest || !bytes.Contains(body, []byte("HOOKFLOW_ALLOW_DESTINATIONS")) {
				t.Errorf("campaign to %s (%s): %d %s; want 400 naming HOOKFLOW_ALLOW_DESTINATIONS", url, h.kind, status, body)
			}
			status, body = sys.Do("POST", "/messages/send", map[string]any{
				"broadcast": true, "messages": map[string]any{"webhook": map[string]any{
					"url": url, "request_method": "POST", "body": "{}"}},
			})
			if status != http.StatusBadRequest || !bytes.Contains(body, []byte("HOOKFLOW_ALLOW_DESTINATIONS")) {
				t.Errorf("message to %s (%s): %d %s; want 400 naming HOOKFLOW_ALLOW_DESTINATIONS", url, h.kind, status, body)
			}
		}
	})

	t.Run("dial", func(t *testing.T) {
		id := frAPICampaign(sys, "templated host", frPairs("http://{{custom_attribute.${host}}}/x", "a", "b"))
		kinds := map[string]string{}
		for i, h := range ssrfHosts {
			user := fmt.Sprintf("u%d", i)
			kinds[user] = h.kind
			frUser(sys, user, map[string]any{"host": h.host + ":" + port})
			frTrigger(sys, id, user)

			var out sgRendered
			sys.MustDo(http.StatusOK, "POST", "/v1/campaigns/"+id+"/test", map[string]any{
				"user": map[string]any{"external_id": "test", "attributes": map[string]any{"host": h.host + ":" + port}},
			}, &out)
			if out.Response == nil || out.Response.ErrorKind != deliver.KindRefused ||
				!strings.Contains(out.Response.Error, "HOOKFLOW_ALLOW_DESTINATIONS") {
				t.Errorf("test send to %s (%s): %+v; want refused, naming HOOKFLOW_ALLOW_DESTINATIONS", h.host, h.kind, out.Response)
			}
		}

		for _, d := range sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id, Limit: 1000}, len(ssrfHosts)) {
			d, attempts := sys.WaitState(d.ID, hookflow.StateFailed)
			if d.Attempts != 1 || attempts[0].ErrorKind != deliver.KindRefused ||
				!strings.Contains(d.LastError, "HOOKFLOW_ALLOW_DESTINATIONS") {
				t.Errorf("delivery to %s (%s): %s, kind %q; want failed after one refused attempt naming HOOKFLOW_ALLOW_DESTINATIONS",
					d.Request.URL, kinds[d.ExternalID], frDescribe(d), attempts[0].ErrorKind)
			}
		}
	})

	if n := canary.Connections(); n != 0 {
		t.Fatalf("canary got %d connections, want 0", n)
	}

	// The canary does count: once loopback is allow-listed, the same
	// campaign reaches it.
	open := hookflowtest.Start(t, hookflowtest.Options{Allow: []string{"127.0.0.0/8"}})
	frUser(open, "u", map[string]any{"host": "2130706433:" + port})
	id := frAPICampaign(open, "allowed", frPairs("http://{{custom_attribute.${host}}}/x", "a", "b"))
	frTrigger(open, id, "u")
	frWaitFor(t, open, frOnly(t, open, id).ID, "an attempt", func(d *hookflow.Delivery) bool { return d.Attempts >= 1 })
	if n := canary.Connections(); n == 0 {
		t.Errorf("canary got no connection from an allow-listed delivery; the test could not see one")
	}
}
