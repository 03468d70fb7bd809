package receiver

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// Canary is a bare TCP listener that must never be connected to: a test
// points a redirect or a private-address webhook at it and asserts that
// Connections stays 0. It closes every connection it accepts at once.
type Canary struct {
	ln    net.Listener
	conns atomic.Int64
	done  sync.WaitGroup
}

// StartCanary starts a canary on a free loopback port.
func StartCanary() (*Canary, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("canary listen: %w", err)
	}

	c := &Canary{ln: ln}
	c.done.Add(1)
	go c.accept()
	return c, nil
}

func (c *Canary) accept() {
	defer c.done.Done()
	for {
		conn, err := c.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		c.conns.Add(1)
		conn.Close()
	}
}

// Addr returns the canary's host:port.
func (c *Canary) Addr() string { return c.ln.Addr().String() }

// URL returns "http://" and the canary's host:port.
func (c *Canary) URL() string { return "http://" + c.Addr() }

// Connections returns how many connections the canary has accepted.
func (c *Canary) Connections() int64 { return c.conns.Load() }

// Close stops the canary.
func (c *Canary) Close() error {
	err := c.ln.Close()
	c.done.Wait()
	if err != nil {
		return fmt.Errorf("close canary: %w", err)
	}
	return nil
}
