package api

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow"
)

// deliveryView is a delivery as the activity log shows it.
type deliveryView struct {
	ID             string        `json:"id"`
	Origin         string        `json:"origin"`
	CampaignID     string        `json:"campaign_id,omitempty"`
	DispatchID     string        `json:"dispatch_id"`
	SendID         string        `json:"send_id,omitempty"`
	UserID         string        `json:"braze_id"`
	ExternalID     string        `json:"external_id,omitempty"`
	State          string        `json:"state"`
	Attempts       int           `json:"attempts"`
	DueAt          *time.Time    `json:"next_attempt_at,omitempty"`
	LastStatus     int           `json:"last_status,omitempty"`
	LastError      string        `json:"last_error,omitempty"`
	AbortReason    string        `json:"abort_reason,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
	FirstAttemptAt *time.Time    `json:"first_attempt_at,omitempty"`
	Request        *requestView  `json:"request,omitempty"`
	AttemptLog     []attemptView `json:"attempt_log,omitempty"`
}

type requestView struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers []hookflow.Header `json:"headers"`
	// Body is the exact bytes sent, as text; BodyBase64 is used instead
	// when they are not valid UTF-8.
	Body       string `json:"body,omitempty"`
	BodyBase64 []byte `json:"body_base64,omitempty"`
}

type attemptView struct {
	hookflow.Attempt
	DurationMS   float64 `json:"duration_ms"`
	ResponseBody string  `json:"response_body,omitempty"`
	// ResponseBase64 holds a response body that is not valid UTF-8.
	ResponseBase64 []byte `json:"response_body_base64,omitempty"`
}

func viewDelivery(d *hookflow.Delivery) deliveryView {
	v := deliveryView{
		ID: d.ID, Origin: d.Origin, CampaignID: d.CampaignID, DispatchID: d.DispatchID,
		SendID: d.SendID, UserID: d.UserID, ExternalID: d.ExternalID, State: d.State,
		Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError,
		AbortReason: d.AbortReason, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
	if d.State == hookflow.StatePending && !d.DueAt.IsZero() {
		v.DueAt = &d.DueAt
	}
	if !d.FirstAttemptAt.IsZero() {
		v.FirstAttemptAt = &d.FirstAttemptAt
	}
	if r := d.Request; r != nil {
		v.Request = &requestView{Method: r.Method, URL: r.URL, Headers: redacted(r.Headers)}
		v.Request.Body, v.Request.BodyBase64 = textOrBytes(r.Body)
	}
	return v
}

func textOrBytes(b []byte) (string, []byte) {
	if utf8.Valid(b) {
		return string(b), nil
	}
	return "", b
}

// Paging limits of the activity log.
const (
	defaultPage = 100
	maxPage     = 1000
)

func (s *Server) listDeliveries(r *http.Request) (int, any, error) {
	f, err := deliveryFilter(r)
	if err != nil {
		return 0, nil, err
	}
	ds, err := s.store.ListDeliveries(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Deliveries []deliveryView `json:"deliveries"`
		// Next is the cursor of the following page: pass it as before=.
		Next string `json:"next,omitempty"`
	}{Deliveries: []deliveryView{}}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, viewDelivery(d))
	}
	if len(ds) == f.Limit {
		out.Next = ds[len(ds)-1].ID
	}
	return http.StatusOK, out, nil
}

func deliveryFilter(r *http.Request) (hookflow.DeliveryFilter, error) {
	q := r.URL.Query()
	if err := knownParams(q, "campaign_id", "user_id", "state", "dispatch_id", "since", "until", "limit", "before"); err != nil {
		return hookflow.DeliveryFilter{}, err
	}
	f := hookflow.DeliveryFilter{
		CampaignID: q.Get("campaign_id"),
		UserID:     q.Get("user_id"),
		State:      q.Get("state"),
		DispatchID: q.Get("dispatch_id"),
		Before:     q.Get("before"),
		Limit:      defaultPage,
	}
	if f.State != "" && !hookflow.KnownState(f.State) {
		return f, hookflow.Invalid("state", "must be pending, sending, delivered, failed, aborted or cancelled, not %q", f.State)
	}
	var err error
	if f.Since, err = timeParam(q.Get("since"), "since"); err != nil {
		return f, err
	}
	if f.Until, err = timeParam(q.Get("until"), "until"); err != nil {
		return f, err
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return f, hookflow.Invalid("limit", "must be a number from 1 to %d", maxPage)
		}
		f.Limit = n
	}
	return f, nil
}

func timeParam(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, hookflow.Invalid(name, "must be an RFC 3339 time such as 2026-12-03T18:00:00Z, not %q", v)
	}
	return t, nil
}

func (s *Server) getDelivery(r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	d, attempts, err := s.store.GetDelivery(r.Context(), id)
	if errors.Is(err, hookflow.ErrNotFound) {
		return 0, nil, errorf(http.StatusNotFound, "no delivery %q", id)
	}
	if err != nil {
		return 0, nil, err
	}
	v := viewDelivery(d)
	v.AttemptLog = []attemptView{}
	for _, a := range attempts {
		av := attemptView{Attempt: a, DurationMS: float64(a.Duration.Microseconds()) / 1000}
		av.ResponseBody, av.ResponseBase64 = textOrBytes(a.ResponseBody)
		v.AttemptLog = append(v.AttemptLog, av)
	}
	return http.StatusOK, v, nil
}

// sensitiveHeader matches header names whose values are credentials.
var sensitiveHeader = regexp.MustCompile(`(?i)^(authorization|proxy-authorization|cookie)$|` +
	`(?i)(api[-_]?key|token|secret|password|signature|session)`)

// redacted returns headers with credential values hidden: the activity log
// is readable with hookflow.deliveries.read alone, and that must not hand
// out the receivers' API keys. The scheme of an Authorization value
// ("Bearer") stays, to show which kind of credential was sent.
func redacted(hs []hookflow.Header) []hookflow.Header {
	out := make([]hookflow.Header, len(hs))
	for i, h := range hs {
		out[i] = h
		if !sensitiveHeader.MatchString(h.Name) {
			continue
		}
		scheme, _, found := strings.Cut(h.Value, " ")
		if found && len(scheme) <= 10 {
			out[i].Value = scheme + " [redacted]"
		} else {
			out[i].Value = "[redacted]"
		}
	}
	return out
}

// knownParams refuses a query parameter not among names: a misspelt filter
// (campaign= for campaign_id=) would otherwise list everything, unfiltered.
func knownParams(q url.Values, names ...string) error {
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(names, name) {
			return hookflow.Invalid(name, "is not a parameter here; use %s", strings.Join(names, ", "))
		}
	}
	return nil
}
