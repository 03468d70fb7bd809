package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hookflow/hookflow"
)

// A campaign is stored whole as JSON in body; the columns beside it copy the
// fields that queries select on. Reads take identity, state, version and
// timestamps from the columns, which are authoritative.
const campaignColumns = `id, name, state, delivery_type, body, version, created_at, updated_at`

// CreateCampaign stores c with Version 1; ErrConflict if its ID is taken.
// Zero timestamps are set to now.
func (s *Store) CreateCampaign(ctx context.Context, c *hookflow.Campaign) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	c.Version = 1
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encoding campaign %s: %w", c.ID, err)
	}
	event, purchase, product := triggerColumns(c)

	return s.inWrite(ctx, func(t *writeTx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO campaigns (id, name, state,
			delivery_type, trigger_event, trigger_purchase, trigger_product, body,
			version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.State, c.DeliveryType, event, purchase, product, body,
			c.Version, micros(c.CreatedAt), micros(c.UpdatedAt))
		if err != nil {
			return fmt.Errorf("inserting campaign %s: %w", c.ID, mapErr(err))
		}
		return writeExceptions(ctx, t, c)
	})
}

// UpdateCampaign replaces the campaign whose ID and Version match c and
// increments c.Version. It returns ErrNotFound for an unknown ID and
// ErrConflict when the stored version has moved on. The stored UpdatedAt is
// c.UpdatedAt when that is later than the stored one, else now; c.UpdatedAt
// is set to it.
func (s *Store) UpdateCampaign(ctx context.Context, c *hookflow.Campaign) error {
	next := *c
	next.Version++
	body, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("encoding campaign %s: %w", c.ID, err)
	}
	event, purchase, product := triggerColumns(c)

	var updated int64
	err = s.inWrite(ctx, func(t *writeTx) error {
		err := t.QueryRowContext(ctx, `UPDATE campaigns SET name = ?, state = ?,
			delivery_type = ?, trigger_event = ?, trigger_purchase = ?,
			trigger_product = ?, body = ?, version = ?,
			updated_at = CASE WHEN ? > updated_at THEN ? ELSE ? END
			WHERE id = ? AND version = ? RETURNING updated_at`,
			c.Name, c.State, c.DeliveryType, event, purchase, product, body,
			next.Version, micros(c.UpdatedAt), micros(c.UpdatedAt), micros(now()),
			c.ID, c.Version).Scan(&updated)
		if errors.Is(err, sql.ErrNoRows) {
			return versionMiss(ctx, t, c.ID)
		}
		if err != nil {
			return fmt.Errorf("updating campaign %s: %w", c.ID, mapErr(err))
		}
		return writeExceptions(ctx, t, c)
	})
	if err != nil {
		return err
	}
	c.Version, c.UpdatedAt = next.Version, fromMicros(updated)
	return nil
}

// versionMiss tells an unknown campaign from one whose version moved on.
func versionMiss(ctx context.Context, t *writeTx, id string) error {
	var one int
	err := t.QueryRowContext(ctx, `SELECT 1 FROM campaigns WHERE id = ?`, id).Scan(&one)
	if err != nil {
		return fmt.Errorf("updating campaign %s: %w", id, mapErr(err))
	}
	return fmt.Errorf("updating campaign %s: version changed: %w", id, hookflow.ErrConflict)
}

// triggerColumns returns the trigger_event, trigger_purchase and
// trigger_product columns of c.
func triggerColumns(c *hookflow.Campaign) (event any, purchase bool, product string) {
	if c.Trigger == nil {
		return nil, false, ""
	}
	if c.Trigger.Purchase {
		return nil, true, c.Trigger.ProductID
	}
	return c.Trigger.Event, false, ""
}

// writeExceptions replaces the campaign's rows in campaign_exceptions.
func writeExceptions(ctx context.Context, t *writeTx, c *hookflow.Campaign) error {
	_, err := t.ExecContext(ctx, `DELETE FROM campaign_exceptions WHERE campaign_id = ?`, c.ID)
	if err != nil {
		return fmt.Errorf("clearing exception events of campaign %s: %w", c.ID, err)
	}
	if c.Trigger == nil {
		return nil
	}
	for _, ev := range c.Trigger.ExceptionEvents {
		_, err := t.ExecContext(ctx, `INSERT OR IGNORE INTO campaign_exceptions
			(campaign_id, event) VALUES (?, ?)`, c.ID, ev)
		if err != nil {
			return fmt.Errorf("storing exception event of campaign %s: %w", c.ID, err)
		}
	}
	return nil
}

// GetCampaign returns one campaign or ErrNotFound.
func (s *Store) GetCampaign(ctx context.Context, id string) (*hookflow.Campaign, error) {
	return getCampaign(ctx, s.read, id)
}

// GetCampaign returns one campaign or ErrNotFound.
func (t *tx) GetCampaign(id string) (*hookflow.Campaign, error) {
	return getCampaign(t.ctx, t.q, id)
}

func getCampaign(ctx context.Context, q querier, id string) (*hookflow.Campaign, error) {
	row := q.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`, id)
	c, err := scanCampaign(row)
	if err != nil {
		return nil, fmt.Errorf("reading campaign %s: %w", id, mapErr(err))
	}
	return c, nil
}

func scanCampaign(r scanner) (*hookflow.Campaign, error) {
	var c hookflow.Campaign
	var id, name, state, deliveryType, body string
	var version int
	var created, updated int64
	err := r.Scan(&id, &name, &state, &deliveryType, &body, &version, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		return nil, fmt.Errorf("decoding campaign %s: %w", id, err)
	}
	c.ID, c.Name, c.State, c.DeliveryType, c.Version = id, name, state, deliveryType, version
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

// ListCampaigns returns campaigns newest first, filtered by state; a Limit of
// 0 returns them all.
func (s *Store) ListCampaigns(ctx context.Context, f hookflow.CampaignFilter) ([]*hookflow.Campaign, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	return queryCampaigns(ctx, s.read, `SELECT `+campaignColumns+` FROM campaigns
		WHERE ? = '' OR state = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		f.State, f.State, limit)
}

func queryCampaigns(ctx context.Context, q querier, query string, args ...any) ([]*hookflow.Campaign, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing campaigns: %w", err)
	}
	defer rows.Close()

	var cs []*hookflow.Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, fmt.Errorf("listing campaigns: %w", err)
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// TriggeredCampaigns returns the active action-based campaigns whose trigger
// matches ev, ignoring property filters, in ID order.
func (t *tx) TriggeredCampaigns(ev *hookflow.Event) ([]*hookflow.Campaign, error) {
	var cs []*hookflow.Campaign
	var err error
	if ev.Purchase != nil {
		cs, err = queryCampaigns(t.ctx, t.q, `SELECT `+campaignColumns+` FROM campaigns
			WHERE trigger_purchase = 1 AND state = ? AND delivery_type = ?
			AND (trigger_product = '' OR trigger_product = ?) ORDER BY id`,
			hookflow.CampaignActive, hookflow.ActionBased, ev.Name)
	} else {
		cs, err = queryCampaigns(t.ctx, t.q, `SELECT `+campaignColumns+` FROM campaigns
			WHERE trigger_event = ? AND state = ? AND delivery_type = ? ORDER BY id`,
			ev.Name, hookflow.CampaignActive, hookflow.ActionBased)
	}
	if err != nil {
		return nil, fmt.Errorf("finding campaigns triggered by %q: %w", ev.Name, err)
	}

	// The columns mirror Trigger; Matches stays the single definition.
	matched := cs[:0]
	for _, c := range cs {
		if c.Trigger != nil && c.Trigger.Matches(ev) {
			matched = append(matched, c)
		}
	}
	return matched, nil
}

// ExceptionCampaigns returns the action-based campaigns, in any state,
// listing eventName among their exception events, in ID order.
func (t *tx) ExceptionCampaigns(eventName string) ([]*hookflow.Campaign, error) {
	cs, err := queryCampaigns(t.ctx, t.q, `SELECT `+campaignColumns+` FROM campaigns
		WHERE id IN (SELECT campaign_id FROM campaign_exceptions WHERE event = ?)
		AND delivery_type = ? ORDER BY id`,
		eventName, hookflow.ActionBased)
	if err != nil {
		return nil, fmt.Errorf("finding campaigns excepted by %q: %w", eventName, err)
	}
	return cs, nil
}

// CampaignStats counts the campaign's deliveries by outcome; ErrNotFound if
// the campaign does not exist.
func (s *Store) CampaignStats(ctx context.Context, id string) (hookflow.CampaignStats, error) {
	var st hookflow.CampaignStats
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM campaigns WHERE id = ?`, id).Scan(&one)
	if err != nil {
		return st, fmt.Errorf("campaign stats of %s: %w", id, mapErr(err))
	}

	err = s.read.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(attempts > 0), 0),
		COALESCE(SUM(state = 'delivered'), 0),
		COALESCE(SUM(state = 'failed'), 0),
		COALESCE(SUM(state = 'aborted'), 0),
		COALESCE(SUM(state IN ('pending', 'sending')), 0),
		COALESCE(SUM(state = 'cancelled'), 0),
		COUNT(DISTINCT CASE WHEN attempts > 0 THEN user_id END)
		FROM deliveries WHERE campaign_id = ?`, id).Scan(
		&st.Sends, &st.Delivered, &st.Errors, &st.Aborts, &st.Pending,
		&st.Cancelled, &st.UniqueRecipients)
	if err != nil {
		return st, fmt.Errorf("campaign stats of %s: %w", id, err)
	}
	return st, nil
}
