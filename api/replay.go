package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

// Rates of a bulk replay, in deliveries a second.
const (
	defaultReplayRate = 100
	maxReplayRate     = 1000
)

// replayInput is the body of POST /v1/deliveries/replay.
type replayInput struct {
	CampaignID string `json:"campaign_id"`
	Host       string `json:"host"`
	Status     int    `json:"status"`
	Since      string `json:"since"`
	Until      string `json:"until"`
	// All allows a replay without any filter: every failed delivery.
	All    bool `json:"all"`
	DryRun bool `json:"dry_run"`
	// RatePerSecond paces the resends; nil takes the default.
	RatePerSecond *int `json:"rate_per_second"`
}

// replayResult is the answer of both replay endpoints.
type replayResult struct {
	Matched int  `json:"matched"`
	DryRun  bool `json:"dry_run"`
}

// replayOne sends one failed or delivered delivery again, at once.
func (s *Server) replayOne(r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	d, _, err := s.store.GetDelivery(r.Context(), id)
	if errors.Is(err, hookflow.ErrNotFound) {
		return 0, nil, errorf(http.StatusNotFound, "no delivery %q", id)
	}
	if err != nil {
		return 0, nil, err
	}
	if d.State != hookflow.StateFailed && d.State != hookflow.StateDelivered {
		return 0, nil, notReplayable(d)
	}
	n, err := s.replay(r.Context(), hookflow.ReplayFilter{DeliveryID: id}, false, 0)
	if errors.Is(err, hookflow.ErrConflict) {
		// A sender or another replay moved it on since it was read.
		return 0, nil, errorf(http.StatusConflict, "delivery %q changed state meanwhile; only failed or delivered deliveries can be replayed", id)
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, replayResult{Matched: n}, nil
}

func notReplayable(d *hookflow.Delivery) error {
	why := "it has not ended yet"
	if hookflow.Final(d.State) {
		why = "nothing was sent"
	}
	return errorf(http.StatusConflict, "delivery %q is %s (%s); only failed or delivered deliveries can be replayed",
		d.ID, d.State, why)
}

// replayMany sends every failed delivery the body selects again, paced at
// rate_per_second, or only counts them with dry_run.
func (s *Server) replayMany(r *http.Request) (int, any, error) {
	var in replayInput
	if err := decode(r, maxJSONBytes, &in); err != nil {
		return 0, nil, err
	}
	f, rate, err := replayFilter(in)
	if err != nil {
		return 0, nil, err
	}
	n, err := s.replay(r.Context(), f, in.DryRun, time.Second/time.Duration(rate))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, replayResult{Matched: n, DryRun: in.DryRun}, nil
}

// replayFilter validates a bulk replay and returns its filter and rate.
func replayFilter(in replayInput) (hookflow.ReplayFilter, int, error) {
	f := hookflow.ReplayFilter{CampaignID: in.CampaignID, Host: in.Host, Status: in.Status}
	var err error
	if f.Since, err = timeParam(in.Since, "since"); err != nil {
		return f, 0, err
	}
	if f.Until, err = timeParam(in.Until, "until"); err != nil {
		return f, 0, err
	}
	if err := checkReplayFilter(f, in.All); err != nil {
		return f, 0, err
	}
	rate := defaultReplayRate
	if in.RatePerSecond != nil {
		rate = *in.RatePerSecond
	}
	if rate < 1 || rate > maxReplayRate {
		return f, 0, hookflow.Invalid("rate_per_second", "must be from 1 to %d deliveries a second, not %d", maxReplayRate, rate)
	}
	return f, rate, nil
}

func checkReplayFilter(f hookflow.ReplayFilter, all bool) error {
	if f == (hookflow.ReplayFilter{}) && !all {
		return hookflow.Invalid("", `give at least one of campaign_id, host, status, since, until, or "all": true to replay every failed delivery`)
	}
	if f.Host != "" && !validHost(f.Host) {
		return hookflow.Invalid("host", "must be a host name or address with an optional port, such as api.example.com or api.example.com:8443, not %q", f.Host)
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return hookflow.Invalid("status", "must be an HTTP status from 100 to 599, not %d", f.Status)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return hookflow.Invalid("until", "must be after since")
	}
	return nil
}

// validHost reports whether h is host or host:port, not a URL.
func validHost(h string) bool {
	if strings.ContainsAny(h, "/?#@ ") {
		return false
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host != ""
	}
	return !strings.Contains(strings.Trim(h, "[]"), ":") || net.ParseIP(strings.Trim(h, "[]")) != nil
}

// replay runs the store's Replay and, when deliveries were requeued, wakes
// the senders.
func (s *Server) replay(ctx context.Context, f hookflow.ReplayFilter, dryRun bool,
	spacing time.Duration) (int, error) {
	n, err := s.store.Replay(ctx, f, s.clock.Now(), dryRun, spacing)
	if err != nil {
		return 0, err
	}
	s.log.Info("deliveries replayed", "matched", n, "dry_run", dryRun, "delivery_id", f.DeliveryID,
		"campaign_id", f.CampaignID, "host", f.Host, "status", f.Status, "spacing", spacing)
	if n > 0 && !dryRun && s.Waker != nil {
		s.Waker.Wake()
	}
	return n, nil
}
