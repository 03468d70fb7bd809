package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow"
)

// Replay sends deliveries again, as the contract says: the selection and
// the update run in one transaction, the selected rows locked, so two
// concurrent replays never requeue a delivery twice.
func (s *Store) Replay(ctx context.Context, f hookflow.ReplayFilter, now time.Time,
	dryRun bool, spacing time.Duration) (int, error) {
	var n int
	err := s.inTx(ctx, func(t pgx.Tx) error {
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

// replayable returns the IDs f selects, oldest first. The host is matched
// in Go on the parsed URL (hookflow.ReplayFilter.MatchesHost), as on every
// backend.
func replayable(ctx context.Context, t pgx.Tx, f hookflow.ReplayFilter) ([]string, error) {
	where, args := []string{`state = 'failed'`}, []any{}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.DeliveryID != "" {
		where[0] = `state IN ('failed', 'delivered')`
		add(`id = $%d`, f.DeliveryID)
	}
	if f.CampaignID != "" {
		add(`campaign_id = $%d`, f.CampaignID)
	}
	if f.Host != "" {
		where = append(where, `request_url IS NOT NULL`)
	}
	if f.Status != 0 {
		add(`last_status = $%d`, f.Status)
	}
	if !f.Since.IsZero() {
		add(`created_at >= $%d`, f.Since)
	}
	if !f.Until.IsZero() {
		add(`created_at < $%d`, f.Until)
	}

	// Only the deliveries' rows are locked: requeue changes nothing else.
	rows, err := t.Query(ctx, `SELECT id, request_url FROM `+withContent+` WHERE `+
		strings.Join(where, ` AND `)+` ORDER BY id FOR UPDATE OF deliveries`, args...)
	if err != nil {
		return nil, fmt.Errorf("selecting deliveries to replay: %w", mapErr(err))
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("selecting deliveries to replay: %w", mapErr(err))
		}
		if f.MatchesHost(string(raw)) {
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("selecting deliveries to replay: %w", mapErr(err))
	}
	return ids, nil
}

// whyNotReplayable explains why the named delivery matched nothing.
func whyNotReplayable(ctx context.Context, t pgx.Tx, id string) error {
	var state string
	err := t.QueryRow(ctx, `SELECT state FROM deliveries WHERE id = $1`, id).Scan(&state)
	if err != nil {
		return fmt.Errorf("replaying delivery %s: %w", id, mapErr(err))
	}
	if state == hookflow.StateFailed || state == hookflow.StateDelivered {
		return nil
	}
	return fmt.Errorf("replaying delivery %s: it is %s, and only failed or delivered deliveries can be replayed: %w",
		id, state, hookflow.ErrConflict)
}

// requeue makes the deliveries pending again, the i-th due at now +
// i*spacing.
func requeue(ctx context.Context, t pgx.Tx, ids []string, now time.Time, spacing time.Duration) error {
	due := make([]time.Time, len(ids))
	for i := range ids {
		due[i] = now.Add(time.Duration(i) * spacing)
	}
	_, err := t.Exec(ctx, `UPDATE deliveries d SET state = 'pending', due_at = v.due_at,
		lease_until = NULL, first_attempt_at = NULL, updated_at = $1
		FROM unnest($2::text[], $3::timestamptz[]) AS v(id, due_at)
		WHERE d.id = v.id AND d.state IN ('failed', 'delivered')`, planEachRun, now, ids, due)
	if err != nil {
		return fmt.Errorf("replaying deliveries: %w", mapErr(err))
	}
	return nil
}
