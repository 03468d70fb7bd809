package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookflow/hookflow"
)

// scheduleObject is Braze's schedule object. With in_local_time, time is a
// wall-clock time sent at in each user's zone; at_optimal_time is refused.
type scheduleObject struct {
	Time          string `json:"time"`
	InLocalTime   bool   `json:"in_local_time"`
	AtOptimalTime bool   `json:"at_optimal_time"`
}

// triggerScheduleRequest is the body of /campaigns/trigger/schedule/*:
// create takes a trigger/send body and a schedule, update a schedule_id and
// a schedule, delete a schedule_id.
type triggerScheduleRequest struct {
	triggerSendRequest
	ScheduleID string          `json:"schedule_id"`
	Schedule   *scheduleObject `json:"schedule"`
}

// messagesScheduleRequest is the body of /messages/schedule/*, around a
// /messages/send body.
type messagesScheduleRequest struct {
	messagesSendRequest
	ScheduleID string          `json:"schedule_id"`
	Schedule   *scheduleObject `json:"schedule"`
}

type scheduleResponse struct {
	DispatchID string `json:"dispatch_id"`
	ScheduleID string `json:"schedule_id"`
	Message    string `json:"message"`
}

type successResponse struct {
	Message string `json:"message"`
}

// scheduleTimeLayouts are the ISO-8601 forms schedule.time takes; one
// without a zone is UTC, as Braze reads it.
var scheduleTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"}

// when validates a schedule object and returns when it is due, in UTC to
// the microsecond that stores keep, and for in_local_time its wall-clock
// time.
func (s *Server) when(o *scheduleObject) (scheduleWhen, error) {
	switch {
	case o == nil:
		return scheduleWhen{}, hookflow.Invalid("schedule", "is required")
	case o.AtOptimalTime:
		return scheduleWhen{}, hookflow.Invalid("schedule.at_optimal_time", "is not supported: Hookflow has no per-user optimal time; use time, with in_local_time for each user's zone")
	case o.Time == "":
		return scheduleWhen{}, hookflow.Invalid("schedule.time", "is required")
	}
	t, err := parseScheduleTime("schedule.time", o.Time)
	if err != nil {
		return scheduleWhen{}, err
	}
	if o.InLocalTime {
		return localWhen(t, s.clock.Now())
	}
	if t.Before(s.clock.Now()) {
		return scheduleWhen{}, hookflow.Invalid("schedule.time", "is in the past")
	}
	return scheduleWhen{due: t}, nil
}

// setWhen gives sc the due time of w and marks its request as local-time
// or not.
func setWhen(sc *hookflow.Schedule, w scheduleWhen) error {
	body, err := withLocalTime(sc.Request, w.wall)
	if err != nil {
		return err
	}
	sc.Request, sc.DueAt = body, w.due
	return nil
}

// parseScheduleTime reads v, the value of field, in one of
// scheduleTimeLayouts, as a UTC time to the microsecond.
func parseScheduleTime(field, v string) (time.Time, error) {
	for _, layout := range scheduleTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	return time.Time{}, hookflow.Invalid(field, "%q is not an ISO-8601 time such as 2026-03-01T12:00:00Z", v)
}

// createTriggerSchedule serves POST /campaigns/trigger/schedule/create.
func (s *Server) createTriggerSchedule(r *http.Request) (int, any, error) {
	var req triggerScheduleRequest
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	if req.ScheduleID != "" {
		return 0, nil, hookflow.Invalid("schedule_id", "is given by Hookflow; use /campaigns/trigger/schedule/update to change a schedule")
	}
	if _, err := s.checkTriggerSend(req.triggerSendRequest); err != nil {
		return 0, nil, err
	}
	if err := s.schedulable(r, req.CampaignID); err != nil {
		return 0, nil, err
	}
	return s.createSchedule(r, hookflow.ScheduleCampaign, req.CampaignID, req.triggerSendRequest, req.Schedule)
}

// schedulable refuses a schedule for a campaign that could never send it:
// unknown, not api_triggered, or archived. A paused campaign may be
// resumed before the time comes; every campaign is checked again then.
func (s *Server) schedulable(r *http.Request, id string) error {
	c, err := s.store.GetCampaign(r.Context(), id)
	if err != nil {
		return campaignErr(id, err)
	}
	if c.DeliveryType != hookflow.APITriggered {
		return hookflow.Invalid("campaign_id", "campaign %q is %s; only api_triggered campaigns can be sent through this endpoint", c.ID, c.DeliveryType)
	}
	if c.State == hookflow.CampaignArchived {
		return hookflow.Invalid("campaign_id", "campaign %q is archived; archived campaigns cannot send", c.ID)
	}
	return nil
}

// createMessagesSchedule serves POST /messages/schedule/create.
func (s *Server) createMessagesSchedule(r *http.Request) (int, any, error) {
	var req messagesScheduleRequest
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	if req.ScheduleID != "" {
		return 0, nil, hookflow.Invalid("schedule_id", "is given by Hookflow; use /messages/schedule/update to change a schedule")
	}
	if _, _, err := s.checkMessagesSend(r.Context(), req.messagesSendRequest); err != nil {
		return 0, nil, err
	}
	return s.createSchedule(r, hookflow.ScheduleMessage, req.CampaignID, req.messagesSendRequest, req.Schedule)
}

// createSchedule stores a validated send request to run at o's time.
func (s *Server) createSchedule(r *http.Request, kind, campaignID string, send any,
	o *scheduleObject) (int, any, error) {
	w, err := s.when(o)
	if err != nil {
		return 0, nil, err
	}
	body, err := json.Marshal(send)
	if err != nil {
		return 0, nil, fmt.Errorf("encoding scheduled request: %w", err)
	}
	now := s.clock.Now()
	sc := &hookflow.Schedule{
		ID: hookflow.NewScheduleID(), Kind: kind, CampaignID: campaignID,
		DispatchID: hookflow.NewDispatchID(), Request: body,
		State: hookflow.ScheduleScheduled, CreatedAt: now, UpdatedAt: now,
	}
	if err := setWhen(sc, w); err != nil {
		return 0, nil, err
	}
	if err := s.store.CreateSchedule(r.Context(), sc); err != nil {
		return 0, nil, fmt.Errorf("storing schedule: %w", err)
	}
	s.wakeSchedules()
	s.log.Info("schedule created", "schedule_id", sc.ID, "dispatch_id", sc.DispatchID,
		"campaign_id", campaignID, "due_at", sc.DueAt, "in_local_time", !w.wall.IsZero())
	return http.StatusCreated, scheduleResponse{DispatchID: sc.DispatchID, ScheduleID: sc.ID, Message: "success"}, nil
}

// updateTriggerSchedule serves POST /campaigns/trigger/schedule/update: a
// campaign's schedule changes its time only.
func (s *Server) updateTriggerSchedule(r *http.Request) (int, any, error) {
	var req struct {
		CampaignID string          `json:"campaign_id"`
		ScheduleID string          `json:"schedule_id"`
		Schedule   *scheduleObject `json:"schedule"`
	}
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	sc, err := s.openSchedule(r, hookflow.ScheduleCampaign, req.CampaignID, req.ScheduleID)
	if err != nil {
		return 0, nil, err
	}
	w, err := s.when(req.Schedule)
	if err != nil {
		return 0, nil, err
	}
	if err := setWhen(sc, w); err != nil {
		return 0, nil, err
	}
	return s.saveSchedule(r, sc)
}

// updateMessagesSchedule serves POST /messages/schedule/update: the time,
// the messages, or both change.
func (s *Server) updateMessagesSchedule(r *http.Request) (int, any, error) {
	var req struct {
		ScheduleID string            `json:"schedule_id"`
		Schedule   *scheduleObject   `json:"schedule"`
		Messages   *messagesEnvelope `json:"messages"`
	}
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	if req.Schedule == nil && req.Messages == nil {
		return 0, nil, hookflow.Invalid("schedule", "is required unless messages is given")
	}
	sc, err := s.openSchedule(r, hookflow.ScheduleMessage, "", req.ScheduleID)
	if err != nil {
		return 0, nil, err
	}
	// The messages change first: replaceMessages keeps a local-time mark
	// that a new schedule then sets or clears.
	if req.Messages != nil {
		if sc.Request, err = s.replaceMessages(r.Context(), sc.Request, req.Messages); err != nil {
			return 0, nil, err
		}
	}
	if req.Schedule != nil {
		w, err := s.when(req.Schedule)
		if err != nil {
			return 0, nil, err
		}
		if err := setWhen(sc, w); err != nil {
			return 0, nil, err
		}
	}
	return s.saveSchedule(r, sc)
}

// replaceMessages returns a stored /messages/send body with new messages,
// validated as a whole.
func (s *Server) replaceMessages(ctx context.Context, stored json.RawMessage,
	m *messagesEnvelope) (json.RawMessage, error) {
	stored, wall, err := splitLocalTime(stored)
	if err != nil {
		return nil, err
	}
	var send messagesSendRequest
	if err := json.Unmarshal(stored, &send); err != nil {
		return nil, fmt.Errorf("decoding stored request: %w", err)
	}
	send.Messages = m
	if _, _, err := s.checkMessagesSend(ctx, send); err != nil {
		return nil, err
	}
	body, err := json.Marshal(send)
	if err != nil {
		return nil, fmt.Errorf("encoding scheduled request: %w", err)
	}
	return withLocalTime(body, wall)
}

func (s *Server) saveSchedule(r *http.Request, sc *hookflow.Schedule) (int, any, error) {
	sc.UpdatedAt = s.clock.Now()
	err := s.store.UpdateSchedule(r.Context(), sc)
	if errors.Is(err, hookflow.ErrConflict) {
		// The leader ran it, or a caller cancelled it, since it was read.
		return 0, nil, s.scheduleClosed(r, sc.ID)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("updating schedule %s: %w", sc.ID, err)
	}
	s.wakeSchedules()
	s.log.Info("schedule updated", "schedule_id", sc.ID, "due_at", sc.DueAt)
	return http.StatusCreated, successResponse{Message: "success"}, nil
}

// deleteTriggerSchedule serves POST /campaigns/trigger/schedule/delete.
func (s *Server) deleteTriggerSchedule(r *http.Request) (int, any, error) {
	var req struct {
		CampaignID string `json:"campaign_id"`
		ScheduleID string `json:"schedule_id"`
	}
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	return s.cancelSchedule(r, hookflow.ScheduleCampaign, req.CampaignID, req.ScheduleID)
}

// deleteMessagesSchedule serves POST /messages/schedule/delete.
func (s *Server) deleteMessagesSchedule(r *http.Request) (int, any, error) {
	var req struct {
		ScheduleID string `json:"schedule_id"`
	}
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	return s.cancelSchedule(r, hookflow.ScheduleMessage, "", req.ScheduleID)
}

func (s *Server) cancelSchedule(r *http.Request, kind, campaignID, id string) (int, any, error) {
	if _, err := s.openSchedule(r, kind, campaignID, id); err != nil {
		return 0, nil, err
	}
	err := s.store.CancelSchedule(r.Context(), id, s.clock.Now())
	if errors.Is(err, hookflow.ErrConflict) {
		return 0, nil, s.scheduleClosed(r, id)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("cancelling schedule %s: %w", id, err)
	}
	s.log.Info("schedule cancelled", "schedule_id", id)
	return http.StatusCreated, successResponse{Message: "success"}, nil
}

// openSchedule reads a schedule of kind (and of campaignID, for a campaign
// schedule) that is still scheduled.
func (s *Server) openSchedule(r *http.Request, kind, campaignID, id string) (*hookflow.Schedule, error) {
	if kind == hookflow.ScheduleCampaign && campaignID == "" {
		return nil, hookflow.Invalid("campaign_id", "is required")
	}
	if id == "" {
		return nil, hookflow.Invalid("schedule_id", "is required")
	}
	sc, err := s.store.GetSchedule(r.Context(), id)
	if errors.Is(err, hookflow.ErrNotFound) || (err == nil && sc.Kind != kind) {
		return nil, errorf(http.StatusNotFound, "schedule_id: no schedule %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading schedule %s: %w", id, err)
	}
	if kind == hookflow.ScheduleCampaign && sc.CampaignID != campaignID {
		return nil, errorf(http.StatusNotFound, "schedule_id: no schedule %q of campaign %q", id, campaignID)
	}
	if sc.State != hookflow.ScheduleScheduled {
		return nil, closedError(sc)
	}
	return sc, nil
}

// scheduleClosed reads the schedule again to say why it can no longer
// change.
func (s *Server) scheduleClosed(r *http.Request, id string) error {
	sc, err := s.store.GetSchedule(r.Context(), id)
	if err != nil {
		return fmt.Errorf("reading schedule %s: %w", id, err)
	}
	return closedError(sc)
}

// closedError is the 409 for a schedule already sent or cancelled.
func closedError(sc *hookflow.Schedule) error {
	if sc.State == hookflow.ScheduleCancelled {
		return errorf(http.StatusConflict, "schedule_id: schedule %q was deleted", sc.ID)
	}
	return errorf(http.StatusConflict, "schedule_id: schedule %q was already sent at %s",
		sc.ID, sc.SentAt.Format(time.RFC3339))
}

// scheduledBroadcast is one entry of /messages/scheduled_broadcasts, in
// Braze's shape, plus Hookflow's schedule_id and dispatch_id.
type scheduledBroadcast struct {
	Name         string   `json:"name"`
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	Tags         []string `json:"tags"`
	NextSendTime string   `json:"next_send_time"`
	ScheduleType string   `json:"schedule_type"`
	ScheduleID   string   `json:"schedule_id"`
	DispatchID   string   `json:"dispatch_id"`
}

// scheduledBroadcasts serves GET /messages/scheduled_broadcasts?end_time=:
// the schedules still to run, due no later than end_time, earliest first.
func (s *Server) scheduledBroadcasts(r *http.Request) (int, any, error) {
	end := r.URL.Query().Get("end_time")
	if end == "" {
		return 0, nil, hookflow.Invalid("end_time", "is required (an ISO-8601 time such as 2026-03-01T12:00:00Z)")
	}
	until, err := parseScheduleTime("end_time", end)
	if err != nil {
		return 0, nil, err
	}
	scs, err := s.store.ListSchedules(r.Context(), hookflow.ScheduleFilter{
		State: hookflow.ScheduleScheduled, DueBefore: until,
	})
	if err != nil {
		return 0, nil, fmt.Errorf("listing schedules: %w", err)
	}

	out := []scheduledBroadcast{}
	for _, sc := range scs {
		b := scheduledBroadcast{
			ID: sc.ID, Type: "Message", Tags: []string{}, ScheduleType: "UTC",
			NextSendTime: sc.DueAt.Format(time.RFC3339Nano), ScheduleID: sc.ID, DispatchID: sc.DispatchID,
		}
		// A local-time schedule is listed at the instant it first occurs,
		// which is what end_time compares.
		if _, wall, err := splitLocalTime(sc.Request); err == nil && !wall.IsZero() {
			b.ScheduleType = "local_time_zones"
		}
		if sc.Kind == hookflow.ScheduleCampaign {
			b.ID, b.Type = sc.CampaignID, "Campaign"
			if c, err := s.store.GetCampaign(r.Context(), sc.CampaignID); err == nil {
				b.Name = c.Name
			}
		}
		out = append(out, b)
	}
	return http.StatusOK, map[string]any{"scheduled_broadcasts": out, "message": "success"}, nil
}
