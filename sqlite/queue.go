package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookflow/hookflow"
)

// Defer returns claimed deliveries to the queue, pending at their new due
// times, without recording an attempt. Deliveries no longer sending (a
// lease lost meanwhile) are left alone.
func (s *Store) Defer(ctx context.Context, at time.Time, ds []hookflow.Deferral) error {
	if len(ds) == 0 {
		return nil
	}
	return s.inWrite(ctx, func(t *writeTx) error {
		return deferIn(ctx, t, at, ds)
	})
}

// deferIn runs Defer's statements in t.
func deferIn(ctx context.Context, t *writeTx, at time.Time, ds []hookflow.Deferral) error {
	rows := make([][]any, len(ds))
	for i, d := range ds {
		rows[i] = []any{d.DeliveryID, micros(d.DueAt), micros(at), micros(d.LeaseUntil)}
	}
	_, err := execRows(ctx, t, func(n int) string {
		return `UPDATE deliveries SET state = 'pending', due_at = v.column2,
			lease_until = 0, updated_at = v.column3
			FROM (VALUES ` + values(n, 4) + `) AS v
			WHERE deliveries.id = v.column1 AND deliveries.state = 'sending'
				AND (v.column4 = 0 OR deliveries.lease_until = v.column4)`
	}, rows)
	if err != nil {
		return fmt.Errorf("deferring deliveries: %w", mapErr(err))
	}
	return nil
}

// QueueStats counts the queue. Both counts walk the partial indexes of
// pending and sending rows, never the final ones.
func (s *Store) QueueStats(ctx context.Context, at time.Time) (hookflow.QueueStats, error) {
	var st hookflow.QueueStats
	var oldest sql.NullInt64
	nowUS := micros(at)
	err := s.read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND due_at <= ?),
		(SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND due_at > ?),
		(SELECT COUNT(*) FROM deliveries WHERE state = 'sending'),
		(SELECT MIN(due_at) FROM deliveries WHERE state = 'pending' AND due_at <= ?)`,
		nowUS, nowUS, nowUS).Scan(&st.Due, &st.Scheduled, &st.Sending, &oldest)
	if err != nil {
		return st, fmt.Errorf("counting the queue: %w", err)
	}
	if oldest.Valid {
		st.OldestDue = fromMicros(oldest.Int64)
	}
	return st, nil
}
