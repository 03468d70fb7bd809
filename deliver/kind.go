package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/hookflow/hookflow/netguard"
)

// Error kinds recorded in hookflow.Attempt.ErrorKind.
const (
	// KindTimeout: the attempt's deadline passed (dial, TLS, headers or
	// body). Retried.
	KindTimeout = "timeout"
	// KindConnect: connection refused or the host unreachable. Retried.
	KindConnect = "connect"
	// KindDNS: the host name did not resolve. Retried.
	KindDNS = "dns"
	// KindTLS: the handshake or certificate check failed. Retried, since
	// certificates get renewed and fixed.
	KindTLS = "tls"
	// KindReset: the receiver closed or reset the connection. Retried.
	KindReset = "reset"
	// KindCanceled: the caller's context ended (shutdown) mid-attempt.
	// Retried: the receiver never judged the request.
	KindCanceled = "canceled"
	// KindProtocol: the receiver did not speak HTTP we could read.
	// Retried within the window, in case it was a passing fault.
	KindProtocol = "protocol"
	// KindRedirect: a 3xx, never followed. Fails.
	KindRedirect = "redirect"
	// KindStatus: another non-2xx status. Retried or failed by status.
	KindStatus = "status"
	// KindRefused: the dial guard refused the address. Fails; Error is the
	// guard's own text, which says how to allow-list the address.
	KindRefused = "refused"
	// KindRequest: the rendered request is invalid (bad URL, method or
	// header). Fails: it would be invalid every time.
	KindRequest = "request"
)

// refusedError marks an error returned by Options.DialControl, so that it
// can be told apart from the network's own dial errors.
type refusedError struct{ err error }

func (e refusedError) Error() string { return e.err.Error() }
func (e refusedError) Unwrap() error { return e.err }

// requestError marks a request that could not be built or sent as given.
type requestError struct{ err error }

func (e requestError) Error() string { return e.err.Error() }
func (e requestError) Unwrap() error { return e.err }

// classifyError names the kind of a transport error. ctx is the attempt's
// own context: its deadline means timeout whatever layer noticed it.
func classifyError(ctx context.Context, err error) (kind, text string) {
	var refused refusedError
	if errors.As(err, &refused) {
		return KindRefused, refused.Error()
	}
	var guarded *netguard.RefusedError
	if errors.As(err, &guarded) {
		return KindRefused, guarded.Error()
	}
	var request requestError
	if errors.As(err, &request) {
		return KindRequest, err.Error()
	}
	return networkKind(ctx, err), err.Error()
}

// networkKind classifies errors of the network and the HTTP transport.
// Order matters: a DNS lookup that timed out is reported as dns, which
// tells the user more than timeout does.
func networkKind(ctx context.Context, err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		return KindDNS
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case isTLS(err):
		return KindTLS
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL):
		return KindConnect
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindReset
	case errors.Is(err, context.Canceled):
		return KindCanceled
	}

	// Other dial failures (no route, address family) are connect errors.
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return KindConnect
	}
	return KindProtocol
}

// isTLS reports whether err comes from the TLS handshake or certificate
// verification.
func isTLS(err error) bool {
	var (
		verifyErr    *tls.CertificateVerificationError
		recordErr    tls.RecordHeaderError
		alertErr     tls.AlertError
		unknownCA    x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidCert  x509.CertificateInvalidError
		echRejectErr *tls.ECHRejectionError
	)
	switch {
	case errors.As(err, &verifyErr), errors.As(err, &recordErr), errors.As(err, &alertErr),
		errors.As(err, &unknownCA), errors.As(err, &hostnameErr), errors.As(err, &invalidCert),
		errors.As(err, &echRejectErr):
		return true
	}
	// crypto/tls reports many handshake failures as plain errors whose text
	// starts with "tls: "; there is no type to match them by.
	return strings.Contains(err.Error(), "tls: ")
}
