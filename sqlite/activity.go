package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

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
	query += ` ORDER BY id DESC LIMIT ?`
	rows, err := s.read.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", err)
	}
	ds, err := collectDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries: %w", err)
	}
	return ds, nil
}

// deliveryWhere turns the set fields of f into SQL conditions.
func deliveryWhere(f hookflow.DeliveryFilter) ([]string, []any) {
	var where []string
	var args []any
	add := func(cond string, vals ...any) {
		where = append(where, cond)
		args = append(args, vals...)
	}
	if f.CampaignID != "" {
		add(`campaign_id = ?`, f.CampaignID)
	}
	if f.UserID != "" {
		// The external id resolves through the profile, which has an
		// index, so deliveries need none on it. A delivery enqueued
		// under an external id the user has since changed is found by
		// the new one.
		add(inSegments("deliveries")+` AND user_id IN (?, (SELECT id FROM users WHERE external_id = ?))`,
			f.UserID, f.UserID)
	}
	if f.State != "" {
		add(`state = ?`, f.State)
	}
	if f.DispatchID != "" {
		add(`dispatch_id = ?`, f.DispatchID)
	}
	if !f.Since.IsZero() {
		add(`created_at >= ?`, micros(f.Since))
	}
	if !f.Until.IsZero() {
		add(`created_at < ?`, micros(f.Until))
	}
	if f.Before != "" {
		add(`id < ?`, f.Before)
	}
	return where, args
}

// GetDelivery returns a delivery and its attempts, oldest first.
func (s *Store) GetDelivery(ctx context.Context, id string) (*hookflow.Delivery, []hookflow.Attempt, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM `+withContent+`
		WHERE id = ?`, id)
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
	rows, err := s.read.QueryContext(ctx, `SELECT number, started_at, duration_us,
		status, response_headers, response_body, truncated, error, error_kind
		FROM attempts WHERE delivery_id = ? ORDER BY number`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("reading attempts of delivery %s: %w", deliveryID, err)
	}
	defer rows.Close()

	var as []hookflow.Attempt
	for rows.Next() {
		a := hookflow.Attempt{DeliveryID: deliveryID}
		var started, durationUS int64
		var headers sql.NullString
		err := rows.Scan(&a.Number, &started, &durationUS, &a.Status, &headers,
			&a.ResponseBody, &a.Truncated, &a.Error, &a.ErrorKind)
		if err != nil {
			return nil, fmt.Errorf("reading attempts of delivery %s: %w", deliveryID, err)
		}
		a.StartedAt = fromMicros(started)
		a.Duration = time.Duration(durationUS) * time.Microsecond
		if err := decodeJSON(headers, &a.ResponseHeaders); err != nil {
			return nil, fmt.Errorf("reading attempts of delivery %s: %w", deliveryID, err)
		}
		if len(a.ResponseBody) == 0 {
			a.ResponseBody = nil
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

// LastSendAt returns when the user was last enqueued a delivery of the
// campaign that was not aborted or cancelled, among those tracked
// (deliveries_tracked, migration 8).
func (t *tx) LastSendAt(campaignID, userID string) (time.Time, bool, error) {
	var last sql.NullInt64
	err := t.q.QueryRowContext(t.ctx, lastSendSQL, campaignID, userID).Scan(&last)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading last send of campaign %s: %w", campaignID, err)
	}
	if !last.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(last.Int64), true, nil
}

// lastSendSQL is LastSendAt's query.
const lastSendSQL = `SELECT MAX(created_at) FROM deliveries
	WHERE tracked = 1 AND campaign_id = ? AND user_id = ?
	AND state NOT IN ('aborted', 'cancelled')`

// cancelPendingSQL is CancelPending's statement; deliveries_tracked
// (migration 8) holds the deliveries it may cancel.
const cancelPendingSQL = `UPDATE deliveries SET state = 'cancelled',
	abort_reason = ?, updated_at = ?
	WHERE tracked = 1 AND campaign_id = ? AND user_id = ? AND state = 'pending' AND attempts = 0`

// CancelPending cancels the user's pending deliveries of the campaign that
// have made no attempt, recording reason in abort_reason, among those
// tracked; it returns how many it cancelled. Retries (attempts > 0) and
// claimed sends are left alone.
func (t *tx) CancelPending(campaignID, userID, reason string, at time.Time) (int, error) {
	res, err := t.q.ExecContext(t.ctx, cancelPendingSQL, reason, micros(at), campaignID, userID)
	if err != nil {
		return 0, fmt.Errorf("cancelling deliveries of campaign %s: %w", campaignID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
