package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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
	_, err := s.pool.Exec(ctx, `INSERT INTO schedules (`+scheduleColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		sc.ID, sc.Kind, sc.CampaignID, sc.DispatchID, string(sc.Request), sc.DueAt,
		sc.State, nullTime(sc.SentAt), diagnostic(sc.Error), sc.CreatedAt, sc.UpdatedAt)
	if err != nil {
		return fmt.Errorf("inserting schedule %s: %w", sc.ID, mapErr(err))
	}
	return nil
}

// UpdateSchedule replaces the request and due time of a scheduled schedule.
// A zero UpdatedAt is set to now. The row lock makes it wait for a leader
// running the schedule, and then see it sent.
func (s *Store) UpdateSchedule(ctx context.Context, sc *hookflow.Schedule) error {
	if sc.UpdatedAt.IsZero() {
		sc.UpdatedAt = now()
	}
	return s.inTx(ctx, func(t pgx.Tx) error {
		if err := scheduledOnly(ctx, t, sc.ID); err != nil {
			return fmt.Errorf("updating schedule %s: %w", sc.ID, err)
		}
		_, err := t.Exec(ctx, `UPDATE schedules SET request = $1, due_at = $2,
			updated_at = $3 WHERE id = $4`, string(sc.Request), sc.DueAt, sc.UpdatedAt, sc.ID)
		if err != nil {
			return fmt.Errorf("updating schedule %s: %w", sc.ID, mapErr(err))
		}
		return nil
	})
}

// CancelSchedule cancels a scheduled schedule; a cancelled one stays as it
// is.
func (s *Store) CancelSchedule(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(t pgx.Tx) error {
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
		_, err = t.Exec(ctx, `UPDATE schedules SET state = $1, updated_at = $2
			WHERE id = $3`, hookflow.ScheduleCancelled, at, id)
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

// scheduleState locks a schedule's row for the transaction and returns its
// state; ErrNotFound for an unknown one.
func scheduleState(ctx context.Context, q querier, id string) (string, error) {
	var state string
	err := q.QueryRow(ctx, `SELECT state FROM schedules WHERE id = $1 FOR UPDATE`, id).Scan(&state)
	return state, mapErr(err)
}

// GetSchedule returns the schedule with id.
func (s *Store) GetSchedule(ctx context.Context, id string) (*hookflow.Schedule, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = $1`, id)
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
		args = append(args, f.State)
		where = append(where, fmt.Sprintf("state = $%d", len(args)))
	}
	if !f.DueBefore.IsZero() {
		args = append(args, f.DueBefore)
		where = append(where, fmt.Sprintf("due_at <= $%d", len(args)))
	}
	q := `SELECT ` + scheduleColumns + ` FROM schedules`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY due_at, id`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return querySchedules(ctx, s.pool, q, args...)
}

// DueSchedules returns scheduled schedules due at now and locks them for
// the transaction. SKIP LOCKED makes a second leader, during the short
// overlap a hand-over allows, pass over the schedules the first is running
// rather than wait and run them again.
func (t *tx) DueSchedules(at time.Time, limit int) ([]*hookflow.Schedule, error) {
	return querySchedules(t.ctx, t.q, `SELECT `+scheduleColumns+` FROM schedules
		WHERE state = $1 AND due_at <= $2 ORDER BY due_at, id LIMIT $3
		FOR UPDATE SKIP LOCKED`, hookflow.ScheduleScheduled, at, limit)
}

// MarkScheduleSent ends a scheduled schedule as sent.
func (t *tx) MarkScheduleSent(id string, at time.Time, errMsg string) error {
	tag, err := t.q.Exec(t.ctx, `UPDATE schedules SET state = $1, sent_at = $2,
		error = $3, updated_at = $2 WHERE id = $4 AND state = $5`,
		hookflow.ScheduleSent, at, diagnostic(errMsg), id, hookflow.ScheduleScheduled)
	if err != nil {
		return fmt.Errorf("marking schedule %s sent: %w", id, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("marking schedule %s sent: %w", id, scheduledOnly(t.ctx, t.q, id))
	}
	return nil
}

func querySchedules(ctx context.Context, q querier, query string, args ...any) ([]*hookflow.Schedule, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing schedules: %w", err)
	}
	scs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookflow.Schedule, error) {
		return scanSchedule(r)
	})
	if err != nil {
		return nil, fmt.Errorf("listing schedules: %w", err)
	}
	return scs, nil
}

func scanSchedule(r pgx.Row) (*hookflow.Schedule, error) {
	var sc hookflow.Schedule
	var request string
	var sent pgtype.Timestamptz
	err := r.Scan(&sc.ID, &sc.Kind, &sc.CampaignID, &sc.DispatchID, &request, &sc.DueAt,
		&sc.State, &sent, &sc.Error, &sc.CreatedAt, &sc.UpdatedAt)
	if err != nil {
		return nil, err
	}
	sc.Request = []byte(request)
	sc.DueAt, sc.SentAt = utc(sc.DueAt), fromNull(sent)
	sc.CreatedAt, sc.UpdatedAt = utc(sc.CreatedAt), utc(sc.UpdatedAt)
	return &sc, nil
}
