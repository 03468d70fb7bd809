package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"strings"

	"github.com/hookflow/hookflow"
)

// Render renders the request for one user. It returns *AbortError when the
// template called abort_message and *Error for any other failure: a part
// that fails to render, a URL that is not absolute http(s), a header value
// holding a line break, a raw body that is not JSON while Content-Type says
// it is. It never panics: a bad template fails that one delivery only.
func (t *Template) Render(d Data) (req *hookflow.Request, err error) {
	field := "webhook"
	defer func() {
		if r := recover(); r != nil {
			req = nil
			err = &Error{Part: field, Reason: fmt.Sprintf("internal error: %v", r)}
		}
	}()

	vars := d.bindings()
	vars[budgetKey] = newBudget()
	req = &hookflow.Request{Method: t.method}
	field = t.url.field
	if req.URL, err = t.renderURL(vars); err != nil {
		return nil, err
	}
	for _, h := range t.headers {
		field = h.value.field
		v, err := renderHeader(h, vars)
		if err != nil {
			return nil, err
		}
		req.Headers = append(req.Headers, hookflow.Header{Name: h.name, Value: v})
	}

	// A GET carries no body, so its body is neither rendered nor sent.
	if t.method == "GET" {
		return req, nil
	}
	field = "webhook.body"
	switch t.bodyType {
	case hookflow.BodyJSON:
		req.Body, err = t.renderPairs(vars)
		if err == nil && contentType(req.Headers) == "" {
			req.Headers = append(req.Headers, hookflow.Header{Name: "Content-Type", Value: "application/json"})
		}
	case hookflow.BodyRaw:
		req.Body, err = t.renderRaw(vars, contentType(req.Headers))
	}
	if err != nil {
		return nil, err
	}
	return req, nil
}

func (t *Template) renderURL(vars map[string]any) (string, error) {
	s, err := t.url.render(vars)
	if err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if reason := badURL(s); reason != "" {
		return "", &Error{Part: t.url.field, Reason: "rendered URL " + reason}
	}
	return s, nil
}

// renderHeader renders one header value. A line break in it would let user
// data add headers of its own (R8), and other control characters are
// refused by HTTP, so both fail the render rather than being cleaned up.
func renderHeader(h headerTemplate, vars map[string]any) (string, error) {
	v, err := h.value.render(vars)
	if err != nil {
		return "", err
	}
	for _, c := range []byte(v) {
		if c == '\r' || c == '\n' {
			return "", &Error{Part: h.value.field, Reason: "rendered header value holds a line break"}
		}
		if c < ' ' && c != '\t' || c == 0x7f {
			return "", &Error{Part: h.value.field, Reason: fmt.Sprintf("rendered header value holds control character %#02x", c)}
		}
	}
	return strings.Trim(v, " \t"), nil
}

// renderPairs serialises the JSON body grid: every value a JSON string,
// keys in the order authored, nothing HTML-escaped. Serialising here rather
// than templating JSON by hand is what keeps user data from breaking the
// body (R1).
func (t *Template) renderPairs(vars map[string]any) ([]byte, error) {
	var body bytes.Buffer
	body.WriteByte('{')
	for i, p := range t.pairs {
		v, err := p.value.render(vars)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			body.WriteByte(',')
		}
		k, _ := marshalJSON(p.key)
		s, _ := marshalJSON(v)
		body.WriteString(k)
		body.WriteByte(':')
		body.WriteString(s)
	}
	body.WriteByte('}')
	return body.Bytes(), nil
}

// renderRaw renders a raw body. It may be JSON only once rendered (R7), so
// it is checked here: a body that says it is JSON and is not would be
// refused by the receiver, or worse, misread.
func (t *Template) renderRaw(vars map[string]any, ctype string) ([]byte, error) {
	s, err := t.raw.render(vars)
	if err != nil {
		return nil, err
	}
	if isJSONType(ctype) && !json.Valid([]byte(s)) {
		return nil, &Error{Part: t.raw.field, Reason: "rendered body is not valid JSON but Content-Type is " + ctype}
	}
	return []byte(s), nil
}

// contentType returns the value of the first Content-Type header, or "".
func contentType(hs []hookflow.Header) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, "Content-Type") {
			return h.Value
		}
	}
	return ""
}

// isJSONType reports whether a Content-Type is application/json or a
// +json type such as application/vnd.api+json.
func isJSONType(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(ctype, ";")[0]))
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
