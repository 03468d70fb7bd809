package render

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hookflow/hookflow"
)

// Template is a compiled webhook, ready to render for any number of users
// concurrently. Integrators cache one per campaign version.
type Template struct {
	method   string
	bodyType string
	url      part
	headers  []headerTemplate
	pairs    []pairTemplate
	raw      part
}

type headerTemplate struct {
	name  string
	value part
}

type pairTemplate struct {
	key   string
	value part
}

// checkEngine compiles for Check; its filters and clock are never run.
var checkEngine = NewEngine()

// Check validates a webhook when it is saved, without rendering it: the
// method, the body type against the fields set, header names and body keys,
// and that every template parses. A problem is reported as a
// *hookflow.ValidationError whose Field is a path such as
// "webhook.headers[1].value" and whose Reason starts with the template line,
// as "line 1: ...". A raw body is not checked as JSON here, since it may be
// JSON only once rendered; Render checks it.
func Check(w hookflow.Webhook) error {
	_, err := checkEngine.Compile(w)
	return err
}

// Compile checks w as Check does and parses every template once.
func (e *Engine) Compile(w hookflow.Webhook) (*Template, error) {
	t := &Template{method: strings.ToUpper(strings.TrimSpace(w.Method)), bodyType: bodyType(w)}
	if err := checkShape(w, t.method, t.bodyType); err != nil {
		return nil, err
	}

	var err error
	if t.url, err = e.parse("webhook.url", w.URL); err != nil {
		return nil, err
	}
	if err := checkStaticURL(w.URL); err != nil {
		return nil, err
	}
	if t.headers, err = e.compileHeaders(w.Headers); err != nil {
		return nil, err
	}
	if t.pairs, err = e.compilePairs(w.BodyPairs); err != nil {
		return nil, err
	}
	if t.bodyType == hookflow.BodyRaw {
		if t.raw, err = e.parse("webhook.body_raw", w.BodyRaw); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// bodyType returns w's body type; when unset it is inferred from the body
// fields, so a webhook written without one means what it says.
func bodyType(w hookflow.Webhook) string {
	switch {
	case w.BodyType != "":
		return w.BodyType
	case w.BodyRaw != "":
		return hookflow.BodyRaw
	case len(w.BodyPairs) > 0:
		return hookflow.BodyJSON
	}
	return hookflow.BodyNone
}

func checkShape(w hookflow.Webhook, method, body string) error {
	switch method {
	case "POST", "GET", "PUT", "DELETE":
	default:
		return hookflow.Invalid("webhook.method", "must be POST, GET, PUT or DELETE, not %q", w.Method)
	}
	if strings.TrimSpace(w.URL) == "" {
		return hookflow.Invalid("webhook.url", "required")
	}

	switch body {
	case hookflow.BodyJSON:
		if w.BodyRaw != "" {
			return hookflow.Invalid("webhook.body_raw", "must be empty when body_type is json")
		}
	case hookflow.BodyRaw:
		if w.BodyRaw == "" {
			return hookflow.Invalid("webhook.body_raw", "required when body_type is raw")
		}
		if len(w.BodyPairs) > 0 {
			return hookflow.Invalid("webhook.body_pairs", "must be empty when body_type is raw")
		}
	case hookflow.BodyNone:
		if w.BodyRaw != "" || len(w.BodyPairs) > 0 {
			return hookflow.Invalid("webhook.body_type", "is none but a body is set")
		}
	default:
		return hookflow.Invalid("webhook.body_type", "must be json, raw or none, not %q", w.BodyType)
	}
	return nil
}

// checkStaticURL checks a URL with no Liquid in it as it will be sent.
func checkStaticURL(raw string) error {
	if !Literal(raw) {
		return nil
	}
	if reason := badURL(strings.TrimSpace(raw)); reason != "" {
		return hookflow.Invalid("webhook.url", "%s", reason)
	}
	return nil
}

// badURL says why s is not an absolute http or https URL with a host, or
// returns "".
func badURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("must be an absolute http or https URL, not %q", s)
	case u.Hostname() == "":
		return fmt.Sprintf("has no host: %q", s)
	}
	return ""
}

func (e *Engine) compileHeaders(hs []hookflow.Header) ([]headerTemplate, error) {
	out := make([]headerTemplate, len(hs))
	for i, h := range hs {
		if !isToken(h.Name) {
			return nil, hookflow.Invalid(fmt.Sprintf("webhook.headers[%d].name", i),
				"%q is not a valid header name", h.Name)
		}
		field := fmt.Sprintf("webhook.headers[%d].value", i)
		if reason := staticHeaderFault(h.Value); reason != "" {
			return nil, hookflow.Invalid(field, "%s", reason)
		}
		p, err := e.parse(field, h.Value)
		if err != nil {
			return nil, err
		}
		out[i] = headerTemplate{name: h.Name, value: p}
	}
	return out, nil
}

// staticHeaderFault says why a header value with no Liquid in it can never
// be sent, or returns "". Such a value renders as written, so a line break
// or control character in it would fail every render (R8); saying so when
// the webhook is saved spares a campaign whose every delivery fails.
func staticHeaderFault(v string) string {
	if !Literal(v) {
		return ""
	}
	for _, c := range []byte(v) {
		if c == '\r' || c == '\n' {
			return "holds a line break, which would let it add headers of its own"
		}
		if c < ' ' && c != '\t' || c == 0x7f {
			return fmt.Sprintf("holds control character %#02x, which HTTP refuses", c)
		}
	}
	return ""
}

// compilePairs compiles the JSON body grid. Keys are plain text, not
// templates, as in Braze's composer.
func (e *Engine) compilePairs(kvs []hookflow.KeyValue) ([]pairTemplate, error) {
	out := make([]pairTemplate, len(kvs))
	seen := make(map[string]int, len(kvs))
	for i, kv := range kvs {
		field := fmt.Sprintf("webhook.body_pairs[%d]", i)
		if kv.Key == "" {
			return nil, hookflow.Invalid(field+".key", "required")
		}
		if j, dup := seen[kv.Key]; dup {
			return nil, hookflow.Invalid(field+".key", "%q repeats body_pairs[%d]", kv.Key, j)
		}
		seen[kv.Key] = i
		p, err := e.parse(field+".value", kv.Value)
		if err != nil {
			return nil, err
		}
		out[i] = pairTemplate{key: kv.Key, value: p}
	}
	return out, nil
}

// isToken reports whether s is an HTTP token (RFC 9110), the only form a
// header name may take.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
