package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

const scheduleColumns = `id, kind, campaign_id, dispatch_id, request, due_at, state,
	sent_at, error, created_at, updated_at`

// CreateSchedule stores sc; ErrConflict if its ID or dispatch ID is taken.
// Zero CreatedAt and UpdatedAt are set to now.
func (s *Store) CreateSchedule(ctx context.Context, sc *hookflow.Schedule) error {
	if sc.CreatedAt.IsZero() {
		sc.CreatedAt = now()
	}
	if sc.UpdatedAt.IsZero() {
		sc.UpdatedAt = sc.CreatedAt
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO schedules (`+scheduleColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sc.ID, sc.Kind, sc.CampaignID, sc.DispatchID, string(sc.Request), micros(sc.DueAt),
		sc.State, micros(sc.SentAt), sc.Error, micros(sc.CreatedAt), micros(sc.UpdatedAt))
	if err != nil {
		return fmt.Errorf("inserting schedule %s: %w", sc.ID, mapErr(err))
	}
	return nil
}

// UpdateSchedule replaces the request and due time of a scheduled schedule.
// A zero UpdatedAt is set to now.
func (s *Store) UpdateSchedule(ctx context.Context, sc *hookflow.Schedule) error {
	if sc.UpdatedAt.IsZero() {
		sc.UpdatedAt = now()
	}
	return s.inWrite(ctx, func(t *writeTx) error {
		if err := scheduledOnly(ctx, t, sc.ID); err != nil {
			return fmt.Errorf("updating schedule %s: %w", sc.ID, err)
		}
		_, err := t.ExecContext(ctx, `UPDATE schedules SET request = ?, due_at = ?,
			updated_at = ? WHERE id = ?`,
			string(sc.Request), micros(sc.DueAt), micros(sc.UpdatedAt), sc.ID)
		if err != nil {
			return fmt.Errorf("updating schedule %s: %w", sc.ID, mapErr(err))
		}
		return nil
	})
}

// CancelSchedule cancels a scheduled schedule; a cancelled one stays as it
// is.
func (s *Store) CancelSchedule(ctx context.Context, id string, at time.Time) error {
	return s.inWrite(ctx, func(t *writeTx) error {
		state, err := scheduleState(ctx, t, id)
		if err != nil {
			return fmt.Errorf("cancelling schedule %s: %w", id, err)
		}
		switch state {
		case hookflow.ScheduleCancelled:
			return nil
		case hookflow.ScheduleSent:
			return fmt.Errorf("cancelling schedule %s: %w: schedule is sent", id, hookflow.ErrConflict)
		}
		_, err = t.ExecContext(ctx, `UPDATE schedules SET state = ?, updated_at = ?
			WHERE id = ?`, hookflow.ScheduleCancelled, micros(at), id)
		if err != nil {
			return fmt.Errorf("cancelling schedule %s: %w", id, mapErr(err))
		}
		return nil
	})
}

// scheduledOnly returns ErrNotFound for an unknown schedule and
// ErrConflict, naming its state, for one no longer scheduled.
func scheduledOnly(ctx context.Context, q querier, id string) error {
	state, err := scheduleState(ctx, q, id)
	if err != nil {
		return err
	}
	if state != hookflow.ScheduleScheduled {
		return fmt.Errorf("%w: schedule is %s", hookflow.ErrConflict, state)
	}
	return nil
}

// scheduleState returns a schedule's state; ErrNotFound for an unknown one.
func scheduleState(ctx context.Context, q querier, id string) (string, error) {
	var state string
	err := q.QueryRowContext(ctx, `SELECT state FROM schedules WHERE id = ?`, id).Scan(&state)
	return state, mapErr(err)
}

// GetSchedule returns the schedule with id.
func (s *Store) GetSchedule(ctx context.Context, id string) (*hookflow.Schedule, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules
		WHERE id = ?`, id)
	sc, err := scanSchedule(row)
	if err != nil {
		return nil, fmt.Errorf("reading schedule %s: %w", id, mapErr(err))
	}
	return sc, nil
}

// ListSchedules returns the schedules f selects, earliest due first.
func (s *Store) ListSchedules(ctx context.Context, f hookflow.ScheduleFilter) ([]*hookflow.Schedule, error) {
	var where []string
	var args []any
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, f.State)
	}
	if !f.DueBefore.IsZero() {
		where, args = append(where, "due_at <= ?"), append(args, micros(f.DueBefore))
	}
	q := `SELECT ` + scheduleColumns + ` FROM schedules`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY due_at, id`
	if f.Limit > 0 {
		// A parameter, not the number in the text, so that every limit
		// shares one kept statement.
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	return querySchedules(ctx, s.read, q, args...)
}

// DueSchedules returns scheduled schedules due at now. SQLite has one
// writer at a time, so the write transaction alone keeps another from
// running them too.
func (t *tx) DueSchedules(at time.Time, limit int) ([]*hookflow.Schedule, error) {
	return querySchedules(t.ctx, t.q, `SELECT `+scheduleColumns+` FROM schedules
		WHERE state = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?`,
		hookflow.ScheduleScheduled, micros(at), limit)
}

// MarkScheduleSent ends a scheduled schedule as sent.
func (t *tx) MarkScheduleSent(id string, at time.Time, errMsg string) error {
	res, err := t.q.ExecContext(t.ctx, `UPDATE schedules SET state = ?, sent_at = ?,
		error = ?, updated_at = ? WHERE id = ? AND state = ?`,
		hookflow.ScheduleSent, micros(at), errMsg, micros(at), id, hookflow.ScheduleScheduled)
	if err != nil {
		return fmt.Errorf("marking schedule %s sent: %w", id, mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("marking schedule %s sent: %w", id, scheduledOnly(t.ctx, t.q, id))
	}
	return nil
}

func querySchedules(ctx context.Context, q querier, query string, args ...any) ([]*hookflow.Schedule, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing schedules: %w", err)
	}
	defer rows.Close()

	var scs []*hookflow.Schedule
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("listing schedules: %w", err)
		}
		scs = append(scs, sc)
	}
	return scs, rows.Err()
}

func scanSchedule(r scanner) (*hookflow.Schedule, error) {
	var sc hookflow.Schedule
	var request string
	var due, sent, created, updated int64
	err := r.Scan(&sc.ID, &sc.Kind, &sc.CampaignID, &sc.DispatchID, &request, &due,
		&sc.State, &sent, &sc.Error, &created, &updated)
	if err != nil {
		return nil, err
	}
	sc.Request = []byte(request)
	sc.DueAt, sc.SentAt = fromMicros(due), fromMicros(sent)
	sc.CreatedAt, sc.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &sc, nil
}
