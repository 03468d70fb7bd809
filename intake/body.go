package intake

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxBodyBytes is the largest /users/track body accepted: 4 MiB. A full
// batch of 225 typical objects (a few hundred bytes to a couple of KB each)
// is well under 1 MiB, so this leaves ample headroom for large event
// properties while bounding the memory one request can take: the body is
// held whole while it is parsed. A batch whose objects all carry properties
// near the 100 KB limit does not fit and must be split by the client.
const MaxBodyBytes = 4 << 20

// ErrTooLarge means the request body is larger than the limit given to
// ReadBody. The HTTP layer answers it with 413 and should close the
// connection, since the rest of the body was not read.
var ErrTooLarge = errors.New("request body too large")

// ErrBodyRead means the request body could not be read to its end: the
// client hung up, or sent less than its Content-Length. It is the client's
// failure, not the server's, and like ErrTooLarge it leaves the connection
// unusable.
var ErrBodyRead = errors.New("request body could not be read")

// ReadBody reads r's body, refusing it with an error wrapping ErrTooLarge if
// it holds more than max bytes. A declared Content-Length above max is refused
// before reading; otherwise the bytes actually read are counted, so a body
// longer than its Content-Length is caught too, and at most max+1 bytes are
// ever read or buffered. A nil body reads as empty.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, fmt.Errorf("%w: %d bytes declared, limit %d", ErrTooLarge, r.ContentLength, max)
	}
	if r.Body == nil {
		return []byte{}, nil
	}

	// Reading one byte past the limit is how an oversized body shows
	// itself without trusting any header.
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBodyRead, err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return body, nil
}
