package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/trigger"
)

// defaultSchedulePoll is how often RunSchedules looks for due schedules
// when Config.SchedulePoll is zero. It bounds how late a schedule created
// on another node (or due by a clock that jumped) goes out.
const defaultSchedulePoll = time.Second

// RunSchedules runs due schedules until ctx is done: it wakes at the
// earliest schedule's due time, when this Server creates or moves one, and
// at least every Config.SchedulePoll, and expands each due schedule through
// the same path as /campaigns/trigger/send and /messages/send, marking it
// sent in the same transaction. Run it on one node at a time (on PostgreSQL
// under Store.Lead); a second runner during a hand-over skips the schedules
// the first holds and never runs one twice.
func (s *Server) RunSchedules(ctx context.Context) {
	poll := s.SchedulePoll
	if poll <= 0 {
		poll = defaultSchedulePoll
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.scheduleWake:
		}
		s.runDueSchedules(ctx)
		timer.Reset(s.nextScheduleWait(ctx, poll))
	}
}

// wakeSchedules tells RunSchedules that a schedule was created or moved.
func (s *Server) wakeSchedules() {
	select {
	case s.scheduleWake <- struct{}{}:
	default:
	}
}

// nextScheduleWait returns how long to sleep: until the earliest
// scheduled schedule is due, at most poll.
func (s *Server) nextScheduleWait(ctx context.Context, poll time.Duration) time.Duration {
	next, err := s.store.ListSchedules(ctx, hookflow.ScheduleFilter{State: hookflow.ScheduleScheduled, Limit: 1})
	if err != nil || len(next) == 0 {
		return poll
	}
	return max(0, min(poll, next[0].DueAt.Sub(s.clock.Now())))
}

// runDueSchedules runs due schedules one transaction each until none is
// due. A schedule that fails for a reason other than its request or its
// campaign (the store) stops the round; the next round tries it again.
func (s *Server) runDueSchedules(ctx context.Context) {
	for ctx.Err() == nil {
		ran, err := s.runOneSchedule(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("running schedules failed", "err", err)
			}
			return
		}
		if !ran {
			return
		}
	}
}

// runOneSchedule takes the earliest due schedule, expands it into
// deliveries and marks it sent, all in one transaction: if the process
// dies before the commit, nothing of it is kept and the next leader runs
// it; after the commit it is sent and no one runs it again.
func (s *Server) runOneSchedule(ctx context.Context) (bool, error) {
	var (
		sc      *hookflow.Schedule
		res     *trigger.SendResult
		failure string
	)
	err := s.store.Update(ctx, func(tx hookflow.Tx) error {
		// The store may run this function again (store.go): each run
		// starts from nothing.
		sc, res, failure = nil, nil, ""
		now := s.clock.Now()
		due, err := tx.DueSchedules(now, 1)
		if err != nil || len(due) == 0 {
			return err
		}
		sc = due[0]
		res, err = s.expandSchedule(ctx, tx, sc, now)
		if msg, ok := refusal(err); ok {
			res, failure = nil, msg
		} else if err != nil {
			return fmt.Errorf("running schedule %s: %w", sc.ID, err)
		}
		return tx.MarkScheduleSent(sc.ID, now, failure)
	})
	if err != nil || sc == nil {
		return false, err
	}

	if failure != "" {
		s.log.Warn("schedule sent nothing", "schedule_id", sc.ID, "dispatch_id", sc.DispatchID,
			"campaign_id", sc.CampaignID, "err", failure)
		return true, nil
	}
	s.enqueued(res.Origin, res.Enqueued)
	s.log.Info("schedule sent", "schedule_id", sc.ID, "dispatch_id", sc.DispatchID,
		"count", res.Enqueued, "skipped", res.Skipped, "refused", len(res.Errors))
	return true, nil
}

// expandSchedule enqueues a schedule's deliveries under its dispatch id.
// Its request is validated again: the campaign, the destination guard or
// the signing rules may have changed since it was created.
func (s *Server) expandSchedule(ctx context.Context, tx hookflow.Tx, sc *hookflow.Schedule,
	now time.Time) (*trigger.SendResult, error) {
	body, wall, err := splitLocalTime(sc.Request)
	if err != nil {
		return nil, err
	}
	var dueAt func(u *hookflow.User) time.Time
	if !wall.IsZero() {
		since := sc.UpdatedAt
		if since.IsZero() {
			since = sc.CreatedAt
		}
		dueAt = localDueAt(wall, since)
	}
	switch sc.Kind {
	case hookflow.ScheduleCampaign:
		var req triggerSendRequest
		if err := decodeBytes(body, &req); err != nil {
			return nil, err
		}
		send, err := s.checkTriggerSend(req)
		if err != nil {
			return nil, err
		}
		send.DispatchID, send.DueAt = sc.DispatchID, dueAt
		return s.sendCampaign(tx, req.CampaignID, send)
	case hookflow.ScheduleMessage:
		var req messagesSendRequest
		if err := decodeBytes(body, &req); err != nil {
			return nil, err
		}
		w, send, err := s.checkMessagesSend(ctx, req)
		if err != nil {
			return nil, err
		}
		send.DispatchID, send.DueAt = sc.DispatchID, dueAt
		return s.messageSend(tx, w, send)
	}
	return nil, hookflow.Invalid("kind", "unknown schedule kind %q", sc.Kind)
}

// refusal reports whether err refuses the schedule itself (its request or
// its campaign), which no retry would change, and the message a caller
// would have seen. Such errors come before any write of the transaction.
func refusal(err error) (string, bool) {
	var (
		ae *Error
		ve *hookflow.ValidationError
	)
	switch {
	case errors.As(err, &ae):
		return ae.Message, true
	case errors.As(err, &ve):
		return ve.Error(), true
	}
	return "", false
}
