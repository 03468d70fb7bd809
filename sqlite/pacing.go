package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookflow/hookflow"
)

// PaceClaimed applies a campaign's delivery-speed limit to deliveries the
// caller claimed, in one write transaction. SQLite has one writer, so
// callers reserve one at a time; the upsert that reads the pacing row is
// the same statement the PostgreSQL store locks the row with.
func (s *Store) PaceClaimed(ctx context.Context, at time.Time, campaignID string, perMinute int,
	ds []*hookflow.Delivery) ([]hookflow.PaceDecision, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	var decisions []hookflow.PaceDecision
	err := s.inWrite(ctx, func(t *writeTx) error {
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
		_, err = t.ExecContext(ctx, `UPDATE campaign_pacing SET last_sent = ?, last_reserved = ?
			WHERE campaign_id = ?`, micros(next.LastSent), micros(next.LastReserved), campaignID)
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

// lockPacing reads a campaign's pacing row, creating it if needed.
func lockPacing(ctx context.Context, t *writeTx, campaignID string) (hookflow.Pacing, error) {
	var sent, reserved int64
	err := t.QueryRowContext(ctx, `INSERT INTO campaign_pacing (campaign_id) VALUES (?)
		ON CONFLICT (campaign_id) DO UPDATE SET campaign_id = excluded.campaign_id
		RETURNING last_sent, last_reserved`, campaignID).Scan(&sent, &reserved)
	if err != nil {
		return hookflow.Pacing{}, fmt.Errorf("reading pacing of campaign %s: %w", campaignID, mapErr(err))
	}
	return hookflow.Pacing{LastSent: fromMicros(sent), LastReserved: fromMicros(reserved)}, nil
}

// heldSlots returns ds as pacing claims, each with the slot it holds for
// its next attempt.
func heldSlots(ctx context.Context, t *writeTx, ds []*hookflow.Delivery) ([]hookflow.PaceClaim, error) {
	ids, err := idList(ds)
	if err != nil {
		return nil, err
	}
	rows, err := t.QueryContext(ctx, `SELECT delivery_id, attempt, slot_at FROM pacing_holds
		WHERE delivery_id IN (SELECT value FROM json_each(?))`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading held slots: %w", err)
	}
	defer rows.Close()
	type hold struct {
		attempt int
		slot    int64
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
			claims[i].Held = fromMicros(h.slot)
		}
	}
	return claims, nil
}

// storeDecisions writes what Pace decided: holds for the deliveries that
// wait, which go back to the queue due at their slots, and the end of the
// aborted ones. Every other hold of these deliveries is used up, and
// the campaign's expired holds are dropped.
func storeDecisions(ctx context.Context, t *writeTx, at time.Time, campaignID string, perMinute int,
	ds []*hookflow.Delivery, decisions []hookflow.PaceDecision) error {
	ids, err := idList(ds)
	if err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, `DELETE FROM pacing_holds
		WHERE delivery_id IN (SELECT value FROM json_each(?))
		OR (campaign_id = ? AND slot_at < ?)`,
		ids, campaignID, micros(at.Add(-hookflow.PaceHoldExpiry))); err != nil {
		return fmt.Errorf("clearing held slots: %w", err)
	}

	reason := hookflow.PaceAbortReason(perMinute)
	var holds, waits, aborts [][]any
	for i, dec := range decisions {
		switch dec.Action {
		case hookflow.PaceWait:
			holds = append(holds, []any{dec.DeliveryID, campaignID, ds[i].Attempts + 1, micros(dec.Slot)})
			waits = append(waits, []any{dec.DeliveryID, micros(dec.Slot), micros(at)})
		case hookflow.PaceAbort:
			aborts = append(aborts, []any{dec.DeliveryID, reason, micros(at)})
		}
	}
	if _, err := execRows(ctx, t, func(n int) string {
		return `INSERT INTO pacing_holds (delivery_id, campaign_id, attempt, slot_at) VALUES ` + values(n, 4)
	}, holds); err != nil {
		return fmt.Errorf("holding slots: %w", mapErr(err))
	}
	if _, err := execRows(ctx, t, func(n int) string {
		return `UPDATE deliveries SET state = 'pending', due_at = v.column2,
			lease_until = 0, updated_at = v.column3
			FROM (VALUES ` + values(n, 3) + `) AS v
			WHERE deliveries.id = v.column1 AND deliveries.state = 'sending'`
	}, waits); err != nil {
		return fmt.Errorf("deferring paced deliveries: %w", mapErr(err))
	}
	if _, err := execRows(ctx, t, func(n int) string {
		return `UPDATE deliveries SET state = 'aborted', abort_reason = v.column2,
			lease_until = 0, updated_at = v.column3
			FROM (VALUES ` + values(n, 3) + `) AS v
			WHERE deliveries.id = v.column1 AND deliveries.state = 'sending'`
	}, aborts); err != nil {
		return fmt.Errorf("aborting paced deliveries: %w", mapErr(err))
	}
	return nil
}

// ReleasePaced makes the campaign's waiting deliveries due now and gives
// their slots back, under the pacing row like PaceClaimed.
func (s *Store) ReleasePaced(ctx context.Context, at time.Time, campaignID string) error {
	return s.inWrite(ctx, func(t *writeTx) error {
		p, err := lockPacing(ctx, t, campaignID)
		if err != nil {
			return err
		}
		p = p.Release()
		if _, err := t.ExecContext(ctx, `UPDATE campaign_pacing SET last_reserved = ?
			WHERE campaign_id = ?`, micros(p.LastReserved), campaignID); err != nil {
			return fmt.Errorf("releasing pacing of campaign %s: %w", campaignID, err)
		}
		if _, err := t.ExecContext(ctx, `UPDATE deliveries SET due_at = ?, updated_at = ?
			WHERE state = 'pending' AND due_at > ? AND id IN
			(SELECT delivery_id FROM pacing_holds WHERE campaign_id = ?)`,
			micros(at), micros(at), micros(at), campaignID); err != nil {
			return fmt.Errorf("releasing paced deliveries of campaign %s: %w", campaignID, err)
		}
		if _, err := t.ExecContext(ctx, `DELETE FROM pacing_holds WHERE campaign_id = ?`, campaignID); err != nil {
			return fmt.Errorf("releasing held slots of campaign %s: %w", campaignID, err)
		}
		return nil
	})
}

// idList is the ids of ds as one JSON array, for json_each: one statement
// text whatever the batch size.
func idList(ds []*hookflow.Delivery) (string, error) {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return "", fmt.Errorf("encoding delivery ids: %w", err)
	}
	return string(b), nil
}
