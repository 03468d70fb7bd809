package receiver

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// serveHTTP records the request, asks the script for an answer and gives it.
func (r *Receiver) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	req := r.read(hr)

	n, ok := r.record(&req)
	if !ok {
		return
	}
	defer r.finish()

	r.respond(w, hr, r.script(&req, n))
}

// read turns an incoming request into a Request, reading the whole body so
// BodyLen is true even past the recording cap.
func (r *Receiver) read(hr *http.Request) Request {
	req := Request{
		Method:     hr.Method,
		RawPath:    hr.RequestURI,
		Header:     hr.Header,
		At:         time.Now(),
		RemoteAddr: hr.RemoteAddr,
	}

	// net/http takes these two out of the map; the wire had them.
	if hr.Host != "" {
		req.Header["Host"] = []string{hr.Host}
	}
	if len(hr.TransferEncoding) > 0 {
		req.Header["Transfer-Encoding"] = hr.TransferEncoding
	}

	var err error
	req.Body, req.BodyLen, err = readCapped(hr.Body, hr.ContentLength, r.opts.MaxBody)
	req.Incomplete = err != nil
	return req
}

// readCapped reads all of body, keeping at most max bytes (all of them when
// max is negative), and returns the kept bytes and the real length.
func readCapped(body io.Reader, contentLength, max int64) ([]byte, int64, error) {
	// The common case, a body of known length under the cap, takes one
	// allocation of the right size: this is the benchmark's hot path.
	if contentLength >= 0 && (max < 0 || contentLength <= max) {
		b := make([]byte, contentLength)
		n, err := io.ReadFull(body, b)
		return b[:n], int64(n), err
	}

	if max < 0 {
		b, err := io.ReadAll(body)
		return b, int64(len(b)), err
	}
	b, err := io.ReadAll(io.LimitReader(body, max))
	if err != nil {
		return b, int64(len(b)), err
	}
	rest, err := io.Copy(io.Discard, body)
	return b, int64(len(b)) + rest, err
}

// record counts and keeps req, marks a handler in flight and returns req's
// 1-based arrival number for its path. It refuses once Close has begun, so
// Close never waits on a handler it did not see start.
func (r *Receiver) record(req *Request) (int, bool) {
	path := req.Path()
	id := ""
	if r.opts.Record != RecordCount {
		id = req.Header.Get(r.opts.IDHeader)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.isClosing() {
		return 0, false
	}

	r.count++
	r.perPath[path]++
	if id != "" {
		r.ids[id]++
	}
	if r.opts.Record == RecordAll {
		r.requests = append(r.requests, *req)
	}

	r.inFlight++
	r.handlers.Add(1)
	r.changed()
	return r.perPath[path], true
}

// finish marks a handler done.
func (r *Receiver) finish() {
	r.mu.Lock()
	r.inFlight--
	r.changed()
	r.mu.Unlock()
	r.handlers.Done()
}

func (r *Receiver) isClosing() bool {
	select {
	case <-r.closing:
		return true
	default:
		return false
	}
}

// respond writes resp, honouring its delay, trickle and drop.
func (r *Receiver) respond(w http.ResponseWriter, hr *http.Request, resp Response) {
	if !r.pause(hr.Context(), resp.Delay) {
		return
	}
	if resp.Drop {
		drop(w)
		return
	}

	for name, values := range resp.Header {
		w.Header()[name] = values
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}

	if resp.Trickle {
		r.trickle(hr.Context(), w, status, resp.Body)
		return
	}
	w.WriteHeader(status)
	w.Write(resp.Body)
}

// pause waits d and reports whether to go on: false when the client went
// away or the receiver is closing.
func (r *Receiver) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()

	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-r.closing:
		return false
	}
}

// trickleEvery is the pace of a trickle: the slow endpoint of field report
// E1, which a sender must cut off with one deadline over the whole attempt.
const trickleEvery = time.Second

// trickle sends the status and headers at once, then body one byte per
// trickleEvery, then spaces, until the client goes away or Close.
func (r *Receiver) trickle(ctx context.Context, w http.ResponseWriter, status int, body []byte) {
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}

	tick := time.NewTicker(trickleEvery)
	defer tick.Stop()
	for i := 0; ; i++ {
		b := byte(' ')
		if i < len(body) {
			b = body[i]
		}
		if _, err := w.Write([]byte{b}); err != nil || rc.Flush() != nil {
			return
		}

		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		case <-r.closing:
			return
		}
	}
}

// drop closes the connection without an answer. Linger 0 makes the kernel
// send a reset, so the client sees "connection reset by peer", as it would
// from a crashing server or a middlebox.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}
