package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hookflow/hookflow"
)

const deliveryColumns = `id, origin, campaign_id, dispatch_id, send_id, user_id,
	external_id, state, payload, request_method, request_url, request_headers,
	request_body, attempts, due_at, lease_until, last_status, last_error,
	abort_reason, first_attempt_at, created_at, updated_at`

func scanDelivery(r scanner) (*hookflow.Delivery, error) {
	var d hookflow.Delivery
	var campaign, method, url, headers sql.NullString
	var payload string
	var body []byte
	var due, lease, first, created, updated int64
	err := r.Scan(&d.ID, &d.Origin, &campaign, &d.DispatchID, &d.SendID, &d.UserID,
		&d.ExternalID, &d.State, &payload, &method, &url, &headers,
		&body, &d.Attempts, &due, &lease, &d.LastStatus, &d.LastError,
		&d.AbortReason, &first, &created, &updated)
	if err != nil {
		return nil, err
	}
	d.CampaignID = campaign.String
	d.DueAt, d.LeaseUntil, d.FirstAttemptAt = fromMicros(due), fromMicros(lease), fromMicros(first)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := decodeText(payload, &d.Payload); err != nil {
		return nil, fmt.Errorf("decoding payload of delivery %s: %w", d.ID, err)
	}
	if method.Valid {
		d.Request = &hookflow.Request{Method: method.String, URL: url.String}
		if len(body) > 0 {
			d.Request.Body = body
		}
		if err := decodeJSON(headers, &d.Request.Headers); err != nil {
			return nil, fmt.Errorf("decoding request of delivery %s: %w", d.ID, err)
		}
	}
	return &d, nil
}

func collectDeliveries(rows *sql.Rows) ([]*hookflow.Delivery, error) {
	defer rows.Close()
	var ds []*hookflow.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// Enqueue inserts deliveries in a few multi-row statements. Empty fields
// get defaults written back into each Delivery: ID a UUIDv7 (time-ordered,
// so listing by ID is listing by age), State pending, CreatedAt now,
// UpdatedAt CreatedAt.
func (t *tx) Enqueue(ds []*hookflow.Delivery) error {
	rows := make([][]any, len(ds))
	for i, d := range ds {
		fillDelivery(d)
		args, err := deliveryArgs(d)
		if err != nil {
			return err
		}
		rows[i] = args
	}
	_, err := execRows(t.ctx, t.q, func(n int) string {
		return `INSERT INTO deliveries (` + deliveryColumns + `) VALUES ` + values(n, 22)
	}, rows)
	if err != nil {
		return fmt.Errorf("enqueueing deliveries: %w", mapErr(err))
	}
	return nil
}

func fillDelivery(d *hookflow.Delivery) {
	if d.ID == "" {
		d.ID = uuid.Must(uuid.NewV7()).String()
	}
	if d.State == "" {
		d.State = hookflow.StatePending
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now()
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = d.CreatedAt
	}
}

// deliveryArgs are the values of every column of d, in deliveryColumns order.
func deliveryArgs(d *hookflow.Delivery) ([]any, error) {
	payload, err := json.Marshal(d.Payload)
	if err != nil {
		return nil, fmt.Errorf("encoding payload of delivery %s: %w", d.ID, err)
	}
	method, url, headers, body, err := requestArgs(d.Request)
	if err != nil {
		return nil, fmt.Errorf("encoding request of delivery %s: %w", d.ID, err)
	}
	return []any{d.ID, d.Origin, nullString(d.CampaignID), d.DispatchID, d.SendID,
		d.UserID, d.ExternalID, d.State, string(payload), method, url, headers, body,
		d.Attempts, micros(d.DueAt), micros(d.LeaseUntil), d.LastStatus, d.LastError,
		d.AbortReason, micros(d.FirstAttemptAt), micros(d.CreatedAt),
		micros(d.UpdatedAt)}, nil
}

// requestArgs splits a request into its columns. The body goes to a BLOB
// as it is, so the stored bytes are the rendered bytes.
func requestArgs(r *hookflow.Request) (method, url, headers, body any, err error) {
	if r == nil {
		return nil, nil, nil, nil, nil
	}
	h, err := json.Marshal(r.Headers)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if r.Body != nil {
		body = r.Body
	}
	return r.Method, r.URL, string(h), body, nil
}

// Claim leases up to limit due deliveries in one statement: pending ones due
// by now, and sending ones whose lease expired (their sender died), oldest
// due first. Each inner select stops at limit rows by its own index.
//
// The limits are written `? + 0`: SQLite reads a bare `LIMIT ?` as the
// bound integer when it plans the statement and marks the statement to be
// planned again whenever that binding changes. A sender asks for as many
// rows as it has free slots, a different number nearly every time, so the
// kept statement was parsed and planned again on almost every claim (a
// third of the sender's CPU at 1,000 deliveries/s). An expression is not
// read at planning time; the plan is the same.
func (s *Store) Claim(ctx context.Context, at time.Time, limit int,
	lease time.Duration) ([]*hookflow.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	return claim(ctx, s.write, at, limit, lease)
}

// claimSQL is the statement of Claim; see there.
const claimSQL = `UPDATE deliveries
		SET state = 'sending', lease_until = ?, updated_at = ?
		WHERE id IN (
			SELECT id FROM (
				SELECT id, due_at FROM (SELECT id, due_at FROM deliveries
					WHERE state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ? + 0)
				UNION ALL
				SELECT id, due_at FROM (SELECT id, due_at FROM deliveries
					WHERE state = 'sending' AND lease_until <= ? ORDER BY lease_until LIMIT ? + 0)
			) ORDER BY due_at LIMIT ? + 0)
		RETURNING ` + deliveryColumns

// claim runs claimSQL in q and returns the claimed deliveries, oldest due
// first.
func claim(ctx context.Context, q querier, at time.Time, limit int,
	lease time.Duration) ([]*hookflow.Delivery, error) {
	nowUS := micros(at)
	rows, err := q.QueryContext(ctx, claimSQL,
		micros(at.Add(lease)), nowUS, nowUS, limit, nowUS, limit, limit)
	if err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", mapErr(err))
	}
	ds, err := collectDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", mapErr(err))
	}

	// RETURNING yields rows in no promised order.
	slices.SortFunc(ds, func(a, b *hookflow.Delivery) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ds, nil
}

// SaveRendered stores rendering outcomes in one transaction: a request keeps
// its delivery sending, an abort ends it aborted, an error ends it failed.
// ErrNotFound, and nothing stored, if a delivery does not exist.
func (s *Store) SaveRendered(ctx context.Context, at time.Time, results []hookflow.RenderResult) error {
	rows, err := renderRows(results, at)
	if err != nil || len(rows) == 0 {
		return err
	}
	return s.inWrite(ctx, func(t *writeTx) error {
		return saveRendered(ctx, t, rows)
	})
}

// SaveAndClaim records w's completions as Complete does and stores its
// rendering outcomes as SaveRendered does, then claims as Claim does, in one
// transaction.
func (s *Store) SaveAndClaim(ctx context.Context, at time.Time, w hookflow.QueueWrite,
	limit int, lease time.Duration) ([]*hookflow.Delivery, error) {
	rows, err := renderRows(w.Rendered, at)
	if err != nil {
		return nil, err
	}
	c, err := newCompletionRows(w.Completions, at)
	if err != nil {
		return nil, err
	}
	var ds []*hookflow.Delivery
	err = s.inWrite(ctx, func(t *writeTx) error {
		if len(c.attempts) > 0 {
			if err := c.write(ctx, t); err != nil {
				return err
			}
		}
		if len(rows) > 0 {
			if err := saveRendered(ctx, t, rows); err != nil {
				return err
			}
		}
		if limit <= 0 {
			return nil
		}
		var err error
		ds, err = claim(ctx, t, at, limit, lease)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// renderRows are the rows of saveRenderedSQL for results.
func renderRows(results []hookflow.RenderResult, at time.Time) ([][]any, error) {
	rows := make([][]any, len(results))
	for i, r := range results {
		row, err := renderRow(r, micros(at))
		if err != nil {
			return nil, err
		}
		rows[i] = row
	}
	return rows, nil
}

// saveRendered runs saveRenderedSQL over rows in t; ErrNotFound if a
// delivery does not exist.
func saveRendered(ctx context.Context, t *writeTx, rows [][]any) error {
	ids := make(map[any]bool, len(rows))
	for _, r := range rows {
		ids[r[0]] = true
	}
	n, err := execRows(ctx, t, saveRenderedSQL, rows)
	if err != nil {
		return fmt.Errorf("saving rendered deliveries: %w", mapErr(err))
	}
	if n < int64(len(ids)) {
		return fmt.Errorf("saving rendered deliveries: %d of %d: %w",
			int64(len(ids))-n, len(ids), hookflow.ErrNotFound)
	}
	return nil
}

// saveRenderedSQL updates n deliveries from rows made by renderRow. A NULL
// state keeps the delivery sending with its new request; otherwise the
// delivery ends in that state and its lease is released.
func saveRenderedSQL(n int) string {
	return `UPDATE deliveries SET
		state = COALESCE(v.column2, deliveries.state),
		abort_reason = COALESCE(v.column3, deliveries.abort_reason),
		last_error = COALESCE(v.column4, deliveries.last_error),
		request_method = CASE WHEN v.column5 THEN v.column6 ELSE request_method END,
		request_url = CASE WHEN v.column5 THEN v.column7 ELSE request_url END,
		request_headers = CASE WHEN v.column5 THEN v.column8 ELSE request_headers END,
		request_body = CASE WHEN v.column5 THEN v.column9 ELSE request_body END,
		lease_until = CASE WHEN v.column2 IS NULL THEN lease_until ELSE 0 END,
		updated_at = v.column10
		FROM (VALUES ` + values(n, 10) + `) AS v WHERE deliveries.id = v.column1`
}

// renderRow is one row of saveRenderedSQL.
func renderRow(r hookflow.RenderResult, at int64) ([]any, error) {
	switch {
	case r.AbortReason != "":
		return []any{r.DeliveryID, hookflow.StateAborted, r.AbortReason, nil,
			false, nil, nil, nil, nil, at}, nil
	case r.Error != "":
		return []any{r.DeliveryID, hookflow.StateFailed, nil, r.Error,
			false, nil, nil, nil, nil, at}, nil
	case r.Request != nil:
		method, url, headers, body, err := requestArgs(r.Request)
		if err != nil {
			return nil, fmt.Errorf("encoding request of delivery %s: %w", r.DeliveryID, err)
		}
		return []any{r.DeliveryID, nil, nil, nil, true, method, url, headers, body, at}, nil
	}
	return nil, fmt.Errorf("saving render of delivery %s: %w", r.DeliveryID,
		hookflow.Invalid("", "render result has no request, abort or error"))
}

// Complete records each attempt and its delivery's next state in one
// transaction. The attempt number is the caller's; a number already recorded
// for the delivery (a second sender after a lost lease) is ErrConflict and
// nothing of the batch is kept. An unknown delivery is ErrNotFound.
func (s *Store) Complete(ctx context.Context, at time.Time, cs []hookflow.Completion) error {
	c, err := newCompletionRows(cs, at)
	if err != nil || len(cs) == 0 {
		return err
	}
	return s.inWrite(ctx, func(t *writeTx) error {
		return c.write(ctx, t)
	})
}

// completionRows are completions as rows of the attempts insert and of
// completeSQL.
type completionRows struct {
	attempts, nexts [][]any
}

func newCompletionRows(cs []hookflow.Completion, at time.Time) (*completionRows, error) {
	c := &completionRows{attempts: make([][]any, len(cs)), nexts: make([][]any, len(cs))}
	for i, cpl := range cs {
		a := cpl.Attempt
		headers, err := encodeJSON(a.ResponseHeaders)
		if err != nil {
			return nil, fmt.Errorf("encoding response headers of delivery %s: %w", a.DeliveryID, err)
		}
		c.attempts[i] = []any{a.DeliveryID, a.Number, micros(a.StartedAt),
			a.Duration.Microseconds(), a.Status, headers, a.ResponseBody, a.Truncated,
			a.Error, a.ErrorKind}
		c.nexts[i] = []any{a.DeliveryID, cpl.State, micros(cpl.DueAt), a.Number, a.Status,
			a.Error, micros(at), micros(a.StartedAt)}
	}
	return c, nil
}

// write records the attempts and next states in t.
func (c *completionRows) write(ctx context.Context, t *writeTx) error {
	_, err := execRows(ctx, t, func(n int) string {
		return `INSERT INTO attempts (delivery_id, number, started_at, duration_us,
			status, response_headers, response_body, truncated, error, error_kind)
			VALUES ` + values(n, 10)
	}, c.attempts)
	if err != nil {
		return fmt.Errorf("recording attempts: %w", mapErr(err))
	}
	if _, err := execRows(ctx, t, completeSQL, c.nexts); err != nil {
		return fmt.Errorf("completing deliveries: %w", mapErr(err))
	}
	return nil
}

// completeSQL moves n deliveries to their next state. A zero due time
// (final states) keeps the stored one; the first attempt's start is kept
// once set.
func completeSQL(n int) string {
	return `UPDATE deliveries SET state = v.column2,
		due_at = COALESCE(NULLIF(v.column3, 0), deliveries.due_at),
		attempts = v.column4, last_status = v.column5, last_error = v.column6,
		lease_until = 0, updated_at = v.column7,
		first_attempt_at = CASE WHEN deliveries.first_attempt_at = 0 THEN v.column8
			ELSE deliveries.first_attempt_at END
		FROM (VALUES ` + values(n, 8) + `) AS v WHERE deliveries.id = v.column1`
}

// NextDue returns the earliest due time of a pending delivery or lease expiry
// of a sending one; false when there is neither.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var due, lease sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT
		(SELECT MIN(due_at) FROM deliveries WHERE state = 'pending'),
		(SELECT MIN(lease_until) FROM deliveries WHERE state = 'sending')`).Scan(&due, &lease)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading next due time: %w", err)
	}
	switch {
	case due.Valid && lease.Valid:
		return fromMicros(min(due.Int64, lease.Int64)), true, nil
	case due.Valid:
		return fromMicros(due.Int64), true, nil
	case lease.Valid:
		return fromMicros(lease.Int64), true, nil
	}
	return time.Time{}, false, nil
}
