package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookflow/hookflow"
)

// Limits of ListDeliveries.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// ListDeliveries returns the deliveries f selects, newest first (by ID, which
// UUIDv7 makes time-ordered). Limit defaults to 100 and is capped at 1000.
func (s *Store) ListDeliveries(ctx context.Context, f hookflow.DeliveryFilter) ([]*hookflow.Delivery, error) {
	where, args := deliveryWhere(f)
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	limit = min(limit, maxListLimit)

	query := `SELECT ` + deliveryColumns + ` FROM ` + withContent
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, limit)
	query += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", mapErr(err))
	}
	ds, err := collectDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", mapErr(err))
	}
	return ds, nil
}

// deliveryWhere turns the set fields of f into SQL conditions numbering
// their parameters from $1.
func deliveryWhere(f hookflow.DeliveryFilter) ([]string, []any) {
	var where []string
	var args []any
	add := func(cond string, val any) {
		args = append(args, val)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if f.CampaignID != "" {
		add(`campaign_id = $?`, f.CampaignID)
	}
	if f.UserID != "" {
		// The external id resolves through the profile, which has an
		// index, so deliveries need none on it. A delivery enqueued
		// under an external id the user has since changed is found by
		// the new one.
		add(`user_id IN ($?, (SELECT id FROM users WHERE external_id = $?))`, f.UserID)
	}
	if f.State != "" {
		add(`state = $?`, f.State)
	}
	if f.DispatchID != "" {
		add(`dispatch_id = $?`, f.DispatchID)
	}
	if !f.Since.IsZero() {
		add(`created_at >= $?`, f.Since)
	}
	if !f.Until.IsZero() {
		add(`created_at < $?`, f.Until)
	}
	if f.Before != "" {
		add(`id < $?`, f.Before)
	}
	return where, args
}

// GetDelivery returns a delivery and its attempts, oldest first.
func (s *Store) GetDelivery(ctx context.Context, id string) (*hookflow.Delivery, []hookflow.Attempt, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM `+withContent+`
		WHERE id = $1`, id)
	d, err := scanDelivery(row)
	if err != nil {
		return nil, nil, fmt.Errorf("reading delivery %s: %w", id, mapErr(err))
	}
	as, err := s.attempts(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return d, as, nil
}

func (s *Store) attempts(ctx context.Context, deliveryID string) ([]hookflow.Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT number, started_at, duration_us,
		status, response_headers, response_body, truncated, error, error_kind
		FROM attempts WHERE delivery_id = $1 ORDER BY number`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("reading attempts of delivery %s: %w", deliveryID, err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hookflow.Attempt, error) {
		a := hookflow.Attempt{DeliveryID: deliveryID}
		var durationUS int64
		var headers *string
		err := r.Scan(&a.Number, &a.StartedAt, &durationUS, &a.Status, &headers,
			&a.ResponseBody, &a.Truncated, &a.Error, &a.ErrorKind)
		if err != nil {
			return a, err
		}
		a.StartedAt = utc(a.StartedAt)
		a.Duration = time.Duration(durationUS) * time.Microsecond
		if len(a.ResponseBody) == 0 {
			a.ResponseBody = nil
		}
		return a, decodeDoc(headers, &a.ResponseHeaders)
	})
	if err != nil {
		return nil, fmt.Errorf("reading attempts of delivery %s: %w", deliveryID, err)
	}
	if len(as) == 0 {
		return nil, nil
	}
	return as, nil
}

// LastSendAt returns when the user was last enqueued a delivery of the
// campaign that was not aborted or cancelled.
func (t *tx) LastSendAt(campaignID, userID string) (time.Time, bool, error) {
	var last pgtype.Timestamptz
	err := t.q.QueryRow(t.ctx, `SELECT max(created_at) FROM deliveries
		WHERE campaign_id = $1 AND user_id = $2 AND state NOT IN ('aborted', 'cancelled')`,
		campaignID, userID).Scan(&last)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading last send of campaign %s: %w",
			campaignID, mapErr(err))
	}
	if !last.Valid {
		return time.Time{}, false, nil
	}
	return utc(last.Time), true, nil
}

// CancelPending cancels the user's pending deliveries of the campaign that
// have made no attempt, recording reason in abort_reason; it returns how
// many it cancelled. Retries (attempts > 0) and claimed sends are left alone.
func (t *tx) CancelPending(campaignID, userID, reason string, at time.Time) (int, error) {
	tag, err := t.q.Exec(t.ctx, `UPDATE deliveries SET state = 'cancelled',
		abort_reason = $1, updated_at = $2
		WHERE campaign_id = $3 AND user_id = $4 AND state = 'pending' AND attempts = 0`,
		diagnostic(reason), at, campaignID, userID)
	if err != nil {
		return 0, fmt.Errorf("cancelling deliveries of campaign %s: %w", campaignID, mapErr(err))
	}
	return int(tag.RowsAffected()), nil
}
