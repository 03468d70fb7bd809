package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/filter"
)

// campaignInput is the body of POST and PUT /v1/campaigns.
type campaignInput struct {
	Name         string            `json:"name"`
	DeliveryType string            `json:"delivery_type"`
	Webhook      *hookflow.Webhook `json:"webhook"`
	Trigger      *hookflow.Trigger `json:"trigger"`
	Audience     json.RawMessage   `json:"audience"`
	// Reeligibility: absent or null means once per user ever.
	Reeligibility *int64 `json:"reeligibility_seconds"`
	// State of a new campaign: active (default) or paused.
	State string `json:"state"`
	// Version, on PUT, must match the stored version when given.
	Version int `json:"version"`
	// Signing: absent keeps the campaign's signing as it is.
	Signing *signingInput `json:"signing"`
	// RateLimitPerMinute: absent or null means no limit.
	RateLimitPerMinute *int `json:"rate_limit_per_minute"`
}

// Limits on a campaign's settings, Braze's where Braze has one.
const (
	maxNameLength = 200
	// maxReeligibility is Braze's 720 days.
	maxReeligibility = 720 * 86400
	// maxDelay is 30 days, Braze's base limit for delays.
	maxDelay = 30 * 86400
)

func (s *Server) createCampaign(r *http.Request) (int, any, error) {
	var in campaignInput
	if err := decode(r, maxJSONBytes, &in); err != nil {
		return 0, nil, err
	}
	c := &hookflow.Campaign{ID: newCampaignID(), State: hookflow.CampaignActive}
	if err := s.fill(r.Context(), c, in); err != nil {
		return 0, nil, err
	}
	switch in.State {
	case "", hookflow.CampaignActive:
	case hookflow.CampaignPaused:
		c.State = in.State
	default:
		return 0, nil, hookflow.Invalid("state", "must be active or paused, not %q", in.State)
	}

	now := s.clock.Now()
	secret, err := applySigning(c, in.Signing, now)
	if err != nil {
		return 0, nil, err
	}
	c.CreatedAt, c.UpdatedAt = now, now
	if err := s.store.CreateCampaign(r.Context(), c); err != nil {
		return 0, nil, err
	}
	s.log.Info("campaign created", "campaign_id", c.ID, "name", c.Name)
	return http.StatusCreated, viewCampaign(c, secret), nil
}

func (s *Server) updateCampaign(r *http.Request) (int, any, error) {
	var in campaignInput
	if err := decode(r, maxJSONBytes, &in); err != nil {
		return 0, nil, err
	}
	c, err := s.campaign(r)
	if err != nil {
		return 0, nil, err
	}
	if c.State == hookflow.CampaignArchived {
		// Archiving is final: an edit would change what the activity log
		// and stats of a campaign that can never send again refer to.
		return 0, nil, errorf(http.StatusConflict, "campaign %s is archived; archived campaigns cannot be edited (create a new campaign instead)", c.ID)
	}
	if in.Version != 0 && in.Version != c.Version {
		return 0, nil, errorf(http.StatusConflict, "campaign %s is at version %d, not %d: read it again and retry", c.ID, c.Version, in.Version)
	}
	if in.State != "" && in.State != c.State {
		return 0, nil, hookflow.Invalid("state", "cannot be changed by PUT; use /pause, /resume or /archive")
	}
	limit := c.RateLimitPerMinute
	if err := s.fill(r.Context(), c, in); err != nil {
		return 0, nil, err
	}
	c.UpdatedAt = s.clock.Now()
	secret, err := applySigning(c, in.Signing, c.UpdatedAt)
	if err != nil {
		return 0, nil, err
	}

	if err := s.store.UpdateCampaign(r.Context(), c); err != nil {
		return 0, nil, conflict(c, err)
	}
	s.log.Info("campaign updated", "campaign_id", c.ID, "version", c.Version)
	s.repace(r, c, limit)
	return http.StatusOK, viewCampaign(c, secret), nil
}

// fill validates in and copies it into c.
func (s *Server) fill(ctx context.Context, c *hookflow.Campaign, in campaignInput) error {
	name := strings.TrimSpace(in.Name)
	switch {
	case name == "":
		return hookflow.Invalid("name", "is required")
	case len(name) > maxNameLength:
		return hookflow.Invalid("name", "is longer than %d characters", maxNameLength)
	case in.Webhook == nil:
		return hookflow.Invalid("webhook", "is required")
	case in.Webhook.Signing != nil:
		return hookflow.Invalid("webhook.signing", "is set at the campaign's top level, as \"signing\": {\"enabled\": true}")
	}
	if err := s.checkWebhook(ctx, "webhook", *in.Webhook); err != nil {
		return err
	}
	if err := checkTrigger(in.DeliveryType, in.Trigger); err != nil {
		return err
	}
	if _, err := filter.ParseAudience(in.Audience); err != nil {
		return err
	}
	if r := in.Reeligibility; r != nil && (*r < 0 || *r > maxReeligibility) {
		return hookflow.Invalid("reeligibility_seconds", "must be between 0 and %d (720 days), or null for once per user", maxReeligibility)
	}
	if n := in.RateLimitPerMinute; n != nil && (*n < hookflow.MinRateLimit || *n > hookflow.MaxRateLimit) {
		return hookflow.Invalid("rate_limit_per_minute", "must be between %d and %d messages a minute, or null for no limit",
			hookflow.MinRateLimit, hookflow.MaxRateLimit)
	}

	// The secrets are not part of the input: they stay as they are unless
	// the input's signing object says otherwise.
	signing := c.Webhook.Signing
	c.Name, c.DeliveryType, c.Webhook = name, in.DeliveryType, *in.Webhook
	c.Webhook.Signing = signing
	c.Trigger, c.Audience, c.Reeligibility = in.Trigger, in.Audience, in.Reeligibility
	c.RateLimitPerMinute = in.RateLimitPerMinute
	if string(c.Audience) == "null" {
		c.Audience = nil
	}
	return nil
}

func checkTrigger(deliveryType string, t *hookflow.Trigger) error {
	switch deliveryType {
	case hookflow.APITriggered:
		if t != nil {
			return hookflow.Invalid("trigger", "is only for action_based campaigns")
		}
		return nil
	case hookflow.ActionBased:
	case "":
		return hookflow.Invalid("delivery_type", "is required: action_based or api_triggered")
	default:
		return hookflow.Invalid("delivery_type", "must be action_based or api_triggered, not %q", deliveryType)
	}

	switch {
	case t == nil:
		return hookflow.Invalid("trigger", "is required for action_based campaigns")
	case t.Purchase && t.Event != "":
		return hookflow.Invalid("trigger", "sets both event and purchase; choose one")
	case !t.Purchase && strings.TrimSpace(t.Event) == "":
		return hookflow.Invalid("trigger.event", "is required (or set purchase: true)")
	case !t.Purchase && t.ProductID != "":
		return hookflow.Invalid("trigger.product_id", "needs purchase: true")
	case t.DelaySeconds < 0 || t.DelaySeconds > maxDelay:
		return hookflow.Invalid("trigger.delay_seconds", "must be between 0 and %d (30 days)", maxDelay)
	case len(t.ExceptionEvents) > 0 && t.DelaySeconds == 0:
		return hookflow.Invalid("trigger.exception_events", "need a delay: an exception can only cancel a send that is still waiting")
	}
	for i, e := range t.ExceptionEvents {
		if strings.TrimSpace(e) == "" {
			return hookflow.Invalid(fmt.Sprintf("trigger.exception_events[%d]", i), "is empty")
		}
	}
	return filter.CheckProperties(t.Filters)
}

func (s *Server) getCampaign(r *http.Request) (int, any, error) {
	c, err := s.campaign(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewCampaign(c, ""), nil
}

func (s *Server) listCampaigns(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	if err := knownParams(q, "state"); err != nil {
		return 0, nil, err
	}
	f := hookflow.CampaignFilter{State: q.Get("state")}
	switch f.State {
	case "", hookflow.CampaignActive, hookflow.CampaignPaused, hookflow.CampaignArchived:
	default:
		return 0, nil, hookflow.Invalid("state", "must be active, paused or archived, not %q", f.State)
	}
	cs, err := s.store.ListCampaigns(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	views := make([]campaignView, 0, len(cs))
	for _, c := range cs {
		views = append(views, viewCampaign(c, ""))
	}
	return http.StatusOK, map[string]any{"campaigns": views}, nil
}

// setState returns the handler of /pause, /resume and /archive. Pausing or
// archiving stops new sends; deliveries already enqueued still go out.
// Archiving is final.
func (s *Server) setState(state string) func(*http.Request) (int, any, error) {
	return func(r *http.Request) (int, any, error) {
		c, err := s.campaign(r)
		if err != nil {
			return 0, nil, err
		}
		if c.State == hookflow.CampaignArchived && state != hookflow.CampaignArchived {
			verb := map[string]string{hookflow.CampaignActive: "resumed", hookflow.CampaignPaused: "paused"}[state]
			return 0, nil, errorf(http.StatusConflict, "campaign %s is archived; archived campaigns cannot be %s", c.ID, verb)
		}
		if c.State == state {
			return http.StatusOK, viewCampaign(c, ""), nil
		}
		c.State, c.UpdatedAt = state, s.clock.Now()
		if err := s.store.UpdateCampaign(r.Context(), c); err != nil {
			return 0, nil, conflict(c, err)
		}
		s.log.Info("campaign state changed", "campaign_id", c.ID, "state", state)
		return http.StatusOK, viewCampaign(c, ""), nil
	}
}

func (s *Server) campaignStats(r *http.Request) (int, any, error) {
	c, err := s.campaign(r)
	if err != nil {
		return 0, nil, err
	}
	st, err := s.store.CampaignStats(r.Context(), c.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

func (s *Server) campaign(r *http.Request) (*hookflow.Campaign, error) {
	id := r.PathValue("id")
	c, err := s.store.GetCampaign(r.Context(), id)
	if errors.Is(err, hookflow.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "no campaign %q", id)
	}
	return c, err
}

func conflict(c *hookflow.Campaign, err error) error {
	if errors.Is(err, hookflow.ErrConflict) {
		return errorf(http.StatusConflict, "campaign %s changed while you edited it: read it again and retry", c.ID)
	}
	return err
}

func newCampaignID() string {
	var b [12]byte
	rand.Read(b[:])
	return "cmp_" + hex.EncodeToString(b[:])
}

// repace applies an edited rate limit to the deliveries already waiting
// for a slot under the old one: they are paced again under the new limit
// (or none). The edit itself is stored by then; if this fails, those
// deliveries keep their old slots, which is slower but never wrong.
func (s *Server) repace(r *http.Request, c *hookflow.Campaign, old *int) {
	now := c.RateLimitPerMinute
	if old == now || (old != nil && now != nil && *old == *now) {
		return
	}
	if err := s.store.ReleasePaced(r.Context(), s.clock.Now(), c.ID); err != nil {
		s.log.Warn("releasing paced deliveries after a rate limit change", "campaign_id", c.ID, "err", err)
		return
	}
	var shown any = "none"
	if now != nil {
		shown = *now
	}
	s.log.Info("campaign rate limit changed", "campaign_id", c.ID, "rate_limit_per_minute", shown)
	if s.Waker != nil {
		s.Waker.Wake()
	}
}
