package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hookflow/hookflow/receiver"
)

// timeLayout shows milliseconds: retries and bursts are told apart by them.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Format writes r for a person to read: a line with the time, method, raw
// path, client and size; the headers sorted by name, one value a line; a
// blank line; the body, indented if it is valid JSON and as sent otherwise;
// then a blank line.
//
// Bytes a terminal would act on or hide are shown escaped: invalid UTF-8 as
// \xff, control characters as \x1b, \r or \u0085, invisible format
// characters (such as U+202E, which reverses text) as \u202e. Newlines and
// tabs are kept. A backslash is printed as is, so an escape in the output is
// ambiguous only with a body that itself holds such text.
func Format(w io.Writer, r receiver.Request) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s %s  from %s  %s\n",
		r.At.Format(timeLayout), r.Method, escape([]byte(r.RawPath)), r.RemoteAddr, size(r))
	writeHeader(&b, r.Header)
	b.WriteByte('\n')

	if len(r.Body) > 0 {
		b.WriteString(escape(indent(r.Body)))
		if !bytes.HasSuffix(r.Body, []byte("\n")) {
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	w.Write(b.Bytes())
}

// size describes how much body arrived and how much is shown.
func size(r receiver.Request) string {
	s := "no body"
	switch {
	case r.Truncated():
		s = fmt.Sprintf("%d bytes, first %d shown", r.BodyLen, len(r.Body))
	case r.BodyLen == 1:
		s = "1 byte"
	case r.BodyLen > 0:
		s = fmt.Sprintf("%d bytes", r.BodyLen)
	}
	if r.Incomplete {
		s += ", cut short by the client"
	}
	return s
}

func writeHeader(b *bytes.Buffer, h http.Header) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)

	for _, name := range names {
		for _, v := range h[name] {
			fmt.Fprintf(b, "%s: %s\n", escape([]byte(name)), escape([]byte(v)))
		}
	}
}

// indent returns body indented by two spaces if it is valid JSON, else body.
// json.Indent keeps every token as sent (key order, number spelling, string
// escapes), so what is shown is what arrived, only re-spaced.
func indent(body []byte) []byte {
	if !json.Valid(body) {
		return body
	}
	var b bytes.Buffer
	if err := json.Indent(&b, body, "", "  "); err != nil {
		return body
	}
	return b.Bytes()
}

// escape returns b with everything but printable text, newlines and tabs
// escaped, as Format's doc describes.
func escape(b []byte) string {
	var out bytes.Buffer
	out.Grow(len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&out, `\x%02x`, b[0])
		case r == '\n' || r == '\t':
			out.WriteRune(r)
		case r == '\r':
			out.WriteString(`\r`)
		case r < 0x80 && !unicode.IsPrint(r):
			fmt.Fprintf(&out, `\x%02x`, r)
		case !unicode.IsGraphic(r):
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.String()
}

// jsonRequest is the shape of one line of FormatJSON.
type jsonRequest struct {
	At         time.Time   `json:"at"`
	Method     string      `json:"method"`
	Path       string      `json:"path"`
	RemoteAddr string      `json:"remote_addr"`
	Header     http.Header `json:"headers"`
	// Body is the body as text when it is valid UTF-8; otherwise it is
	// absent and BodyBase64 holds it, so the bytes always survive.
	Body       *string `json:"body,omitempty"`
	BodyBase64 []byte  `json:"body_base64,omitempty"`
	BodyLen    int64   `json:"body_len"`
	Truncated  bool    `json:"truncated"`
	Incomplete bool    `json:"incomplete"`
}

// FormatJSON writes r as one line of JSON for programs such as jq: at,
// method, path (raw, with the query), remote_addr, headers (name to list of
// values), body (text) or body_base64 (when the body is not valid UTF-8),
// body_len (the real length), truncated and incomplete. Header values that
// are not valid UTF-8 show U+FFFD in place of the bad bytes, as JSON must.
func FormatJSON(w io.Writer, r receiver.Request) error {
	line := jsonRequest{
		At:         r.At,
		Method:     r.Method,
		Path:       r.RawPath,
		RemoteAddr: r.RemoteAddr,
		Header:     r.Header,
		BodyLen:    r.BodyLen,
		Truncated:  r.Truncated(),
		Incomplete: r.Incomplete,
	}
	if line.Header == nil {
		line.Header = http.Header{}
	}
	if utf8.Valid(r.Body) {
		body := string(r.Body)
		line.Body = &body
	} else {
		line.BodyBase64 = r.Body
	}

	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(line); err != nil {
		return fmt.Errorf("write request as json: %w", err)
	}
	return nil
}
