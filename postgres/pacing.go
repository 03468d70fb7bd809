package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookflow/hookflow"
)

// PaceClaimed applies a campaign's delivery-speed limit to deliveries the
// caller claimed, in one transaction. Its first statement upserts the
// campaign's pacing row, which locks it until commit: a concurrent caller
// for the same campaign, on any node, waits there and then reads the slots
// this one reserved, so no slot is handed out twice. Callers for other
// campaigns do not wait.
func (s *Store) PaceClaimed(ctx context.Context, at time.Time, campaignID string, perMinute int,
	ds []*hookflow.Delivery) ([]hookflow.PaceDecision, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	var decisions []hookflow.PaceDecision
	err := s.inTx(ctx, func(t pgx.Tx) error {
		p, err := lockPacing(ctx, t, campaignID)
		if err != nil {
			return err
		}
		claims, err := heldSlots(ctx, t, ds)
		if err != nil {
			return err
		}

		var next hookflow.Pacing
		next, decisions = hookflow.Pace(at, p, perMinute, claims)
		_, err = t.Exec(ctx, `UPDATE campaign_pacing SET last_sent = $2, last_reserved = $3
			WHERE campaign_id = $1`, campaignID, nullTime(next.LastSent), nullTime(next.LastReserved))
		if err != nil {
			return fmt.Errorf("pacing campaign %s: %w", campaignID, err)
		}
		return storeDecisions(ctx, t, at, campaignID, perMinute, ds, decisions)
	})
	if err != nil {
		return nil, err
	}
	return decisions, nil
}

// lockPacing reads a campaign's pacing row, creating it if needed, and
// holds its lock for the rest of the transaction.
func lockPacing(ctx context.Context, t pgx.Tx, campaignID string) (hookflow.Pacing, error) {
	var sent, reserved pgtype.Timestamptz
	err := t.QueryRow(ctx, `INSERT INTO campaign_pacing (campaign_id) VALUES ($1)
		ON CONFLICT (campaign_id) DO UPDATE SET campaign_id = excluded.campaign_id
		RETURNING last_sent, last_reserved`, campaignID).Scan(&sent, &reserved)
	if err != nil {
		return hookflow.Pacing{}, fmt.Errorf("reading pacing of campaign %s: %w", campaignID, mapErr(err))
	}
	return hookflow.Pacing{LastSent: fromNull(sent), LastReserved: fromNull(reserved)}, nil
}

// heldSlots returns ds as pacing claims, each with the slot it holds for
// its next attempt.
func heldSlots(ctx context.Context, t pgx.Tx, ds []*hookflow.Delivery) ([]hookflow.PaceClaim, error) {
	rows, err := t.Query(ctx, `SELECT delivery_id, attempt, slot_at FROM pacing_holds
		WHERE delivery_id = ANY($1)`, idsOf(ds))
	if err != nil {
		return nil, fmt.Errorf("reading held slots: %w", err)
	}
	defer rows.Close()
	type hold struct {
		attempt int
		slot    time.Time
	}
	holds := map[string]hold{}
	for rows.Next() {
		var id string
		var h hold
		if err := rows.Scan(&id, &h.attempt, &h.slot); err != nil {
			return nil, fmt.Errorf("reading held slots: %w", err)
		}
		holds[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading held slots: %w", err)
	}

	claims := make([]hookflow.PaceClaim, len(ds))
	for i, d := range ds {
		claims[i].DeliveryID = d.ID
		// A hold for an earlier attempt was used up by that attempt.
		if h, ok := holds[d.ID]; ok && h.attempt == d.Attempts+1 {
			claims[i].Held = utc(h.slot)
		}
	}
	return claims, nil
}

// storeDecisions writes what Pace decided: holds for the deliveries that
// wait, which go back to the queue due at their slots, and the end of the
// aborted ones. Every other hold of these deliveries is used up, and the
// campaign's expired holds are dropped; both are rows no other caller can
// be writing, as holds are written only under the campaign's pacing lock.
func storeDecisions(ctx context.Context, t pgx.Tx, at time.Time, campaignID string, perMinute int,
	ds []*hookflow.Delivery, decisions []hookflow.PaceDecision) error {
	if _, err := t.Exec(ctx, `DELETE FROM pacing_holds
		WHERE delivery_id = ANY($1) OR (campaign_id = $2 AND slot_at < $3)`,
		idsOf(ds), campaignID, at.Add(-hookflow.PaceHoldExpiry)); err != nil {
		return fmt.Errorf("clearing held slots: %w", err)
	}

	var (
		waitIDs, abortIDs []string
		slots             []time.Time
		attempts          []int32
	)
	for i, dec := range decisions {
		switch dec.Action {
		case hookflow.PaceWait:
			waitIDs = append(waitIDs, dec.DeliveryID)
			slots = append(slots, dec.Slot)
			attempts = append(attempts, int32(ds[i].Attempts+1))
		case hookflow.PaceAbort:
			abortIDs = append(abortIDs, dec.DeliveryID)
		}
	}
	if len(waitIDs) > 0 {
		if _, err := t.Exec(ctx, `INSERT INTO pacing_holds (delivery_id, campaign_id, attempt, slot_at)
			SELECT v.id, $1, v.attempt, v.slot_at
			FROM unnest($2::text[], $3::integer[], $4::timestamptz[]) AS v(id, attempt, slot_at)`,
			campaignID, waitIDs, attempts, slots); err != nil {
			return fmt.Errorf("holding slots: %w", mapErr(err))
		}
		if _, err := t.Exec(ctx, `UPDATE deliveries d SET state = 'pending', due_at = v.due_at,
			lease_until = NULL, updated_at = $1
			FROM unnest($2::text[], $3::timestamptz[]) AS v(id, due_at)
			WHERE d.id = v.id AND d.state = 'sending'`, planEachRun, at, waitIDs, slots); err != nil {
			return fmt.Errorf("deferring paced deliveries: %w", mapErr(err))
		}
	}
	if len(abortIDs) > 0 {
		if _, err := t.Exec(ctx, `UPDATE deliveries SET state = 'aborted', abort_reason = $1,
			lease_until = NULL, updated_at = $2
			WHERE id = ANY($3) AND state = 'sending'`,
			hookflow.PaceAbortReason(perMinute), at, abortIDs); err != nil {
			return fmt.Errorf("aborting paced deliveries: %w", mapErr(err))
		}
	}
	return nil
}

// ReleasePaced makes the campaign's waiting deliveries due now and gives
// their slots back, under the pacing lock like PaceClaimed.
func (s *Store) ReleasePaced(ctx context.Context, at time.Time, campaignID string) error {
	return s.inTx(ctx, func(t pgx.Tx) error {
		p, err := lockPacing(ctx, t, campaignID)
		if err != nil {
			return err
		}
		p = p.Release()
		if _, err := t.Exec(ctx, `UPDATE campaign_pacing SET last_reserved = $2
			WHERE campaign_id = $1`, campaignID, nullTime(p.LastReserved)); err != nil {
			return fmt.Errorf("releasing pacing of campaign %s: %w", campaignID, err)
		}
		if _, err := t.Exec(ctx, `UPDATE deliveries SET due_at = $1, updated_at = $1
			WHERE state = 'pending' AND due_at > $1 AND id IN
			(SELECT delivery_id FROM pacing_holds WHERE campaign_id = $2)`, at, campaignID); err != nil {
			return fmt.Errorf("releasing paced deliveries of campaign %s: %w", campaignID, err)
		}
		if _, err := t.Exec(ctx, `DELETE FROM pacing_holds WHERE campaign_id = $1`, campaignID); err != nil {
			return fmt.Errorf("releasing held slots of campaign %s: %w", campaignID, err)
		}
		return nil
	})
}

func idsOf(ds []*hookflow.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}
