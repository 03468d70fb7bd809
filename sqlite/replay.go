package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow"
)

// Replay sends deliveries again: those f selects become pending with the
// same ID and stored request, and returns how many matched. A dry run only
// counts them. Due times start at now and are spacing apart, oldest
// delivery first, which is how a bulk replay is rate-limited: the queue
// lets the sender have them no faster than that.
//
// Attempts are kept, so the attempt log grows and new attempt numbers follow
// the last; FirstAttemptAt is reset, so the retry window starts again at
// the first new attempt; LastStatus and LastError stay until it is made.
//
// In bulk only failed deliveries are replayed. f.DeliveryID names one
// delivery, which may also be delivered; ErrNotFound if it does not exist,
// ErrConflict if it is in another state. Selecting and updating happen in
// one write transaction, so a delivery is never replayed twice by two
// concurrent calls, nor replayed while a sender holds it.
func (s *Store) Replay(ctx context.Context, f hookflow.ReplayFilter, now time.Time,
	dryRun bool, spacing time.Duration) (int, error) {
	var n int
	err := s.inWrite(ctx, func(t *writeTx) error {
		ids, err := replayable(ctx, t, f)
		if err != nil {
			return err
		}
		if len(ids) == 0 && f.DeliveryID != "" {
			return whyNotReplayable(ctx, t, f.DeliveryID)
		}
		n = len(ids)
		if dryRun || n == 0 {
			return nil
		}
		return requeue(ctx, t, ids, now, spacing)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// replayable returns the IDs of the deliveries f selects, oldest first.
// Every condition but the host's is SQL; the host is parsed from the stored
// URL in Go, because SQLite has no URL parser and a LIKE on the text would
// match "example.com" inside "notexample.com".
func replayable(ctx context.Context, t *writeTx, f hookflow.ReplayFilter) ([]string, error) {
	where, args := replayWhere(f)
	rows, err := t.QueryContext(ctx, `SELECT id, request_url FROM `+withContent+`
		WHERE `+strings.Join(where, ` AND `)+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("selecting deliveries to replay: %w", mapErr(err))
	}
	defer rows.Close()

	var ids []string
	for rows.Next() {
		var id string
		var raw sql.NullString
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("selecting deliveries to replay: %w", mapErr(err))
		}
		if f.MatchesHost(raw.String) {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("selecting deliveries to replay: %w", mapErr(err))
	}
	return ids, nil
}

// replayWhere turns f into SQL conditions. IDs are UUIDv7, so ordering by
// ID is ordering by age.
func replayWhere(f hookflow.ReplayFilter) ([]string, []any) {
	where := []string{`state = 'failed'`}
	var args []any
	add := func(cond string, vals ...any) {
		where = append(where, cond)
		args = append(args, vals...)
	}
	if f.DeliveryID != "" {
		where[0] = `state IN ('failed', 'delivered')`
		add(`id = ?`, f.DeliveryID)
	}
	if f.CampaignID != "" {
		add(`campaign_id = ?`, f.CampaignID)
	}
	if f.Host != "" {
		// A delivery whose template failed to render has no URL, so no
		// host to match.
		add(`request_url IS NOT NULL`)
	}
	if f.Status != 0 {
		add(`last_status = ?`, f.Status)
	}
	if !f.Since.IsZero() {
		add(`created_at >= ?`, micros(f.Since))
	}
	if !f.Until.IsZero() {
		add(`created_at < ?`, micros(f.Until))
	}
	return where, args
}

// whyNotReplayable explains why the named delivery matched nothing.
func whyNotReplayable(ctx context.Context, t *writeTx, id string) error {
	var state string
	err := t.QueryRowContext(ctx, `SELECT state FROM deliveries WHERE id = ?`, id).Scan(&state)
	if err != nil {
		return fmt.Errorf("replaying delivery %s: %w", id, mapErr(err))
	}
	if state == hookflow.StateFailed || state == hookflow.StateDelivered {
		// It exists in a replayable state, so another filter excluded it.
		return nil
	}
	return fmt.Errorf("replaying delivery %s: it is %s, and only failed or delivered deliveries can be replayed: %w",
		id, state, hookflow.ErrConflict)
}

// requeue makes the deliveries pending again, the i-th due at now +
// i*spacing. The state condition is repeated so the update is right even
// if the caller's selection were stale.
func requeue(ctx context.Context, t *writeTx, ids []string, now time.Time, spacing time.Duration) error {
	rows := make([][]any, len(ids))
	for i, id := range ids {
		rows[i] = []any{id, micros(now.Add(time.Duration(i) * spacing)), micros(now)}
	}
	_, err := execRows(ctx, t, func(n int) string {
		return `UPDATE deliveries SET state = 'pending', due_at = v.column2,
			lease_until = 0, first_attempt_at = 0, updated_at = v.column3
			FROM (VALUES ` + values(n, 3) + `) AS v
			WHERE deliveries.id = v.column1 AND deliveries.state IN ('failed', 'delivered')`
	}, rows)
	if err != nil {
		return fmt.Errorf("replaying deliveries: %w", mapErr(err))
	}
	return nil
}
