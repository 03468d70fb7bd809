package api

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/hookflow/hookflow"
)

// Braze's paging and range limits of the campaign export endpoints.
const (
	campaignsPerPage = 100
	maxSeriesDays    = 100
)

// campaignSummary is one entry of Braze's /campaigns/list.
type campaignSummary struct {
	ID            string   `json:"id"`
	LastEdited    string   `json:"last_edited"`
	Name          string   `json:"name"`
	IsAPICampaign bool     `json:"is_api_campaign"`
	Tags          []string `json:"tags"`
}

// brazeCampaignsList serves GET /campaigns/list: campaigns oldest first
// (or newest first with sort_direction=desc), 100 a page, archived ones
// only with include_archived=true.
func (s *Server) brazeCampaignsList(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	page, err := intParam(q.Get("page"), "page", 0, 0, 1<<30)
	if err != nil {
		return 0, nil, err
	}
	archived, err := queryBool(q.Get("include_archived"), "include_archived")
	if err != nil {
		return 0, nil, err
	}
	desc := false
	switch q.Get("sort_direction") {
	case "", "asc":
	case "desc":
		desc = true
	default:
		return 0, nil, hookflow.Invalid("sort_direction", "must be asc or desc, not %q", q.Get("sort_direction"))
	}
	var after time.Time
	if v := q.Get("last_edit.time[gt]"); v != "" {
		if after, err = parseBrazeTime("last_edit.time[gt]", v); err != nil {
			return 0, nil, err
		}
	}

	cs, err := s.store.ListCampaigns(r.Context(), hookflow.CampaignFilter{})
	if err != nil {
		return 0, nil, err
	}
	out := []campaignSummary{}
	for _, c := range orderCampaigns(cs, desc) {
		if (c.State == hookflow.CampaignArchived && !archived) || !c.UpdatedAt.After(after) {
			continue
		}
		out = append(out, campaignSummary{ID: c.ID, LastEdited: brazeTime(c.UpdatedAt), Name: c.Name, Tags: []string{}})
	}
	out = pageOf(out, page)
	return http.StatusOK, map[string]any{"campaigns": out, "message": "success"}, nil
}

// orderCampaigns sorts by creation time, oldest first unless desc.
func orderCampaigns(cs []*hookflow.Campaign, desc bool) []*hookflow.Campaign {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if desc {
			a, b = b, a
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return cs
}

func pageOf[T any](all []T, page int) []T {
	start := page * campaignsPerPage
	if start >= len(all) {
		return []T{}
	}
	return all[start:min(start+campaignsPerPage, len(all))]
}

// brazeCampaignDetails serves GET /campaigns/details in Braze's shape. The
// one message is the campaign's webhook; its signing secrets never show.
func (s *Server) brazeCampaignDetails(r *http.Request) (int, any, error) {
	c, err := s.brazeCampaign(r)
	if err != nil {
		return 0, nil, err
	}
	first, last, err := s.sentRange(r, c.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{
		"message":               "success",
		"created_at":            brazeTime(c.CreatedAt),
		"updated_at":            brazeTime(c.UpdatedAt),
		"archived":              c.State == hookflow.CampaignArchived,
		"draft":                 false,
		"enabled":               c.State == hookflow.CampaignActive,
		"has_post_launch_draft": false,
		"name":                  c.Name,
		"description":           "",
		"schedule_type":         c.DeliveryType,
		"channels":              []string{"webhook"},
		"first_sent":            first,
		"last_sent":             last,
		"tags":                  []string{},
		"teams":                 []string{},
		"messages":              map[string]any{variationID(c.ID): webhookMessage(c)},
		"conversion_behaviors":  []any{},
	}, nil
}

// variationID is the id of a campaign's one message variation.
func variationID(campaignID string) string { return "variation_" + campaignID }

func webhookMessage(c *hookflow.Campaign) map[string]any {
	w := c.Webhook
	headers := map[string]string{}
	for _, h := range w.Headers {
		headers[h.Name] = h.Value
	}
	m := map[string]any{
		"channel": "webhook", "name": c.Name, "url": w.URL,
		"request_method": w.Method, "headers": headers, "body": "", "type": "raw_text",
	}
	switch w.BodyType {
	case hookflow.BodyRaw:
		m["body"] = w.BodyRaw
	case hookflow.BodyJSON:
		pairs := map[string]string{}
		for _, p := range w.BodyPairs {
			pairs[p.Key] = p.Value
		}
		m["body"], m["type"] = pairs, "key_value_pairs"
	}
	return m
}

// brazeCampaign reads the campaign named by the campaign_id parameter.
func (s *Server) brazeCampaign(r *http.Request) (*hookflow.Campaign, error) {
	id := r.URL.Query().Get("campaign_id")
	if id == "" {
		return nil, hookflow.Invalid("campaign_id", "is required")
	}
	c, err := s.store.GetCampaign(r.Context(), id)
	if err != nil {
		return nil, campaignErr(id, err)
	}
	return c, nil
}

// sentRange returns when the campaign's first and last sent deliveries
// were created, in Braze's time format, or nil when none was sent.
func (s *Server) sentRange(r *http.Request, campaignID string) (first, last any, err error) {
	var lo, hi time.Time
	err = s.eachDelivery(r, hookflow.DeliveryFilter{CampaignID: campaignID}, func(d *hookflow.Delivery) {
		if !wasSent(d) {
			return
		}
		if lo.IsZero() || d.CreatedAt.Before(lo) {
			lo = d.CreatedAt
		}
		if d.CreatedAt.After(hi) {
			hi = d.CreatedAt
		}
	})
	if err != nil || lo.IsZero() {
		return nil, nil, err
	}
	return brazeTime(lo), brazeTime(hi), nil
}

// eachDelivery calls fn for every delivery f selects, a page at a time.
func (s *Server) eachDelivery(r *http.Request, f hookflow.DeliveryFilter, fn func(*hookflow.Delivery)) error {
	const pageSize = 1000
	f.Limit = pageSize
	for {
		ds, err := s.store.ListDeliveries(r.Context(), f)
		if err != nil {
			return fmt.Errorf("listing deliveries: %w", err)
		}
		for _, d := range ds {
			fn(d)
		}
		if len(ds) < pageSize {
			return nil
		}
		f.Before = ds[len(ds)-1].ID
	}
}

// wasSent says whether a delivery counts as a send: it made an attempt,
// as Hookflow's campaign stats count sends.
func wasSent(d *hookflow.Delivery) bool { return d.Attempts > 0 }

// seriesDay is one day of Braze's data series.
type seriesDay struct {
	Time             string                    `json:"time"`
	Messages         map[string][]seriesCounts `json:"messages"`
	Conversions      int                       `json:"conversions"`
	UniqueRecipients int                       `json:"unique_recipients"`
}

type seriesCounts struct {
	VariationAPIID string `json:"variation_api_id,omitempty"`
	Sent           int    `json:"sent"`
	Errors         int    `json:"errors"`
}

// seriesRange reads length and ending_at: the UTC days of the series,
// oldest first, ending with ending_at's day (today by default).
func (s *Server) seriesRange(r *http.Request) ([]time.Time, error) {
	q := r.URL.Query()
	if q.Get("length") == "" {
		return nil, hookflow.Invalid("length", "is required (1 to %d days)", maxSeriesDays)
	}
	n, err := intParam(q.Get("length"), "length", 1, 1, maxSeriesDays)
	if err != nil {
		return nil, err
	}
	end := s.clock.Now()
	if v := q.Get("ending_at"); v != "" {
		if end, err = parseBrazeTime("ending_at", v); err != nil {
			return nil, err
		}
	}
	end = end.UTC().Truncate(24 * time.Hour)
	days := make([]time.Time, n)
	for i := range days {
		days[i] = end.AddDate(0, 0, i-n+1)
	}
	return days, nil
}

// series counts the deliveries f selects (and keep accepts) per day:
// sends, errors (deliveries that ended failed) and unique recipients.
func (s *Server) series(r *http.Request, f hookflow.DeliveryFilter, days []time.Time,
	variation string, keep func(*hookflow.Delivery) bool) ([]seriesDay, error) {
	f.Since, f.Until = days[0], days[len(days)-1].AddDate(0, 0, 1)
	out := make([]seriesDay, len(days))
	users := make([]map[string]bool, len(days))
	for i, d := range days {
		out[i] = seriesDay{Time: d.Format(time.DateOnly)}
		users[i] = map[string]bool{}
	}
	counts := make([]seriesCounts, len(days))
	err := s.eachDelivery(r, f, func(d *hookflow.Delivery) {
		i := int(d.CreatedAt.UTC().Sub(days[0]) / (24 * time.Hour))
		if i < 0 || i >= len(days) || !keep(d) || !wasSent(d) {
			return
		}
		counts[i].Sent++
		if d.State == hookflow.StateFailed {
			counts[i].Errors++
		}
		users[i][d.UserID] = true
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		counts[i].VariationAPIID = variation
		out[i].Messages = map[string][]seriesCounts{"webhook": {counts[i]}}
		out[i].UniqueRecipients = len(users[i])
	}
	return out, nil
}

// brazeCampaignDataSeries serves GET /campaigns/data_series.
func (s *Server) brazeCampaignDataSeries(r *http.Request) (int, any, error) {
	c, err := s.brazeCampaign(r)
	if err != nil {
		return 0, nil, err
	}
	days, err := s.seriesRange(r)
	if err != nil {
		return 0, nil, err
	}
	data, err := s.series(r, hookflow.DeliveryFilter{CampaignID: c.ID}, days, "",
		func(*hookflow.Delivery) bool { return true })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"data": data, "message": "success"}, nil
}

// brazeTime is Braze's ISO-8601 format for times in responses.
func brazeTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

// parseBrazeTime reads an ISO-8601 time with a zone, or a date (midnight
// UTC).
func parseBrazeTime(field, v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, hookflow.Invalid(field, "%q is not an ISO-8601 time such as 2026-12-03T10:00:00Z", v)
}

func queryBool(v, field string) (bool, error) {
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, hookflow.Invalid(field, "must be true or false, not %q", v)
}
