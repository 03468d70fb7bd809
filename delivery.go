package hookflow

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Delivery states. A delivery is pending until a sender claims it (sending),
// and ends in one of the four final states.
const (
	// StatePending waits for its due time: a first send, a delayed send or a
	// retry.
	StatePending = "pending"
	// StateSending is claimed by a sender holding a lease; when the lease
	// expires (the node died) the delivery is claimable again.
	StateSending   = "sending"
	StateDelivered = "delivered"
	StateFailed    = "failed"
	// StateAborted means the send was called off and nothing was sent: the
	// template called abort_message, or the campaign's rate limit would
	// have put it MaxPaceDelay or more away (see Pace).
	StateAborted = "aborted"
	// StateCancelled means an exception event (or an operator) cancelled a
	// delayed send before it went out.
	StateCancelled = "cancelled"
)

// Final reports whether state is one a delivery never leaves.
func Final(state string) bool {
	switch state {
	case StateDelivered, StateFailed, StateAborted, StateCancelled:
		return true
	}
	return false
}

// KnownState reports whether state is a delivery state: pending, sending or
// one of the final ones.
func KnownState(state string) bool {
	return state == StatePending || state == StateSending || Final(state)
}

// Origins of a delivery.
const (
	OriginCampaign   = "campaign"
	OriginAPIMessage = "api_message"
)

// Delivery is one webhook to one user: the unit of work of the queue and the
// activity-log entry users read.
type Delivery struct {
	// ID is stable across retries and sent in the Webhook-Id header.
	ID     string
	Origin string
	// CampaignID is set for campaign deliveries.
	CampaignID string
	// DispatchID groups the deliveries of one trigger or API call.
	DispatchID string
	SendID     string
	UserID     string
	// ExternalID is the user's external id at enqueue time, for the log.
	ExternalID string
	State      string
	// Payload is what the template reads besides the profile.
	Payload Payload
	// Request is the rendered request, nil until rendered. Rendered once,
	// the same bytes go out on every attempt.
	Request *Request
	// Attempts counts HTTP attempts made so far.
	Attempts    int
	DueAt       time.Time
	LeaseUntil  time.Time
	LastStatus  int
	LastError   string
	AbortReason string
	CreatedAt   time.Time
	// UpdatedAt is when the delivery last changed state (storing its
	// rendered request is no change of state).
	UpdatedAt time.Time
	// FirstAttemptAt is when the first attempt started; the retry window is
	// measured from it. Zero before the first attempt.
	FirstAttemptAt time.Time
	// Untracked, set at enqueue, says that nothing will look this delivery
	// up by user and campaign (Tx.LastSendAt, Tx.CancelPending): its
	// campaign is always re-eligible and has no exception events, or it
	// belongs to no campaign. A store may then leave it out of what it
	// keeps for those look-ups. It is not read back.
	Untracked bool
	// Profile, set at enqueue, is the user's profile as the enqueue's
	// transaction read it from the store, when that transaction did not
	// change it. A store that holds the delivery for its sender in memory
	// (HandOffer) hands it out with its profile only while no write of the
	// user came since, and the sender then renders with it instead of
	// reading the profile again. It is never stored, and is read, never
	// changed.
	Profile *User
}

// Payload carries the per-send data a template can read beyond the profile.
type Payload struct {
	// Event is the event that triggered an action-based send.
	Event *EventPayload `json:"event,omitempty"`
	// TriggerProperties are api_trigger_properties of an API send.
	TriggerProperties map[string]any `json:"trigger_properties,omitempty"`
	// Context is a journey's context (reserved for journeys).
	Context map[string]any `json:"context,omitempty"`
}

// EventPayload is the triggering event as a template sees it.
type EventPayload struct {
	Name       string         `json:"name"`
	Time       time.Time      `json:"time"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Request is a rendered webhook request, exactly as it will be sent.
type Request struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Headers keep the template's order; names may repeat.
	Headers []Header `json:"headers"`
	Body    []byte   `json:"body"`
}

// HTTPHeader returns the headers as an http.Header.
func (r *Request) HTTPHeader() http.Header {
	h := make(http.Header, len(r.Headers))
	for _, kv := range r.Headers {
		h.Add(kv.Name, kv.Value)
	}
	return h
}

// Attempt is one HTTP exchange of a delivery, kept for the activity log.
type Attempt struct {
	DeliveryID string `json:"-"`
	// Number is 1 for the first attempt.
	Number    int           `json:"number"`
	StartedAt time.Time     `json:"started_at"`
	Duration  time.Duration `json:"-"`
	// Status is the HTTP status, or 0 when no response arrived.
	Status          int         `json:"status"`
	ResponseHeaders http.Header `json:"response_headers,omitempty"`
	// ResponseBody is capped; Truncated says the receiver sent more.
	ResponseBody []byte `json:"-"`
	Truncated    bool   `json:"truncated"`
	// Error is the transport error (connection refused, timeout, …) or why a
	// response counts as a failure (a redirect's Location).
	Error string `json:"error,omitempty"`
	// ErrorKind classifies Error: timeout, connect, dns, tls, reset,
	// redirect, status, or empty.
	ErrorKind string `json:"error_kind,omitempty"`
}

// RenderResult is what rendering decided for one claimed delivery.
type RenderResult struct {
	DeliveryID string
	// Request is set when rendering succeeded.
	Request *Request
	// AbortReason is set when the template called abort_message.
	AbortReason string
	// Error is set when rendering failed; the delivery fails, not retried.
	Error string
}

// Completion is the outcome of one attempt, as stored in one batched write:
// the attempt row and the delivery's next state.
type Completion struct {
	Attempt Attempt
	// State is StateDelivered, StateFailed or StatePending (retry at DueAt).
	State string
	DueAt time.Time
}

// QueueWrite is what a sender stores with its next claim (see
// Store.SaveAndClaim): outcomes of attempts, recorded as Complete records
// them, rendering outcomes, stored as SaveRendered stores them, and
// deliveries handed back to the queue, as Defer hands them back.
type QueueWrite struct {
	Completions []Completion
	Rendered    []RenderResult
	Deferrals   []Deferral
}

// DeliveryFilter selects deliveries for the activity log. Zero fields do
// not filter. Results are newest first.
type DeliveryFilter struct {
	CampaignID string
	// UserID matches the braze id or the external id.
	UserID     string
	State      string
	DispatchID string
	Since      time.Time
	Until      time.Time
	// Before is the paging cursor: only deliveries whose ID sorts before it.
	Before string
	Limit  int
}

// Deferral returns a claimed delivery to the queue without an attempt: it
// becomes pending again, due at DueAt, its attempt count unchanged. Senders
// defer deliveries whose host is busy or has asked them to slow down.
type Deferral struct {
	DeliveryID string
	DueAt      time.Time
	// LeaseUntil, when set, defers the delivery only while its lease still
	// ends then: a claim that took it since, its lease expired, leased it
	// anew, and the deferral leaves that claim alone.
	LeaseUntil time.Time
}

// QueueStats describe the queue for the operator: deliveries due now,
// scheduled for later (delays and retries), in flight, and the due time of
// the oldest due one (zero when none is due).
type QueueStats struct {
	Due       int64
	Scheduled int64
	Sending   int64
	OldestDue time.Time
}

// ReplayFilter selects deliveries to send again. Zero fields do not filter,
// except that only failed deliveries are replayed in bulk; a DeliveryID
// names one delivery, which may be failed or delivered. A replayed delivery
// keeps its ID and stored request and becomes pending again.
type ReplayFilter struct {
	DeliveryID string
	CampaignID string
	// Host matches the host of the stored request's URL, without regard
	// to case: "api.example.com:8443" matches that port only,
	// "api.example.com" any port.
	Host string
	// Status matches the status of the last attempt (0: no filter).
	Status int
	// Since and Until bound the delivery's creation time: Since <=
	// CreatedAt < Until.
	Since time.Time
	Until time.Time
}

// MatchesHost reports whether a delivery whose request went to rawURL
// passes f's Host: always when Host is empty; otherwise the URL's host must
// equal it, and its port too when Host has one (a URL without a port has
// its scheme's). Matching is on the parsed host, never on the text, so
// "example.com" does not match "notexample.com".
func (f ReplayFilter) MatchesHost(rawURL string) bool {
	if f.Host == "" {
		return true
	}
	u, err := url.Parse(rawURL)
	if err != nil || rawURL == "" {
		return false
	}
	host, port, err := net.SplitHostPort(f.Host)
	if err != nil {
		return strings.EqualFold(u.Hostname(), strings.Trim(f.Host, "[]"))
	}
	return strings.EqualFold(u.Hostname(), host) && portOf(u) == port
}

// portOf returns the URL's port, or its scheme's default.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}
