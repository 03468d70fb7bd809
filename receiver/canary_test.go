package receiver_test

import (
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/hookflow/hookflow/receiver"
)

func TestCanaryCountsConnections(t *testing.T) {
	c, err := receiver.StartCanary()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Connections() != 0 {
		t.Fatalf("Connections = %d before any dial", c.Connections())
	}

	for range 3 {
		conn, err := net.Dial("tcp", c.Addr())
		if err != nil {
			t.Fatal(err)
		}
		// The canary counts a connection before closing it, so reading to
		// the end means it has been counted.
		io.Copy(io.Discard, conn)
		conn.Close()
	}
	if _, err := http.Get(c.URL()); err == nil {
		t.Error("an HTTP request to the canary succeeded, want an error")
	}

	if got := c.Connections(); got != 4 {
		t.Errorf("Connections = %d, want 4", got)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}
