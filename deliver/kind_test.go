package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

// TestClassifyError covers the error shapes the transport produces that a
// loopback test cannot produce reliably (DNS, unreachable networks); the
// common ones are also exercised against real servers in client_test.go.
func TestClassifyError(t *testing.T) {
	dial := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	read := func(err error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
	}
	guard := errors.New("10.0.0.1 is private; allow-list it to send there")
	tests := []struct {
		name     string
		err      error
		wantKind string
	}{
		{"dns not found", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, KindDNS},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "x.example", IsTimeout: true}, KindDNS},
		{"refused", dial(syscall.ECONNREFUSED), KindConnect},
		{"host unreachable", dial(syscall.EHOSTUNREACH), KindConnect},
		{"network unreachable", dial(syscall.ENETUNREACH), KindConnect},
		{"other dial error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("odd")}, KindConnect},
		{"reset", read(syscall.ECONNRESET), KindReset},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), KindReset},
		{"eof", io.EOF, KindReset},
		{"unexpected eof", io.ErrUnexpectedEOF, KindReset},
		{"deadline", context.DeadlineExceeded, KindTimeout},
		{"canceled", context.Canceled, KindCanceled},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, KindTLS},
		{"hostname", x509.HostnameError{Host: "a.example", Certificate: &x509.Certificate{}}, KindTLS},
		{"alert", tls.AlertError(40), KindTLS},
		{"tls text", errors.New("tls: handshake failure"), KindTLS},
		{"guard", &net.OpError{Op: "dial", Err: refusedError{guard}}, KindRefused},
		{"bad request", requestError{errors.New(`invalid URL "x"`)}, KindRequest},
		{"not http", errors.New(`malformed HTTP response "\x00\x00"`), KindProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, _ := classifyError(context.Background(), tt.err)
			if kind != tt.wantKind {
				t.Fatalf("classifyError(%v) = %q, want %q", tt.err, kind, tt.wantKind)
			}
		})
	}
}

func TestClassifyErrorGuardTextUnchanged(t *testing.T) {
	guard := errors.New("10.0.0.1 is private; allow-list it to send there")
	_, text := classifyError(context.Background(), &net.OpError{Op: "dial", Err: refusedError{guard}})
	if text != guard.Error() {
		t.Fatalf("text %q, want %q", text, guard.Error())
	}
}

func TestClassifyErrorExpiredDeadlineIsTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	// Whatever layer noticed the deadline, the attempt timed out.
	if kind, _ := classifyError(ctx, &net.OpError{Op: "read", Err: syscall.ECONNRESET}); kind != KindTimeout {
		t.Fatalf("kind %q, want timeout", kind)
	}
}
