package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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

	return s.inTx(ctx, func(t pgx.Tx) error {
		_, err := t.Exec(ctx, `INSERT INTO campaigns (id, name, state,
			delivery_type, trigger_event, trigger_purchase, trigger_product, body,
			version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			c.ID, c.Name, c.State, c.DeliveryType, event, purchase, product,
			string(body), c.Version, c.CreatedAt, c.UpdatedAt)
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

	var updated time.Time
	err = s.inTx(ctx, func(t pgx.Tx) error {
		err := t.QueryRow(ctx, `UPDATE campaigns SET name = $1, state = $2,
			delivery_type = $3, trigger_event = $4, trigger_purchase = $5,
			trigger_product = $6, body = $7, version = $8,
			updated_at = CASE WHEN $9::timestamptz > updated_at THEN $9 ELSE $10 END
			WHERE id = $11 AND version = $12 RETURNING updated_at`,
			c.Name, c.State, c.DeliveryType, event, purchase, product, string(body),
			next.Version, c.UpdatedAt, now(), c.ID, c.Version).Scan(&updated)
		if errors.Is(err, pgx.ErrNoRows) {
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
	c.Version, c.UpdatedAt = next.Version, utc(updated)
	return nil
}

// versionMiss tells an unknown campaign from one whose version moved on.
func versionMiss(ctx context.Context, t pgx.Tx, id string) error {
	var one int
	err := t.QueryRow(ctx, `SELECT 1 FROM campaigns WHERE id = $1`, id).Scan(&one)
	if err != nil {
		return fmt.Errorf("updating campaign %s: %w", id, mapErr(err))
	}
	return fmt.Errorf("updating campaign %s: version changed: %w", id, hookflow.ErrConflict)
}

// triggerColumns returns the trigger_event, trigger_purchase and
// trigger_product columns of c.
func triggerColumns(c *hookflow.Campaign) (event *string, purchase bool, product string) {
	if c.Trigger == nil {
		return nil, false, ""
	}
	if c.Trigger.Purchase {
		return nil, true, c.Trigger.ProductID
	}
	return &c.Trigger.Event, false, ""
}

// writeExceptions replaces the campaign's rows in campaign_exceptions.
func writeExceptions(ctx context.Context, t pgx.Tx, c *hookflow.Campaign) error {
	_, err := t.Exec(ctx, `DELETE FROM campaign_exceptions WHERE campaign_id = $1`, c.ID)
	if err != nil {
		return fmt.Errorf("clearing exception events of campaign %s: %w", c.ID, err)
	}
	if c.Trigger == nil || len(c.Trigger.ExceptionEvents) == 0 {
		return nil
	}
	_, err = t.Exec(ctx, `INSERT INTO campaign_exceptions (campaign_id, event)
		SELECT $1, e FROM unnest($2::text[]) AS e ON CONFLICT DO NOTHING`,
		c.ID, c.Trigger.ExceptionEvents)
	if err != nil {
		return fmt.Errorf("storing exception events of campaign %s: %w", c.ID, mapErr(err))
	}
	return nil
}

// GetCampaign returns one campaign or ErrNotFound.
func (s *Store) GetCampaign(ctx context.Context, id string) (*hookflow.Campaign, error) {
	return getCampaign(ctx, s.pool, id)
}

// GetCampaign returns one campaign or ErrNotFound.
func (t *tx) GetCampaign(id string) (*hookflow.Campaign, error) {
	return getCampaign(t.ctx, t.q, id)
}

func getCampaign(ctx context.Context, q querier, id string) (*hookflow.Campaign, error) {
	row := q.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, id)
	c, err := scanCampaign(row)
	if err != nil {
		return nil, fmt.Errorf("reading campaign %s: %w", id, mapErr(err))
	}
	return c, nil
}

func scanCampaign(r pgx.Row) (*hookflow.Campaign, error) {
	var c hookflow.Campaign
	var id, name, state, deliveryType, body string
	var version int
	var created, updated time.Time
	err := r.Scan(&id, &name, &state, &deliveryType, &body, &version, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		return nil, fmt.Errorf("decoding campaign %s: %w", id, err)
	}
	c.ID, c.Name, c.State, c.DeliveryType, c.Version = id, name, state, deliveryType, version
	c.CreatedAt, c.UpdatedAt = utc(created), utc(updated)
	return &c, nil
}

// ListCampaigns returns campaigns newest first, filtered by state; a Limit of
// 0 returns them all.
func (s *Store) ListCampaigns(ctx context.Context, f hookflow.CampaignFilter) ([]*hookflow.Campaign, error) {
	var limit *int // NULL: no limit
	if f.Limit > 0 {
		limit = &f.Limit
	}
	return queryCampaigns(ctx, s.pool, `SELECT `+campaignColumns+` FROM campaigns
		WHERE $1 = '' OR state = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
		f.State, limit)
}

func queryCampaigns(ctx context.Context, q querier, query string, args ...any) ([]*hookflow.Campaign, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing campaigns: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookflow.Campaign, error) {
		return scanCampaign(r)
	})
	if err != nil {
		return nil, fmt.Errorf("listing campaigns: %w", err)
	}
	return cs, nil
}

// TriggeredCampaigns returns the active action-based campaigns whose trigger
// matches ev, ignoring property filters, in ID order.
func (t *tx) TriggeredCampaigns(ev *hookflow.Event) ([]*hookflow.Campaign, error) {
	var cs []*hookflow.Campaign
	var err error
	if ev.Purchase != nil {
		cs, err = queryCampaigns(t.ctx, t.q, `SELECT `+campaignColumns+` FROM campaigns
			WHERE trigger_purchase AND state = $1 AND delivery_type = $2
			AND (trigger_product = '' OR trigger_product = $3) ORDER BY id`,
			hookflow.CampaignActive, hookflow.ActionBased, ev.Name)
	} else {
		cs, err = queryCampaigns(t.ctx, t.q, `SELECT `+campaignColumns+` FROM campaigns
			WHERE trigger_event = $1 AND state = $2 AND delivery_type = $3 ORDER BY id`,
			ev.Name, hookflow.CampaignActive, hookflow.ActionBased)
	}
	if err != nil {
		return nil, fmt.Errorf("finding campaigns triggered by %q: %w", ev.Name, mapErr(err))
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
// listing eventName among their exception events, in ID order: a paused or
// archived campaign's delayed sends still go out, so its exceptions must
// still cancel them.
func (t *tx) ExceptionCampaigns(eventName string) ([]*hookflow.Campaign, error) {
	cs, err := queryCampaigns(t.ctx, t.q, `SELECT `+campaignColumns+` FROM campaigns
		WHERE id IN (SELECT campaign_id FROM campaign_exceptions WHERE event = $1)
		AND delivery_type = $2 ORDER BY id`,
		eventName, hookflow.ActionBased)
	if err != nil {
		return nil, fmt.Errorf("finding campaigns excepted by %q: %w", eventName, mapErr(err))
	}
	return cs, nil
}

// CampaignStats counts the campaign's deliveries by outcome; ErrNotFound if
// the campaign does not exist.
func (s *Store) CampaignStats(ctx context.Context, id string) (hookflow.CampaignStats, error) {
	var st hookflow.CampaignStats
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM campaigns WHERE id = $1`, id).Scan(&one)
	if err != nil {
		return st, fmt.Errorf("campaign stats of %s: %w", id, mapErr(err))
	}

	err = s.pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE attempts > 0),
		count(*) FILTER (WHERE state = 'delivered'),
		count(*) FILTER (WHERE state = 'failed'),
		count(*) FILTER (WHERE state = 'aborted'),
		count(*) FILTER (WHERE state IN ('pending', 'sending')),
		count(*) FILTER (WHERE state = 'cancelled'),
		count(DISTINCT user_id) FILTER (WHERE attempts > 0)
		FROM deliveries WHERE campaign_id = $1`, id).Scan(
		&st.Sends, &st.Delivered, &st.Errors, &st.Aborts, &st.Pending,
		&st.Cancelled, &st.UniqueRecipients)
	if err != nil {
		return st, fmt.Errorf("campaign stats of %s: %w", id, err)
	}
	return st, nil
}
