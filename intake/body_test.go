package intake_test

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/intake"
)

// streamReader yields size bytes of 'x' without holding them, and counts
// how many were read, so a test can prove a 50 MB body was never buffered.
type streamReader struct {
	size, read int64
}

func (s *streamReader) Read(p []byte) (int, error) {
	if s.read >= s.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), s.size-s.read)
	for i := range n {
		p[i] = 'x'
	}
	s.read += n
	return int(n), nil
}

func TestReadBodySizes(t *testing.T) {
	const max = 1000
	tests := []struct {
		name    string
		size    int
		tooBig  bool
		unknown bool // Content-Length not declared (-1), as with chunked bodies
	}{
		{name: "empty", size: 0},
		{name: "under", size: max - 1},
		{name: "exactly at", size: max},
		{name: "one over", size: max + 1, tooBig: true},
		{name: "under, length unknown", size: max - 1, unknown: true},
		{name: "exactly at, length unknown", size: max, unknown: true},
		{name: "one over, length unknown", size: max + 1, tooBig: true, unknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := bytes.Repeat([]byte("a"), tt.size)
			r := httptest.NewRequest("POST", "/users/track", bytes.NewReader(want))
			if tt.unknown {
				r.ContentLength = -1
			}

			got, err := intake.ReadBody(r, max)

			if tt.tooBig {
				if !errors.Is(err, intake.ErrTooLarge) {
					t.Fatalf("err = %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

func TestReadBodyRefusesHugeBodies(t *testing.T) {
	const fifty = 50 << 20
	tests := []struct {
		name          string
		contentLength int64
		wantRead      int64 // most bytes ReadBody may read
	}{
		// A declared length over the limit is refused before reading.
		{name: "declared 50 MB", contentLength: fifty, wantRead: 0},
		// The header lies; only counting bytes read catches it.
		{name: "declared 100, sends 50 MB", contentLength: 100, wantRead: intake.MaxBodyBytes + 1},
		{name: "undeclared 50 MB", contentLength: -1, wantRead: intake.MaxBodyBytes + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &streamReader{size: fifty}
			r := httptest.NewRequest("POST", "/users/track", src)
			r.ContentLength = tt.contentLength

			body, err := intake.ReadBody(r, intake.MaxBodyBytes)

			if !errors.Is(err, intake.ErrTooLarge) || body != nil {
				t.Fatalf("got %d bytes, err %v; want ErrTooLarge", len(body), err)
			}
			if src.read > tt.wantRead {
				t.Errorf("read %d bytes, want at most %d", src.read, tt.wantRead)
			}
		})
	}
}

func TestReadBodyErrorMessages(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("12345"))
	_, err := intake.ReadBody(r, 4)
	if got, want := err.Error(), "request body too large: 5 bytes declared, limit 4"; got != want {
		t.Errorf("declared: %q, want %q", got, want)
	}

	r.ContentLength = -1
	_, err = intake.ReadBody(r, 4)
	if got, want := err.Error(), "request body too large: more than 4 bytes"; got != want {
		t.Errorf("counted: %q, want %q", got, want)
	}
}

func TestReadBodyNilBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	r.Body = nil
	got, err := intake.ReadBody(r, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("got %q, %v; want empty, nil", got, err)
	}
}
