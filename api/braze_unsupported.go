package api

import (
	"encoding/json"
	"net/http"
)

// unsupportedFamilies are Braze endpoint families a webhook engine has no
// use for (email, SMS, push) or that Hookflow does not have yet (Canvas).
// They answer with an error that says so, never a silent success.
var unsupportedFamilies = []struct {
	prefix, why string
}{
	{"/email/", "Hookflow sends webhooks only: /email/... is not supported"},
	{"/sms/", "Hookflow sends webhooks only: /sms/... is not supported"},
	{"/push_tokens/", "Hookflow sends webhooks only: /push_tokens/... is not supported"},
	{"/canvas/", "Canvas is not supported yet: /canvas/... has no endpoint in Hookflow"},
	{"/subscription/", "Hookflow sends webhooks only: /subscription/... is not supported"},
	{"/templates/", "Hookflow has no email or link templates: /templates/... is not supported"},
}

// unsupported answers 501 for a path of an unsupported Braze family, to
// any valid key, counted like every call and with the rate-limit headers.
func (s *Server) unsupported(why string) http.Handler {
	return s.authorized("", func(*http.Request) (int, any, error) {
		return 0, nil, errorf(http.StatusNotImplemented, "%s", why)
	})
}

// unsupportedChannel names the first message object of a /messages/send
// that Hookflow cannot send; empty when there is none.
func (e *messagesEnvelope) unsupportedChannel() string {
	for _, m := range []struct {
		name string
		raw  json.RawMessage
	}{
		{"android_push", e.AndroidPush}, {"apple_push", e.ApplePush},
		{"content_card", e.ContentCard}, {"email", e.Email},
		{"kindle_push", e.KindlePush}, {"sms", e.SMS},
		{"web_push", e.WebPush}, {"whats_app", e.WhatsApp},
	} {
		if len(m.raw) > 0 && string(m.raw) != "null" {
			return m.name
		}
	}
	return ""
}
