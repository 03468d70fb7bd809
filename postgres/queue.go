package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookflow/hookflow"
)

// Defer returns claimed deliveries to the queue, pending at their new due
// times, without recording an attempt. Deliveries no longer sending (a
// lease lost meanwhile) are left alone.
func (s *Store) Defer(ctx context.Context, at time.Time, ds []hookflow.Deferral) error {
	if len(ds) == 0 {
		return nil
	}
	return s.inTx(ctx, func(t pgx.Tx) error {
		return deferIn(ctx, t, at, ds)
	})
}

// deferIn runs Defer's statement in t.
func deferIn(ctx context.Context, t pgx.Tx, at time.Time, ds []hookflow.Deferral) error {
	ids := make([]string, len(ds))
	due := make([]time.Time, len(ds))
	leases := make([]*time.Time, len(ds))
	for i, d := range ds {
		ids[i], due[i], leases[i] = d.DeliveryID, d.DueAt, nullTime(d.LeaseUntil)
	}
	_, err := t.Exec(ctx, `UPDATE deliveries d SET state = 'pending', due_at = v.due_at,
		lease_until = NULL, updated_at = $1
		FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS v(id, due_at, lease)
		WHERE d.id = v.id AND d.state = 'sending'
			AND (v.lease IS NULL OR d.lease_until = v.lease)`, planEachRun, at, ids, due, leases)
	if err != nil {
		return fmt.Errorf("deferring deliveries: %w", mapErr(err))
	}
	return nil
}

// QueueStats counts the queue.
func (s *Store) QueueStats(ctx context.Context, at time.Time) (hookflow.QueueStats, error) {
	var st hookflow.QueueStats
	var oldest pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE state = 'pending' AND due_at <= $1),
		count(*) FILTER (WHERE state = 'pending' AND due_at > $1),
		count(*) FILTER (WHERE state = 'sending'),
		min(due_at) FILTER (WHERE state = 'pending' AND due_at <= $1)
		FROM deliveries WHERE state IN ('pending', 'sending')`, at).
		Scan(&st.Due, &st.Scheduled, &st.Sending, &oldest)
	if err != nil {
		return st, fmt.Errorf("counting the queue: %w", err)
	}
	st.OldestDue = fromNull(oldest)
	return st, nil
}
