package netguard_test

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hookflow/hookflow/netguard"
)

// The webhook HTTP client dials through the guard, with no proxy, so the
// address actually connected to is the one that was judged.
func ExampleGuard_DialContext() {
	guard, err := netguard.New([]string{"10.20.0.0/16", "*.hooks.internal"})
	if err != nil {
		panic(err)
	}
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:       nil,
			DialContext: guard.DialContext(&net.Dialer{Timeout: 5 * time.Second}),
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	_ = client
}

func ExampleGuard_CheckURL() {
	guard, _ := netguard.New(nil)
	fmt.Println(guard.CheckURL("http://2130706433:9999/"))
	fmt.Println(guard.CheckURL("https://hooks.example.com/in"))
	// Output:
	// destination 127.0.0.1 (from "2130706433") is a loopback address; Hookflow refuses non-public destinations unless allow-listed: add it to HOOKFLOW_ALLOW_DESTINATIONS (e.g. 127.0.0.0/8) or --allow-destinations
	// <nil>
}
