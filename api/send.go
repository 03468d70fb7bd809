package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/filter"
	"github.com/hookflow/hookflow/intake"
	"github.com/hookflow/hookflow/render"
	"github.com/hookflow/hookflow/trigger"
)

// Braze's limits on API sends.
const (
	maxRecipients        = 50
	maxTriggerProperties = 50 << 10
)

type triggerSendRequest struct {
	CampaignID        string           `json:"campaign_id"`
	SendID            string           `json:"send_id"`
	TriggerProperties map[string]any   `json:"trigger_properties"`
	Broadcast         bool             `json:"broadcast"`
	Audience          json.RawMessage  `json:"audience"`
	Recipients        []recipientInput `json:"recipients"`
}

type recipientInput struct {
	ExternalUserID     string          `json:"external_user_id"`
	UserAlias          *hookflow.Alias `json:"user_alias"`
	Email              string          `json:"email"`
	Prioritization     []string        `json:"prioritization"`
	TriggerProperties  map[string]any  `json:"trigger_properties"`
	SendToExistingOnly *bool           `json:"send_to_existing_only"`
	Attributes         map[string]any  `json:"attributes"`
}

type sendResponse struct {
	DispatchID string `json:"dispatch_id"`
	Message    string `json:"message"`
	// Errors lists recipients refused (bad attributes), Braze-style.
	Errors []intake.ItemError `json:"errors,omitempty"`
}

// triggerSend serves POST /campaigns/trigger/send.
func (s *Server) triggerSend(r *http.Request) (int, any, error) {
	var req triggerSendRequest
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	send, err := s.checkTriggerSend(req)
	if err != nil {
		return 0, nil, err
	}

	var res *trigger.SendResult
	err = s.update(r.Context(), func(tx hookflow.Tx) error {
		res, err = s.sendCampaign(tx, req.CampaignID, send)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return s.sent(send, res)
}

// checkTriggerSend validates a /campaigns/trigger/send request on its own,
// before the campaign is read.
func (s *Server) checkTriggerSend(req triggerSendRequest) (trigger.Send, error) {
	if req.CampaignID == "" {
		return trigger.Send{}, hookflow.Invalid("campaign_id", "is required")
	}
	return s.buildSend(req.SendID, req.TriggerProperties, req.Broadcast, req.Audience, req.Recipients)
}

// sendCampaign enqueues send for the campaign with id, if it is an active
// API-triggered campaign. Its errors for the campaign come before any
// write, so a scheduled send can record them and commit.
func (s *Server) sendCampaign(tx hookflow.Tx, id string, send trigger.Send) (*trigger.SendResult, error) {
	c, err := tx.GetCampaign(id)
	if errors.Is(err, hookflow.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "campaign_id: no campaign %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading campaign %s: %w", id, err)
	}
	if c.DeliveryType != hookflow.APITriggered {
		return nil, hookflow.Invalid("campaign_id", "campaign %q is %s; only api_triggered campaigns can be sent through this endpoint", c.ID, c.DeliveryType)
	}
	switch c.State {
	case hookflow.CampaignActive:
	case hookflow.CampaignArchived:
		// "Resume it first" would send the caller to a 409.
		return nil, hookflow.Invalid("campaign_id", "campaign %q is archived; archived campaigns cannot send", c.ID)
	default:
		return nil, hookflow.Invalid("campaign_id", "campaign %q is %s; resume it first", c.ID, c.State)
	}
	if err := lockUsers(tx, sendRefs(send)); err != nil {
		return nil, err
	}
	return s.enqueue.CampaignSend(tx, c, send)
}

// messageSend enqueues the API message w for send.
func (s *Server) messageSend(tx hookflow.Tx, w hookflow.Webhook,
	send trigger.Send) (*trigger.SendResult, error) {
	if err := lockUsers(tx, sendRefs(send)); err != nil {
		return nil, err
	}
	return s.enqueue.MessageSend(tx, w, send)
}

func (s *Server) sent(send trigger.Send, res *trigger.SendResult) (int, any, error) {
	s.enqueued(res.Origin, res.Enqueued)
	s.log.Info("api send enqueued", "dispatch_id", send.DispatchID, "count", res.Enqueued, "skipped", res.Skipped)
	return http.StatusCreated, sendResponse{DispatchID: send.DispatchID, Message: "success", Errors: res.Errors}, nil
}

// buildSend validates what /campaigns/trigger/send and /messages/send share.
func (s *Server) buildSend(sendID string, props map[string]any, broadcast bool,
	audience json.RawMessage, rs []recipientInput) (trigger.Send, error) {
	send := trigger.Send{DispatchID: hookflow.NewDispatchID(), SendID: sendID, Broadcast: broadcast}
	if len(sendID) > 64 {
		return send, hookflow.Invalid("send_id", "is longer than 64 characters")
	}
	if err := checkProps("trigger_properties", props); err != nil {
		return send, err
	}
	var err error
	if send.TriggerProperties, err = properties("trigger_properties", props); err != nil {
		return send, err
	}

	aud, err := filter.ParseAudience(audience)
	if err != nil {
		return send, err
	}
	send.Audience = aud

	switch {
	case broadcast && len(rs) > 0:
		return send, hookflow.Invalid("broadcast", "cannot be true when recipients are given")
	case !broadcast && len(rs) == 0 && aud == nil:
		return send, hookflow.Invalid("recipients", "are required unless broadcast is true or an audience is given")
	case len(rs) > maxRecipients:
		return send, hookflow.Invalid("recipients", "has %d entries; at most %d are allowed per request", len(rs), maxRecipients)
	}
	// An audience without recipients targets everyone who matches it.
	send.Broadcast = broadcast || (len(rs) == 0 && aud != nil)

	for i, in := range rs {
		rec, err := recipient(i, in)
		if err != nil {
			return send, err
		}
		send.Recipients = append(send.Recipients, rec)
	}
	return send, nil
}

func recipient(i int, in recipientInput) (trigger.Recipient, error) {
	field := fmt.Sprintf("recipients[%d]", i)
	rec := trigger.Recipient{SendToExistingOnly: true}
	if in.SendToExistingOnly != nil {
		rec.SendToExistingOnly = *in.SendToExistingOnly
	}

	n := 0
	if in.ExternalUserID != "" {
		rec.Ref.ExternalID, n = in.ExternalUserID, n+1
	}
	if in.UserAlias != nil {
		if in.UserAlias.Name == "" || in.UserAlias.Label == "" {
			return rec, hookflow.Invalid(field+".user_alias", "needs both alias_name and alias_label")
		}
		rec.Ref.Alias, n = in.UserAlias, n+1
	}
	if in.Email != "" {
		rec.Ref.Email, n = in.Email, n+1
	}
	if n != 1 {
		return rec, hookflow.Invalid(field, "must name the user by exactly one of external_user_id, user_alias or email")
	}
	if !rec.SendToExistingOnly && rec.Ref.ExternalID == "" {
		return rec, hookflow.Invalid(field+".send_to_existing_only", "can be false only with an external_user_id")
	}

	if err := checkProps(field+".trigger_properties", in.TriggerProperties); err != nil {
		return rec, err
	}
	var err error
	if rec.TriggerProperties, err = properties(field+".trigger_properties", in.TriggerProperties); err != nil {
		return rec, err
	}
	if in.Attributes != nil {
		upd, err := recipientAttributes(field, rec.Ref, in.Attributes)
		if err != nil {
			return rec, err
		}
		rec.Attributes = upd
	}
	return rec, nil
}

// recipientAttributes validates a recipient's attributes with the same rules
// as /users/track, by parsing them as one attributes object.
func recipientAttributes(field string, ref hookflow.UserRef,
	attrs map[string]any) (*intake.AttributeUpdate, error) {
	obj := map[string]any{}
	for k, v := range attrs {
		obj[k] = v
	}
	switch {
	case ref.ExternalID != "":
		obj["external_id"] = ref.ExternalID
	case ref.Alias != nil:
		obj["user_alias"] = ref.Alias
	case ref.Email != "":
		obj["email"] = ref.Email
	}
	body, err := json.Marshal(map[string]any{"attributes": []any{obj}})
	if err != nil {
		return nil, hookflow.Invalid(field+".attributes", "%v", err)
	}
	b, err := intake.Parse(body, timeZero)
	if err != nil {
		return nil, hookflow.Invalid(field+".attributes", "%v", err)
	}
	if len(b.Errors) > 0 {
		return nil, hookflow.Invalid(field+".attributes", "%s", b.Errors[0].Type)
	}
	return &b.Attributes[0], nil
}

func checkProps(field string, props map[string]any) error {
	if props == nil {
		return nil
	}
	b, _ := json.Marshal(props)
	if len(b) > maxTriggerProperties {
		return hookflow.Invalid(field, "is %d bytes; at most %d are allowed", len(b), maxTriggerProperties)
	}
	return nil
}

type messagesSendRequest struct {
	ExternalUserIDs []string          `json:"external_user_ids"`
	UserAliases     []hookflow.Alias  `json:"user_aliases"`
	Audience        json.RawMessage   `json:"audience"`
	Broadcast       bool              `json:"broadcast"`
	CampaignID      string            `json:"campaign_id"`
	SendID          string            `json:"send_id"`
	Messages        *messagesEnvelope `json:"messages"`
}

type messagesEnvelope struct {
	Webhook *webhookObject `json:"webhook"`
	// The other channels of Braze's messages object are read only to
	// refuse them by name.
	AndroidPush json.RawMessage `json:"android_push"`
	ApplePush   json.RawMessage `json:"apple_push"`
	ContentCard json.RawMessage `json:"content_card"`
	Email       json.RawMessage `json:"email"`
	KindlePush  json.RawMessage `json:"kindle_push"`
	SMS         json.RawMessage `json:"sms"`
	WebPush     json.RawMessage `json:"web_push"`
	WhatsApp    json.RawMessage `json:"whats_app"`
}

// webhookObject is Braze's webhook object.
type webhookObject struct {
	URL                string            `json:"url"`
	RequestMethod      string            `json:"request_method"`
	RequestHeaders     map[string]string `json:"request_headers"`
	Body               json.RawMessage   `json:"body"`
	MessageVariationID string            `json:"message_variation_id"`
	// SigningSecret is a Hookflow extension: a "whsec_..." secret that
	// signs every attempt with the Standard Webhooks scheme.
	SigningSecret string `json:"signing_secret"`
}

// messagesSend serves POST /messages/send with a webhook message.
func (s *Server) messagesSend(r *http.Request) (int, any, error) {
	var req messagesSendRequest
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	w, send, err := s.checkMessagesSend(r.Context(), req)
	if err != nil {
		return 0, nil, err
	}

	var res *trigger.SendResult
	err = s.update(r.Context(), func(tx hookflow.Tx) error {
		res, err = s.messageSend(tx, w, send)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return s.sent(send, res)
}

// checkMessagesSend validates a /messages/send request and returns its
// webhook and send.
func (s *Server) checkMessagesSend(ctx context.Context,
	req messagesSendRequest) (hookflow.Webhook, trigger.Send, error) {
	if req.Messages != nil {
		if ch := req.Messages.unsupportedChannel(); ch != "" {
			return hookflow.Webhook{}, trigger.Send{}, hookflow.Invalid("messages."+ch, "is not supported: Hookflow sends webhooks only")
		}
	}
	if req.Messages == nil || req.Messages.Webhook == nil {
		return hookflow.Webhook{}, trigger.Send{}, hookflow.Invalid("messages.webhook", "is required: Hookflow sends webhooks only (email, push and SMS messages are not supported)")
	}
	w, err := req.Messages.Webhook.toWebhook()
	if err != nil {
		return w, trigger.Send{}, err
	}
	if err := s.checkWebhook(ctx, "messages.webhook", w); err != nil {
		return w, trigger.Send{}, brazeFields(err, w.Headers)
	}
	if w.Signing, err = messageSigning(req.Messages.Webhook.SigningSecret, s.clock.Now()); err != nil {
		return w, trigger.Send{}, err
	}
	if n := len(req.ExternalUserIDs) + len(req.UserAliases); n > maxRecipients {
		return w, trigger.Send{}, hookflow.Invalid("external_user_ids", "and user_aliases name %d users; at most %d are allowed per request", n, maxRecipients)
	}

	var rs []recipientInput
	for _, id := range req.ExternalUserIDs {
		rs = append(rs, recipientInput{ExternalUserID: id})
	}
	for i := range req.UserAliases {
		rs = append(rs, recipientInput{UserAlias: &req.UserAliases[i]})
	}
	send, err := s.buildSend(req.SendID, nil, req.Broadcast, req.Audience, rs)
	return w, send, messagesRecipientError(err, len(req.ExternalUserIDs))
}

// messagesRecipientError renames the recipients[] of a buildSend error to
// the fields /messages/send has: external_user_ids (the first ids ones)
// and user_aliases.
func messagesRecipientError(err error, ids int) error {
	var ve *hookflow.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	switch ve.Field {
	case "recipients":
		return hookflow.Invalid("external_user_ids", "or user_aliases are required unless broadcast is true or an audience is given")
	case "broadcast":
		return hookflow.Invalid("broadcast", "cannot be true when external_user_ids or user_aliases are given")
	}
	rest, ok := strings.CutPrefix(ve.Field, "recipients[")
	if !ok {
		return err
	}
	num, rest, _ := strings.Cut(rest, "]")
	i, _ := strconv.Atoi(num)
	if i < ids {
		return hookflow.Invalid(fmt.Sprintf("external_user_ids[%d]", i), "must be a non-empty external id")
	}
	rest = strings.TrimPrefix(rest, ".user_alias")
	return &hookflow.ValidationError{Field: fmt.Sprintf("user_aliases[%d]%s", i-ids, rest), Reason: ve.Reason}
}

// toWebhook converts Braze's webhook object. A string body is sent as raw
// text; an object body is serialised to JSON text once, here, and then
// rendered like any raw body.
func (o *webhookObject) toWebhook() (hookflow.Webhook, error) {
	w := hookflow.Webhook{Method: o.RequestMethod, URL: o.URL, BodyType: hookflow.BodyNone}
	if o.URL == "" {
		return w, hookflow.Invalid("messages.webhook.url", "is required")
	}
	if o.RequestMethod == "" {
		return w, hookflow.Invalid("messages.webhook.request_method", "is required (POST, GET, PUT or DELETE)")
	}
	names := make([]string, 0, len(o.RequestHeaders))
	for name := range o.RequestHeaders {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w.Headers = append(w.Headers, hookflow.Header{Name: name, Value: o.RequestHeaders[name]})
	}

	body := o.Body
	if len(body) == 0 || string(body) == "null" {
		return w, nil
	}
	var text string
	switch body[0] {
	case '"':
		if err := json.Unmarshal(body, &text); err != nil {
			return w, hookflow.Invalid("messages.webhook.body", "%v", err)
		}
	case '{':
		text = string(body)
		if !hasHeader(w.Headers, "Content-Type") {
			w.Headers = append(w.Headers, hookflow.Header{Name: "Content-Type", Value: "application/json"})
		}
	default:
		return w, hookflow.Invalid("messages.webhook.body", "must be a string or a JSON object")
	}
	w.BodyType, w.BodyRaw = hookflow.BodyRaw, text
	return w, nil
}

// brazeFields renames the fields of a webhook validation error from
// Hookflow's campaign names (method, body_raw, headers[i]) to the names of
// Braze's webhook object the caller wrote (request_method, body,
// request_headers), so the message points at the caller's own input.
func brazeFields(err error, headers []hookflow.Header) error {
	var ve *hookflow.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	const root = "messages.webhook."
	rest, ok := strings.CutPrefix(ve.Field, root)
	if !ok {
		return err
	}
	field := ve.Field
	switch {
	case rest == "method":
		field = root + "request_method"
	case rest == "body_raw" || rest == "body_type" || rest == "body_pairs":
		field = root + "body"
	case strings.HasPrefix(rest, "headers["):
		var i int
		if _, scanErr := fmt.Sscanf(rest, "headers[%d]", &i); scanErr == nil && i < len(headers) {
			field = fmt.Sprintf("%srequest_headers[%q]", root, headers[i].Name)
		}
	}
	return &hookflow.ValidationError{Field: field, Reason: ve.Reason}
}

func hasHeader(hs []hookflow.Header, name string) bool {
	for _, h := range hs {
		if http.CanonicalHeaderKey(h.Name) == http.CanonicalHeaderKey(name) {
			return true
		}
	}
	return false
}

// checkWebhook validates a webhook's templates and, when its URL is
// literal, its destination.
func (s *Server) checkWebhook(ctx context.Context, field string, w hookflow.Webhook) error {
	if err := render.Check(w); err != nil {
		return prefixed(field, err)
	}
	if err := s.checkBlocks(ctx, field, w); err != nil {
		return err
	}
	if origin, ok := literalOrigin(w.URL); ok && s.Guard != nil {
		if err := s.Guard.CheckURL(origin); err != nil {
			return hookflow.Invalid(field+".url", "%v", err)
		}
	}
	return nil
}
