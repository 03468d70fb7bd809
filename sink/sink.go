// Package sink is the request inspector behind `hookflow sink`: a small HTTP
// server that prints every request it receives, so a user can see exactly
// what a webhook sends before pointing it at a real system. It is built on
// package receiver, which does the receiving; sink only prints.
package sink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/hookflow/hookflow/receiver"
)

// DefaultAddr is where the sink listens unless told otherwise: loopback only,
// since what it prints may hold secrets.
const DefaultAddr = "127.0.0.1:9000"

// Options configures Run.
type Options struct {
	// Addr is the address to listen on. Defaults to DefaultAddr,
	// "127.0.0.1:9000". A port of 0 picks a free one; Ready and the
	// listening line tell which.
	Addr string
	// Status is the status every request is answered with, from 200 to 599.
	// Defaults to 200. A failing status lets a user watch Hookflow retry.
	Status int
	// Out receives the printed requests. Defaults to os.Stdout.
	Out io.Writer
	// JSON prints one JSON line per request (see FormatJSON) instead of the
	// human format.
	JSON bool
	// Stderr receives the listening line when JSON is set, so Out holds
	// JSON lines only. Defaults to os.Stderr.
	Stderr io.Writer
	// Ready, if set, is called with the sink's base URL once it listens.
	Ready func(url string)
}

func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Status == 0 {
		o.Status = http.StatusOK
	}
	if o.Status < 200 || o.Status > 599 {
		return o, fmt.Errorf("sink status %d: must be from 200 to 599", o.Status)
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	return o, nil
}

// Run serves until ctx is done, printing every request to o.Out and answering
// each with o.Status and an empty body. It returns nil when ctx ends, and an
// error if the options are wrong or it cannot listen.
func Run(ctx context.Context, o Options) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}

	p := &printer{out: o.Out, json: o.JSON}
	// RecordCount: the sink may run for days, and it prints requests
	// rather than keeping them.
	rcv, err := receiver.StartWith(p.script(o.Status), receiver.Options{
		Addr:   o.Addr,
		Record: receiver.RecordCount,
	})
	if err != nil {
		return fmt.Errorf("start sink: %w", err)
	}

	notice := o.Out
	if o.JSON {
		notice = o.Stderr
	}
	fmt.Fprintf(notice, "sink listening on %s — every request is printed here%s\n",
		rcv.URL(), answering(o.Status))
	if o.Ready != nil {
		o.Ready(rcv.URL())
	}

	<-ctx.Done()
	if err := rcv.Close(); err != nil {
		return fmt.Errorf("stop sink: %w", err)
	}
	return nil
}

// answering notes a status other than 200 on the listening line, so a user
// who set one for a test does not forget it is on.
func answering(status int) string {
	if status == http.StatusOK {
		return ""
	}
	return fmt.Sprintf(" (answering %d %s)", status, http.StatusText(status))
}

// printer writes each request to out whole: requests arrive concurrently,
// and their lines must not interleave.
type printer struct {
	mu   sync.Mutex
	out  io.Writer
	json bool
}

func (p *printer) script(status int) receiver.Script {
	return func(r *receiver.Request, _ int) receiver.Response {
		p.print(*r)
		return receiver.Response{Status: status}
	}
}

func (p *printer) print(r receiver.Request) {
	// Writing to a buffer cannot fail, and a request always encodes.
	var b bytes.Buffer
	if p.json {
		FormatJSON(&b, r)
	} else {
		Format(&b, r)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.Write(b.Bytes())
}
