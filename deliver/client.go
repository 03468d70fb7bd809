package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/signature"
)

// Defaults of Options.
const (
	DefaultTimeout          = 90 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultMaxConnsPerHost  = 64
)

// Options configure a Client. Zero fields take their defaults.
type Options struct {
	// Timeout bounds a whole attempt: dial, TLS, sending, the response
	// headers and reading the response body. Default 90s, as Braze.
	Timeout time.Duration
	// MaxResponseBytes is how much of a response body is read and kept;
	// the rest is never read. Default 64 KiB.
	MaxResponseBytes int64
	// MaxConnsPerHost limits connections to one host, so one slow endpoint
	// cannot take every connection. Default 64.
	MaxConnsPerHost int
	// DialControl, when set, runs before each connection with the address
	// actually dialled (after DNS), so a guard can refuse private
	// destinations. Its error ends the attempt as "refused", and its text
	// is shown to the user unchanged.
	DialControl func(network, address string, c syscall.RawConn) error
	// DialContext, when set, dials every connection instead of the
	// built-in dialer, and DialControl is then ignored. It is meant for
	// netguard.Guard.DialContext, which also honours host name allow
	// entries; a *netguard.RefusedError from it ends the attempt as
	// "refused".
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Signer signs every attempt of Send; nil sends unsigned. Use SendSigned
	// for per-campaign secrets.
	Signer *signature.Signer
	// TLSConfig, when set, replaces the default TLS settings (custom root
	// CAs, test servers).
	TLSConfig *tls.Config
}

// Client sends webhook attempts. It is safe for concurrent use; make one per
// process so connections are pooled.
type Client struct {
	http     *http.Client
	timeout  time.Duration
	maxBytes int64
	signer   *signature.Signer
}

// Timeout is the deadline of one attempt, response body included.
func (c *Client) Timeout() time.Duration { return c.timeout }

// NewClient returns a Client configured by o.
func NewClient(o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.MaxConnsPerHost <= 0 {
		o.MaxConnsPerHost = DefaultMaxConnsPerHost
	}

	dialer := &net.Dialer{KeepAlive: 30 * time.Second}
	if o.DialControl != nil {
		dialer.Control = func(network, address string, c syscall.RawConn) error {
			if err := o.DialControl(network, address, c); err != nil {
				return refusedError{err}
			}
			return nil
		}
	}

	dial := dialer.DialContext
	if o.DialContext != nil {
		dial = o.DialContext
	}

	transport := &http.Transport{
		// No proxy from the environment: the dial guard must see the real
		// destination, not a proxy's address.
		Proxy:               nil,
		DialContext:         dial,
		TLSClientConfig:     o.TLSConfig,
		ForceAttemptHTTP2:   true,
		MaxConnsPerHost:     o.MaxConnsPerHost,
		MaxIdleConns:        4 * o.MaxConnsPerHost,
		MaxIdleConnsPerHost: o.MaxConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		// Response headers are stored with every attempt; keep them small.
		MaxResponseHeaderBytes: 64 << 10,
		// Send exactly the template's headers: no Accept-Encoding added,
		// and the stored response body is what the receiver sent.
		DisableCompression: true,
	}

	return &Client{
		http: &http.Client{
			Transport: transport,
			// Never follow: a redirect would carry the signature and any
			// secret header to a place the author did not choose.
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		timeout:  o.Timeout,
		maxBytes: o.MaxResponseBytes,
		signer:   o.Signer,
	}
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Send makes attempt number of delivery deliveryID, signed with
// Options.Signer. See SendSigned.
func (c *Client) Send(ctx context.Context, deliveryID string, req *hookflow.Request,
	number int, now time.Time) hookflow.Attempt {
	return c.SendSigned(ctx, c.signer, deliveryID, req, number, now)
}

// SendSigned makes one HTTP attempt of req and records it; it never panics
// and never returns an error: every failure is in the Attempt. now is the
// attempt's start by the injected clock; it is StartedAt and, when signing,
// the webhook-timestamp.
//
// Headers sent: the template's, then webhook-id (always the delivery id,
// replacing any template value, so receivers can rely on it as their
// idempotency key) and, when signer is not nil, webhook-timestamp and
// webhook-signature for this attempt, also replacing template values. The
// User-Agent is Hookflow's unless the template sets its own. A template
// Host header sets the request's Host. The body is exactly req.Body; GET
// sends none. Redirects are not followed.
func (c *Client) SendSigned(ctx context.Context, signer *signature.Signer, deliveryID string,
	req *hookflow.Request, number int, now time.Time) hookflow.Attempt {
	start := time.Now()
	a := c.exchange(ctx, signer, deliveryID, req, now)
	a.DeliveryID, a.Number, a.StartedAt = deliveryID, number, now
	a.Duration = time.Since(start)
	return a
}

// exchange performs the HTTP exchange under one deadline that covers the
// dial, TLS, the request, the response headers and the body read, so a
// receiver trickling its answer cannot hold a sender past Timeout.
func (c *Client) exchange(ctx context.Context, signer *signature.Signer, deliveryID string,
	req *hookflow.Request, now time.Time) (a hookflow.Attempt) {
	// A panic here is a bug, but one delivery must not take the process
	// down with it; the attempt fails and is not retried.
	defer func() {
		if r := recover(); r != nil {
			a = hookflow.Attempt{ErrorKind: KindRequest, Error: fmt.Sprintf("internal error: %v", r)}
		}
	}()

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	hreq, err := c.build(ctx, signer, deliveryID, req, now)
	if err != nil {
		a.ErrorKind, a.Error = classifyError(ctx, err)
		return a
	}

	resp, err := c.http.Do(hreq)
	if err != nil {
		a.ErrorKind, a.Error = classifyError(ctx, unwrapURLError(err))
		return a
	}
	defer resp.Body.Close()

	a.Status = resp.StatusCode
	a.ResponseHeaders = resp.Header
	if err := c.readBody(resp.Body, &a); err != nil {
		a.ErrorKind, a.Error = classifyError(ctx, err)
		a.Error = "reading response body: " + a.Error
		return a
	}
	a.ErrorKind, a.Error = judgeStatus(resp)
	return a
}

// readBody keeps up to maxBytes of the body and marks a.Truncated when
// there was more. It reads at most one byte past the cap: the rest is left
// unread and the connection closed, so a huge body costs nothing.
func (c *Client) readBody(body io.Reader, a *hookflow.Attempt) error {
	buf, err := io.ReadAll(io.LimitReader(body, c.maxBytes+1))
	if int64(len(buf)) > c.maxBytes {
		buf, a.Truncated = buf[:c.maxBytes], true
	}
	if len(buf) > 0 {
		a.ResponseBody = buf
	}
	return err
}

// judgeStatus explains a non-2xx status in the attempt's error fields.
func judgeStatus(resp *http.Response) (kind, text string) {
	switch s := resp.StatusCode; {
	case s >= 200 && s <= 299:
		return "", ""
	case s >= 300 && s <= 399:
		return KindRedirect, fmt.Sprintf("redirect to %s not followed (status %d)",
			resp.Header.Get("Location"), s)
	}
	return KindStatus, "status " + strings.TrimSpace(resp.Status)
}

// build turns the rendered request into an *http.Request for this attempt.
func (c *Client) build(ctx context.Context, signer *signature.Signer, deliveryID string,
	req *hookflow.Request, now time.Time) (*http.Request, error) {
	if req == nil {
		return nil, requestError{errors.New("no rendered request")}
	}
	if err := checkHeaders(req.Headers); err != nil {
		return nil, requestError{err}
	}

	var body io.Reader
	if req.Method != http.MethodGet && len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	// NewRequestWithContext parses the URL; checkURL judges the parsed
	// one, so an attempt parses it once.
	hreq, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if urlErr := (*url.Error)(nil); errors.As(err, &urlErr) {
		return nil, requestError{fmt.Errorf("invalid URL: %w", err)}
	}
	if err != nil {
		return nil, requestError{err}
	}
	if err := checkURL(req.URL, hreq.URL); err != nil {
		return nil, requestError{err}
	}

	hreq.Header = req.HTTPHeader()
	if host := hreq.Header.Get("Host"); host != "" {
		hreq.Host = host
		hreq.Header.Del("Host")
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", hookflow.UserAgent())
	}
	hreq.Header.Set(signature.HeaderID, deliveryID)
	if signer != nil && len(signer.Secrets) > 0 {
		hreq.Header.Set(signature.HeaderTimestamp, signature.Timestamp(now))
		hreq.Header.Set(signature.HeaderSignature, signer.Sign(deliveryID, now, req.Body))
	}
	return hreq, nil
}

// checkURL accepts absolute http and https URLs with a host; u is raw
// parsed.
func checkURL(raw string, u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("invalid URL %q: no host", raw)
	}
	return nil
}

// checkHeaders refuses header names that are not HTTP tokens and values
// holding control characters. A CR or LF in a value would otherwise let
// user data add headers of its own (header injection).
func checkHeaders(headers []hookflow.Header) error {
	for _, h := range headers {
		if h.Name == "" || strings.IndexFunc(h.Name, notTokenChar) >= 0 {
			return fmt.Errorf("invalid header name %q", h.Name)
		}
		if strings.IndexFunc(h.Value, isControl) >= 0 {
			return fmt.Errorf("invalid value of header %s: control character", h.Name)
		}
	}
	return nil
}

func notTokenChar(r rune) bool {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

// unwrapURLError drops the *url.Error wrapper of http.Client errors: its
// text repeats the method and URL, which the activity log already shows.
func unwrapURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
