package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/render"
	"github.com/hookflow/hookflow/signature"
)

// Previews and test sends render a webhook as one user, the way the
// sender would, without enqueueing anything. A preview stops there; a test
// send also makes one attempt, synchronously, and answers with what came
// back. Neither is stored as a delivery.

// renderInput names who a preview or test send renders as: a stored user by
// external_id (or braze_id), or a custom user that is not stored, plus the
// event and API trigger properties the template reads.
type renderInput struct {
	ExternalID        string         `json:"external_id"`
	User              *customUser    `json:"user"`
	EventProperties   map[string]any `json:"event_properties"`
	TriggerProperties map[string]any `json:"trigger_properties"`
}

// customUser is a profile made up for one preview or test send.
type customUser struct {
	ExternalID string `json:"external_id"`
	// Attributes hold standard and custom attributes alike, as in
	// /users/track.
	Attributes map[string]any `json:"attributes"`
}

// previewInput is the body of POST /v1/preview: a webhook not yet saved.
type previewInput struct {
	renderInput
	Webhook *hookflow.Webhook `json:"webhook"`
}

// renderOutcome is what rendering decided, as previews and test sends
// show it.
type renderOutcome struct {
	// Outcome is rendered (preview), sent (test send), aborted or
	// render_failed.
	Outcome     string       `json:"outcome"`
	Request     *requestView `json:"request,omitempty"`
	AbortReason string       `json:"abort_reason,omitempty"`
	RenderError *renderError `json:"render_error,omitempty"`
}

// renderError names the part of the webhook that failed to render.
type renderError struct {
	Part   string `json:"part"`
	Reason string `json:"reason"`
}

// testSendResult is the answer of a test send.
type testSendResult struct {
	renderOutcome
	// WebhookID is the webhook-id the attempt carried; SignatureHeaders
	// are the webhook-timestamp and webhook-signature it carried, when the
	// campaign is signed.
	WebhookID        string            `json:"webhook_id,omitempty"`
	SignatureHeaders map[string]string `json:"signature_headers,omitempty"`
	Response         *attemptView      `json:"response,omitempty"`
}

// previewCampaign serves POST /v1/campaigns/{id}/preview.
func (s *Server) previewCampaign(r *http.Request) (int, any, error) {
	var in renderInput
	if err := decodeOptional(r, &in); err != nil {
		return 0, nil, err
	}
	c, err := s.campaign(r)
	if err != nil {
		return 0, nil, err
	}
	out, _, err := s.renderAs(r, c.Webhook, campaignMeta(c), eventName(c), in)
	return http.StatusOK, out, err
}

// previewWebhook serves POST /v1/preview, for a composer showing a webhook
// before it is saved.
func (s *Server) previewWebhook(r *http.Request) (int, any, error) {
	var in previewInput
	if err := decode(r, maxJSONBytes, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.Webhook == nil:
		return 0, nil, hookflow.Invalid("webhook", "is required")
	case in.Webhook.Signing != nil:
		return 0, nil, hookflow.Invalid("webhook.signing", "is not part of a preview: signatures are made per attempt")
	}
	out, _, err := s.renderAs(r, *in.Webhook, render.Campaign{}, "", in.renderInput)
	return http.StatusOK, out, err
}

// testSend serves POST /v1/campaigns/{id}/test: Braze's "Send Test". It
// makes one attempt through the senders' guarded client (the destination
// guard applies) but not through the queue or the host gate: a test send
// never changes a host's health nor counts toward its limits, and it is
// never retried or stored.
func (s *Server) testSend(r *http.Request) (int, any, error) {
	var in renderInput
	if err := decodeOptional(r, &in); err != nil {
		return 0, nil, err
	}
	if s.Deliver == nil {
		return 0, nil, errorf(http.StatusNotImplemented, "test sends are not available on this server")
	}
	c, err := s.campaign(r)
	if err != nil {
		return 0, nil, err
	}
	outcome, req, err := s.renderAs(r, c.Webhook, campaignMeta(c), eventName(c), in)
	if err != nil || req == nil {
		return http.StatusOK, testSendResult{renderOutcome: outcome}, err
	}

	now := s.clock.Now()
	signer, err := signing(c.Webhook.Signing.Active(now))
	if err != nil {
		return 0, nil, fmt.Errorf("signing secrets of campaign %s: %w", c.ID, err)
	}
	res := testSendResult{renderOutcome: outcome, WebhookID: hookflow.NewDeliveryID()}
	res.Outcome = "sent"
	if signer != nil {
		res.SignatureHeaders = map[string]string{
			signature.HeaderTimestamp: signature.Timestamp(now),
			signature.HeaderSignature: signer.Sign(res.WebhookID, now, req.Body),
		}
	}
	a := s.Deliver.SendSigned(r.Context(), signer, res.WebhookID, req, 1, now)
	res.Response = viewAttempt(a)
	s.log.Info("test send", "campaign_id", c.ID, "status", a.Status, "err", a.Error)
	return http.StatusOK, res, nil
}

// renderAs renders w as the user in. A template that aborts or fails is
// an outcome, not an error; the error is for input that names no user.
func (s *Server) renderAs(r *http.Request, w hookflow.Webhook, meta render.Campaign, event string,
	in renderInput) (renderOutcome, *hookflow.Request, error) {
	data, err := s.renderData(r, meta, event, in)
	if err != nil {
		return renderOutcome{}, nil, err
	}
	data.Blocks = s.blockResolver(r.Context())
	// Previews and test sends are rare next to deliveries; a fresh engine
	// keeps the Server free of rendering state, and reads s.clock for
	// 'now' like the senders' engine reads theirs.
	tmpl, err := render.NewEngineWithClock(s.clock).Compile(w)
	if err != nil {
		return renderOutcome{}, nil, err
	}
	req, err := tmpl.Render(data)

	var (
		abort *render.AbortError
		rerr  *render.Error
	)
	switch {
	case errors.As(err, &abort):
		return renderOutcome{Outcome: "aborted", AbortReason: abort.Reason}, nil, nil
	case errors.As(err, &rerr):
		return renderOutcome{Outcome: "render_failed", RenderError: &renderError{Part: rerr.Part, Reason: rerr.Reason}}, nil, nil
	case err != nil:
		return renderOutcome{Outcome: "render_failed", RenderError: &renderError{Part: "webhook", Reason: err.Error()}}, nil, nil
	}
	return renderOutcome{Outcome: "rendered", Request: viewRequest(req)}, req, nil
}

// renderData builds what the template reads from in.
func (s *Server) renderData(r *http.Request, meta render.Campaign, event string,
	in renderInput) (render.Data, error) {
	for _, p := range []struct {
		field string
		props map[string]any
	}{{"event_properties", in.EventProperties}, {"trigger_properties", in.TriggerProperties}} {
		if err := checkProps(p.field, p.props); err != nil {
			return render.Data{}, err
		}
	}
	u, err := s.renderUser(r, in)
	if err != nil {
		return render.Data{}, err
	}
	meta.DispatchID = hookflow.NewDispatchID()
	d := render.Data{User: u, Campaign: meta}
	if d.Payload.TriggerProperties, err = properties("trigger_properties", in.TriggerProperties); err != nil {
		return render.Data{}, err
	}
	if in.EventProperties != nil || event != "" {
		d.Payload.Event = &hookflow.EventPayload{Name: event, Time: s.clock.Now()}
		if d.Payload.Event.Properties, err = properties("event_properties", in.EventProperties); err != nil {
			return render.Data{}, err
		}
	}
	return d, nil
}

// renderUser returns the stored user named by external_id (or braze_id),
// the custom user given, or nil (every user tag renders as missing).
func (s *Server) renderUser(r *http.Request, in renderInput) (*hookflow.User, error) {
	switch {
	case in.ExternalID != "" && in.User != nil:
		return nil, hookflow.Invalid("user", "cannot be given with external_id; choose one")
	case in.User != nil:
		attrs, err := properties("user.attributes", in.User.Attributes)
		if err != nil {
			return nil, err
		}
		return &hookflow.User{ExternalID: in.User.ExternalID, Attributes: attrs}, nil
	case in.ExternalID == "":
		return nil, nil
	}
	// Rendering as a stored user shows that user's profile: the key must
	// be allowed to read profiles, not only campaigns.
	if err := s.keys.check(r, hookflow.ScopeUsersRead); err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(r.Context(), hookflow.UserRef{ExternalID: in.ExternalID})
	if errors.Is(err, hookflow.ErrNotFound) {
		u, err = s.store.GetUser(r.Context(), hookflow.UserRef{BrazeID: in.ExternalID})
	}
	if errors.Is(err, hookflow.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "external_id: no user with external_id or braze_id %q", in.ExternalID)
	}
	return u, err
}

func campaignMeta(c *hookflow.Campaign) render.Campaign {
	return render.Campaign{APIID: c.ID, Name: c.Name}
}

// eventName is the event an action-based campaign's template sees as the
// trigger.
func eventName(c *hookflow.Campaign) string {
	if c.Trigger == nil {
		return ""
	}
	return c.Trigger.Event
}

// signing returns a signer of secrets, or nil when there are none.
func signing(secrets []string) (*signature.Signer, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	return signature.NewSigner(secrets...)
}

func viewRequest(r *hookflow.Request) *requestView {
	v := &requestView{Method: r.Method, URL: r.URL, Headers: r.Headers}
	if v.Headers == nil {
		v.Headers = []hookflow.Header{}
	}
	v.Body, v.BodyBase64 = textOrBytes(r.Body)
	return v
}

func viewAttempt(a hookflow.Attempt) *attemptView {
	v := &attemptView{Attempt: a, DurationMS: float64(a.Duration.Microseconds()) / 1000}
	v.ResponseBody, v.ResponseBase64 = textOrBytes(a.ResponseBody)
	return v
}
