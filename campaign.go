package hookflow

import (
	"encoding/json"
	"time"
)

// Webhook is one webhook message as its author wrote it: every string part is
// a Liquid template in Braze's dialect, rendered per user before sending.
type Webhook struct {
	// Method is POST, GET, PUT or DELETE. A GET carries no body.
	Method string `json:"method"`
	// URL is an http or https URL template.
	URL string `json:"url"`
	// Headers are sent in this order; values are templates.
	Headers []Header `json:"headers,omitempty"`
	// BodyType is BodyJSON (BodyPairs serialised by Hookflow into a JSON
	// object, so user data can never break the JSON), BodyRaw (BodyRaw sent
	// byte for byte as rendered) or BodyNone.
	BodyType  string     `json:"body_type"`
	BodyPairs []KeyValue `json:"body_pairs,omitempty"`
	BodyRaw   string     `json:"body_raw,omitempty"`
	// Signing, when set, signs every attempt with the Standard Webhooks
	// scheme. It holds secrets: API responses must never show it as is.
	Signing *Signing `json:"signing,omitempty"`
}

// Signing holds the Standard Webhooks secrets of a webhook. Secrets[0] is
// the current one; the others are older secrets still valid until their
// ExpiresAt, so receivers can move to a new secret without losing a
// delivery: while two are valid, every attempt carries both signatures.
type Signing struct {
	Secrets []SigningSecret `json:"secrets"`
}

// SigningSecret is one secret of a Signing.
type SigningSecret struct {
	// ID names the secret in API output, which never shows Secret.
	ID string `json:"id"`
	// Secret is "whsec_" followed by the standard base64 of the key.
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is nil while the secret is current; a rotation sets it on
	// the secrets it replaces.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Active returns the secrets that still sign at now, current first.
func (s *Signing) Active(now time.Time) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, sec := range s.Secrets {
		if sec.ExpiresAt == nil || now.Before(*sec.ExpiresAt) {
			out = append(out, sec.Secret)
		}
	}
	return out
}

// Body types of a Webhook.
const (
	BodyJSON = "json"
	BodyRaw  = "raw"
	BodyNone = "none"
)

// Header is one request header; Value is a template.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// KeyValue is one row of a JSON key/value body; Value is a template.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Campaign states.
const (
	CampaignActive   = "active"
	CampaignPaused   = "paused"
	CampaignArchived = "archived"
)

// Delivery types of a campaign.
const (
	// ActionBased campaigns fire when a user performs an event.
	ActionBased = "action_based"
	// APITriggered campaigns fire only through /campaigns/trigger/send.
	APITriggered = "api_triggered"
)

// Campaign is a stored webhook campaign: one message and the rule that
// decides when, and to whom, it goes.
type Campaign struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// State is active, paused or archived. Only active campaigns send.
	State        string  `json:"state"`
	DeliveryType string  `json:"delivery_type"`
	Webhook      Webhook `json:"webhook"`
	// Trigger is set for action-based campaigns.
	Trigger *Trigger `json:"trigger,omitempty"`
	// Audience is an optional filter on profile attributes in the JSON shape
	// of Braze's connected-audience object; empty means everyone.
	Audience json.RawMessage `json:"audience,omitempty"`
	// Reeligibility is nil when a user may receive the campaign only once
	// ever; otherwise the seconds that must pass after a send before the user
	// may receive it again (0: every time). Sends made while it is 0 and
	// the campaign has no exception events are not kept for re-eligibility
	// (Delivery.Untracked): a campaign changed from 0 to a window counts
	// the sends made since.
	Reeligibility *int64 `json:"reeligibility_seconds"`
	// RateLimitPerMinute, Braze's delivery-speed limit, is how many start
	// slots the campaign's deliveries get a minute, one every minute/N; no
	// attempt starts before its slot. Between MinRateLimit and
	// MaxRateLimit; nil means no limit. Retries take slots; test sends do
	// not.
	RateLimitPerMinute *int      `json:"rate_limit_per_minute"`
	Version            int       `json:"version"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Trigger says which event fires an action-based campaign.
type Trigger struct {
	// Event is the custom event name. Empty when Purchase is set.
	Event string `json:"event,omitempty"`
	// Purchase fires on any purchase (or only ProductID when set).
	Purchase  bool   `json:"purchase,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	// Filters must all hold on the event's properties.
	Filters []PropertyFilter `json:"filters,omitempty"`
	// DelaySeconds postpones the send after the event.
	DelaySeconds int64 `json:"delay_seconds,omitempty"`
	// ExceptionEvents cancel a delayed send still waiting for its time when
	// the same user performs one of them. Exception events added to a
	// campaign that had none and is always re-eligible cancel the sends
	// enqueued from then on (Delivery.Untracked).
	ExceptionEvents []string `json:"exception_events,omitempty"`
}

// PropertyFilter compares one event property with a value. Op is one of
// equals, not_equals, greater_than, less_than, exists, does_not_exist,
// contains. Property may be a dotted path into nested objects.
type PropertyFilter struct {
	Property string `json:"property"`
	Op       string `json:"op"`
	Value    any    `json:"value,omitempty"`
}

// Matches reports whether the trigger fires for ev, ignoring Filters, which
// the filter package evaluates.
func (t *Trigger) Matches(ev *Event) bool {
	if t.Purchase {
		return ev.Purchase != nil && (t.ProductID == "" || t.ProductID == ev.Name)
	}
	return ev.Purchase == nil && t.Event == ev.Name
}

// CampaignStats are a campaign's activity counts, as Braze's webhook report
// shows them plus what Hookflow knows beyond it.
type CampaignStats struct {
	// Sends counts deliveries that made at least one attempt.
	Sends     int64 `json:"sends"`
	Delivered int64 `json:"delivered"`
	// Errors counts deliveries that ended failed.
	Errors           int64 `json:"errors"`
	Aborts           int64 `json:"aborts"`
	Pending          int64 `json:"pending"`
	Cancelled        int64 `json:"cancelled"`
	UniqueRecipients int64 `json:"unique_recipients"`
}
