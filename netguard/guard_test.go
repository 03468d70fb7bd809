package netguard

import (
	"errors"
	"strings"
	"testing"
)

func mustGuard(t *testing.T, allow ...string) *Guard {
	t.Helper()
	g, err := New(allow)
	if err != nil {
		t.Fatalf("New(%q): %v", allow, err)
	}
	return g
}

// refusedAddr returns the normalised address of a *RefusedError ("name"
// for a name refused by rule), "" for nil, and fails on any other error.
func refusedAddr(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("error is %T, not *RefusedError: %v", err, err)
	}
	if !refused.Addr.IsValid() {
		return "name"
	}
	return refused.Addr.String()
}

func TestCheckURLSpellings(t *testing.T) {
	g := mustGuard(t)
	tests := []struct {
		url  string
		want string // normalised address refused; "" allowed; "name" refused by name
	}{
		// Loopback, every spelling.
		{"http://127.0.0.1/", "127.0.0.1"},
		{"http://2130706433:9999/", "127.0.0.1"},
		{"http://0x7f000001/", "127.0.0.1"},
		{"http://0X7F000001/", "127.0.0.1"},
		{"http://0177.0.0.1/", "127.0.0.1"},
		{"http://0177.0.0.01/", "127.0.0.1"},
		{"http://00000177.0.0.1/", "127.0.0.1"},
		{"http://017700000001/", "127.0.0.1"},
		{"http://127.1/", "127.0.0.1"},
		{"http://127.0.1/", "127.0.0.1"},
		{"http://0x7f.1/", "127.0.0.1"},
		{"http://0x7f.0x0.0x0.0x1/", "127.0.0.1"},
		{"http://127.0.0.1./", "127.0.0.1"},
		{"http://127.0.0.1../", "127.0.0.1"},
		{"http://127.0.0.1%25lo/", "127.0.0.1"},
		{"http://127.255.255.254:8080/", "127.255.255.254"},
		{"http://１２７.０.０.１/", "127.0.0.1"},
		{"http://127。0。0。1/", "127.0.0.1"},
		{"http://[::1]/", "::1"},
		{"http://[0:0:0:0:0:0:0:1]:8080/", "::1"},
		{"http://[::1%25lo]/", "::1"},
		{"http://localhost/", "name"},
		{"http://LOCALHOST:8080/", "name"},
		{"http://localhost./", "name"},
		{"http://api.localhost/", "name"},

		// IPv6 forms embedding a refused IPv4 address.
		{"http://[::ffff:127.0.0.1]/", "127.0.0.1"},
		{"https://[::FFFF:7f00:1]:443/", "127.0.0.1"},
		{"http://[0:0:0:0:0:ffff:169.254.169.254]/", "169.254.169.254"},
		{"http://[::127.0.0.1]/", "127.0.0.1"},
		{"http://[::ffff:0:10.0.0.1]/", "10.0.0.1"},
		{"http://[64:ff9b::7f00:1]/", "127.0.0.1"},
		{"http://[64:ff9b::169.254.169.254]/", "169.254.169.254"},
		{"http://[2002:7f00:1::]/", "127.0.0.1"},
		{"http://[2002:a00:1::1]/", "10.0.0.1"},
		{"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "127.0.0.1"},

		// The metadata address and the other refused ranges.
		{"http://169.254.169.254/", "169.254.169.254"},
		{"http://169.254.169.254./latest/meta-data/", "169.254.169.254"},
		{"http://2852039166/", "169.254.169.254"},
		{"http://0xa9fea9fe/", "169.254.169.254"},
		{"http://0251.0376.0251.0376/", "169.254.169.254"},
		{"http://169.254.43518/", "169.254.169.254"},
		{"http://169.254.0.1/", "169.254.0.1"},
		{"http://10.0.0.1/", "10.0.0.1"},
		{"http://10.1/", "10.0.0.1"},
		{"http://010.0.0.1/", "10.0.0.1"}, // octal 8.0.0.1, decimal 10.0.0.1
		{"http://172.16.0.1/", "172.16.0.1"},
		{"http://172.31.255.255/", "172.31.255.255"},
		{"http://192.168.1.1/", "192.168.1.1"},
		{"http://100.64.0.1/", "100.64.0.1"},
		{"http://100.127.255.255/", "100.127.255.255"},
		{"http://224.0.0.1/", "224.0.0.1"},
		{"http://239.255.255.250/", "239.255.255.250"},
		{"http://255.255.255.255/", "255.255.255.255"},
		{"http://0.0.0.0/", "0.0.0.0"},
		{"http://0/", "0.0.0.0"},
		{"http://0.1.2.3/", "0.1.2.3"},
		{"http://192.0.0.8/", "192.0.0.8"},
		{"http://192.0.2.1/", "192.0.2.1"},
		{"http://198.18.0.1/", "198.18.0.1"},
		{"http://198.19.255.255/", "198.19.255.255"},
		{"http://198.51.100.7/", "198.51.100.7"},
		{"http://203.0.113.9/", "203.0.113.9"},
		{"http://240.0.0.1/", "240.0.0.1"},
		{"http://[fe80::1%25eth0]/", "fe80::1"},
		{"http://[fc00::1]/", "fc00::1"},
		{"http://[fd00:ec2::254]/", "fd00:ec2::254"},
		{"http://[ff02::1]/", "ff02::1"},
		{"http://[::]/", "::"},
		{"http://[2001:db8::1]/", "2001:db8::1"},
		{"http://[fec0::1]/", "fec0::1"},
		{"http://[100::1]/", "100::1"},
		{"http://[4000::1]/", "4000::1"},

		// Public destinations and names pass; names are judged when dialled.
		{"https://example.com/hook", ""},
		{"https://hooks.example.com./x?y=1", ""},
		{"http://internal.corp:8080/", ""},
		{"http://8.8.8.8/", ""},
		{"http://134744072/", ""},
		{"http://0x08.8.8.8/", ""},
		{"http://172.32.0.1/", ""},
		{"http://100.128.0.1/", ""},
		{"http://[2606:4700::1111]/", ""},
		{"http://[::ffff:8.8.8.8]/", ""},
		{"http://[64:ff9b::808:808]/", ""},
		{"http://[2002:808:808::1]/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := refusedAddr(t, g.CheckURL(tt.url)); got != tt.want {
				t.Errorf("CheckURL(%q) refused %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestCheckURLInvalid(t *testing.T) {
	g := mustGuard(t, "127.0.0.0/8")
	for _, raw := range []string{
		"ftp://example.com/",
		"file:///etc/passwd",
		"gopher://127.0.0.1/",
		"javascript:alert(1)",
		"http:///path",
		"http://exa mple.com/",
		"not a url",
		"http://a..b/",
		"http://under:score@/",
	} {
		err := g.CheckURL(raw)
		var refused *RefusedError
		if err == nil || errors.As(err, &refused) {
			t.Errorf("CheckURL(%q) = %v, want a plain error", raw, err)
		}
	}
}

// TestRefusedMessage pins the wording of field report E6: the message says
// what the address is, where it came from and how to allow it.
func TestRefusedMessage(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://2130706433:9999/", `destination 127.0.0.1 (from "2130706433") is a loopback address; ` +
			`Hookflow refuses non-public destinations unless allow-listed: ` +
			`add it to HOOKFLOW_ALLOW_DESTINATIONS (e.g. 127.0.0.0/8) or --allow-destinations`},
		{"http://169.254.169.254/", `destination 169.254.169.254 is the cloud metadata address (link-local); ` +
			`Hookflow refuses non-public destinations unless allow-listed: ` +
			`add it to HOOKFLOW_ALLOW_DESTINATIONS (e.g. 169.254.169.254/32) or --allow-destinations`},
		{"http://localhost./", `destination "localhost." is a loopback name; ` +
			`Hookflow refuses non-public destinations unless allow-listed: ` +
			`add it to HOOKFLOW_ALLOW_DESTINATIONS (e.g. localhost) or --allow-destinations`},
		{"http://[64:ff9b::a00:1]/", `destination 10.0.0.1 (from "64:ff9b::a00:1") is a private address ` +
			`(embedded in a NAT64 IPv6 address); Hookflow refuses non-public destinations unless allow-listed: ` +
			`add it to HOOKFLOW_ALLOW_DESTINATIONS (e.g. 10.0.0.1/32) or --allow-destinations`},
	}
	g := mustGuard(t)
	for _, tt := range tests {
		err := g.CheckURL(tt.url)
		if err == nil || err.Error() != tt.want {
			t.Errorf("CheckURL(%q) error\n got: %v\nwant: %s", tt.url, err, tt.want)
		}
	}
}

func TestAllowEntries(t *testing.T) {
	tests := []struct {
		allow []string
		url   string
		want  string
	}{
		{[]string{"127.0.0.0/8"}, "http://2130706433/", ""},
		{[]string{"127.0.0.0/8"}, "http://[::ffff:127.0.0.1]/", ""},
		{[]string{"127.0.0.0/8"}, "http://[64:ff9b::7f00:1]/", ""},
		{[]string{"127.0.0.0/8"}, "http://localhost:8080/", ""},
		{[]string{"127.0.0.0/8"}, "http://[::1]/", "::1"},
		{[]string{"127.0.0.0/8"}, "http://10.0.0.1/", "10.0.0.1"},
		{[]string{"::1/128"}, "http://[::1]:8080/", ""},
		{[]string{"::1/128"}, "http://127.0.0.1/", "127.0.0.1"},
		{[]string{"10.1.2.3"}, "http://10.1.2.3/", ""},
		{[]string{"10.1.2.3"}, "http://10.1.2.4/", "10.1.2.4"},
		{[]string{"10.1.2.3/8"}, "http://10.9.9.9/", ""},
		{[]string{" 169.254.169.254 "}, "http://169.254.169.254/", ""},
		{[]string{"fd00::/8"}, "http://[fd12::1]/", ""},
		{[]string{"fd00::5"}, "http://[fd00::5]/", ""},
		{[]string{"localhost"}, "http://localhost/", ""},
		{[]string{"LocalHost."}, "http://localhost./", ""},
		{[]string{"localhost"}, "http://api.localhost/", "name"},
		{[]string{"localhost"}, "http://127.0.0.1/", "127.0.0.1"},
		{[]string{"*.localhost"}, "http://api.localhost/", ""},
		{[]string{"*.localhost"}, "http://localhost/", "name"},
		{[]string{"*.internal.example.com"}, "http://10.0.0.1/", "10.0.0.1"},
	}
	for _, tt := range tests {
		g := mustGuard(t, tt.allow...)
		if got := refusedAddr(t, g.CheckURL(tt.url)); got != tt.want {
			t.Errorf("allow %q: CheckURL(%q) refused %q, want %q", tt.allow, tt.url, got, tt.want)
		}
	}
}

func TestBadAllowEntry(t *testing.T) {
	for _, entry := range []string{
		"",
		"10.0.0.0/33",
		"10.0.0.1:80",
		"[::1]",
		"::1%lo",
		"::ffff:10.0.0.0/104",
		"0x7f000001",
		"127.1",
		"2130706433",
		"not a host",
		"*",
		"*.",
		"foo..bar",
		"http://example.com",
		"a.*.example.com",
	} {
		_, err := New([]string{"127.0.0.0/8", entry})
		if err == nil {
			t.Errorf("New accepted %q", entry)
			continue
		}
		if want := "bad allow entry " + strQuote(entry); !strings.Contains(err.Error(), want) {
			t.Errorf("New(%q) error %q does not contain %q", entry, err, want)
		}
	}
}

func strQuote(s string) string { return `"` + s + `"` }

func TestControl(t *testing.T) {
	g := mustGuard(t, "10.0.0.0/8", "localhost")
	tests := []struct{ address, want string }{
		{"127.0.0.1:80", "127.0.0.1"},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1"},
		{"[::1]:443", "::1"},
		{"169.254.169.254:80", "169.254.169.254"},
		{"[fe80::1%eth0]:80", "fe80::1"},
		{"8.8.8.8:443", ""},
		{"10.2.3.4:80", ""},
		{"[2606:4700::1111]:443", ""},
	}
	for _, tt := range tests {
		if got := refusedAddr(t, g.Control("tcp", tt.address, nil)); got != tt.want {
			t.Errorf("Control(%q) refused %q, want %q", tt.address, got, tt.want)
		}
	}

	err := g.Control("tcp", "not-an-address", nil)
	var refused *RefusedError
	if err == nil || errors.As(err, &refused) {
		t.Errorf("Control(unreadable) = %v, want a plain error", err)
	}
}
