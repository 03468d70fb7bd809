package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookflow/hookflow"
)

// Batched writes pass each column as one array parameter and unnest them:
// one statement, one round trip and one cached plan whatever the batch
// size, with no limit on parameters to chunk around.

const deliveryColumns = `id, origin, campaign_id, dispatch_id, send_id, user_id,
	external_id, state, payload, request_method, request_url, request_headers,
	request_body, attempts, due_at, lease_until, last_status, last_error,
	abort_reason, first_attempt_at, created_at, updated_at`

func scanDelivery(r pgx.Row) (*hookflow.Delivery, error) {
	var d hookflow.Delivery
	var campaign, method, headers *string
	var payload string
	var url, body []byte
	var lease, first pgtype.Timestamptz
	err := r.Scan(&d.ID, &d.Origin, &campaign, &d.DispatchID, &d.SendID, &d.UserID,
		&d.ExternalID, &d.State, &payload, &method, &url, &headers,
		&body, &d.Attempts, &d.DueAt, &lease, &d.LastStatus, &d.LastError,
		&d.AbortReason, &first, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if campaign != nil {
		d.CampaignID = *campaign
	}
	d.DueAt, d.LeaseUntil, d.FirstAttemptAt = utc(d.DueAt), fromNull(lease), fromNull(first)
	d.CreatedAt, d.UpdatedAt = utc(d.CreatedAt), utc(d.UpdatedAt)
	if d.Payload, err = decodePayload(payload); err != nil {
		return nil, fmt.Errorf("decoding payload of delivery %s: %w", d.ID, err)
	}
	if method != nil {
		d.Request = &hookflow.Request{Method: *method, URL: string(url)}
		if len(body) > 0 {
			d.Request.Body = body
		}
		if err := decodeDoc(headers, &d.Request.Headers); err != nil {
			return nil, fmt.Errorf("decoding request of delivery %s: %w", d.ID, err)
		}
	}
	return &d, nil
}

func collectDeliveries(rows pgx.Rows) ([]*hookflow.Delivery, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookflow.Delivery, error) {
		return scanDelivery(r)
	})
}

// encodePayload writes p with its free-form maps marked (see marked).
func encodePayload(p hookflow.Payload) (string, error) {
	if p.Event != nil {
		ev := *p.Event
		ev.Properties = markedMap(ev.Properties)
		p.Event = &ev
	}
	p.TriggerProperties = markedMap(p.TriggerProperties)
	p.Context = markedMap(p.Context)
	b, err := json.Marshal(p)
	return string(b), err
}

func decodePayload(doc string) (hookflow.Payload, error) {
	var p hookflow.Payload
	if err := decodeDoc(&doc, &p); err != nil {
		return p, err
	}
	maps := []map[string]any{p.TriggerProperties, p.Context}
	if p.Event != nil {
		maps = append(maps, p.Event.Properties)
	}
	for _, m := range maps {
		if _, err := hookflow.NormalizeNumbers(m); err != nil {
			return p, fmt.Errorf("decoding stored JSON: %w", err)
		}
	}
	return p, nil
}

// deliveryRows holds the columns of an Enqueue batch, one slice each.
type deliveryRows struct {
	id, origin, dispatch, send, user, external, state, payload []string
	lastError, abortReason                                     []string
	campaign, method, headers                                  []*string
	url, body                                                  [][]byte
	attempts, lastStatus                                       []int32
	due, created, updated                                      []time.Time
	lease, first                                               []*time.Time
}

func (r *deliveryRows) add(d *hookflow.Delivery) error {
	payload, err := encodePayload(d.Payload)
	if err != nil {
		return fmt.Errorf("encoding payload of delivery %s: %w", d.ID, err)
	}
	method, headers, url, body, err := requestColumns(d.Request)
	if err != nil {
		return fmt.Errorf("encoding request of delivery %s: %w", d.ID, err)
	}
	r.id, r.origin = append(r.id, d.ID), append(r.origin, d.Origin)
	r.campaign = append(r.campaign, nullString(d.CampaignID))
	r.dispatch, r.send = append(r.dispatch, d.DispatchID), append(r.send, d.SendID)
	r.user, r.external = append(r.user, d.UserID), append(r.external, d.ExternalID)
	r.state, r.payload = append(r.state, d.State), append(r.payload, payload)
	r.method, r.url = append(r.method, method), append(r.url, url)
	r.headers, r.body = append(r.headers, headers), append(r.body, body)
	r.attempts = append(r.attempts, int32(d.Attempts))
	r.due, r.lease = append(r.due, d.DueAt), append(r.lease, nullTime(d.LeaseUntil))
	r.lastStatus = append(r.lastStatus, int32(d.LastStatus))
	r.lastError, r.abortReason = append(r.lastError, d.LastError), append(r.abortReason, d.AbortReason)
	r.first = append(r.first, nullTime(d.FirstAttemptAt))
	r.created, r.updated = append(r.created, d.CreatedAt), append(r.updated, d.UpdatedAt)
	return nil
}

// copyMin is the batch size from which Enqueue copies rather than inserts.
// COPY costs a round trip more (pgx first asks for the column types) but
// writes rows faster: measured on 500-row batches on a busy 2-core machine,
// 10 to 30 % more deliveries a second than one INSERT … SELECT FROM unnest.
const copyMin = 64

var deliveryColumnNames = strings.Fields(strings.ReplaceAll(deliveryColumns, ",", " "))

// row returns the values of row i in deliveryColumns order, for COPY.
func (r *deliveryRows) row(i int) ([]any, error) {
	return []any{r.id[i], r.origin[i], r.campaign[i], r.dispatch[i], r.send[i], r.user[i],
		r.external[i], r.state[i], r.payload[i], r.method[i], r.url[i], r.headers[i],
		r.body[i], r.attempts[i], r.due[i], r.lease[i], r.lastStatus[i], r.lastError[i],
		r.abortReason[i], r.first[i], r.created[i], r.updated[i]}, nil
}

// insert writes the rows in one INSERT statement.
func (r *deliveryRows) insert(ctx context.Context, q pgx.Tx) error {
	_, err := q.Exec(ctx, `INSERT INTO deliveries (`+deliveryColumns+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
			$5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
			$11::bytea[], $12::text[], $13::bytea[], $14::int[], $15::timestamptz[],
			$16::timestamptz[], $17::int[], $18::text[], $19::text[],
			$20::timestamptz[], $21::timestamptz[], $22::timestamptz[])`,
		r.id, r.origin, r.campaign, r.dispatch, r.send, r.user, r.external, r.state,
		r.payload, r.method, r.url, r.headers, r.body, r.attempts, r.due, r.lease,
		r.lastStatus, r.lastError, r.abortReason, r.first, r.created, r.updated)
	return err
}

// Enqueue inserts deliveries in one statement, or one COPY for large
// batches. Empty fields get defaults
// written back into each Delivery: ID a UUIDv7 (time-ordered, so listing by
// ID is listing by age), State pending, CreatedAt now, UpdatedAt CreatedAt.
// Listeners on every node are notified when the transaction commits.
func (t *tx) Enqueue(ds []*hookflow.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	var r deliveryRows
	for _, d := range ds {
		fillDelivery(d)
		if err := r.add(d); err != nil {
			return err
		}
	}

	var err error
	if len(ds) >= copyMin {
		_, err = t.q.CopyFrom(t.ctx, pgx.Identifier{"deliveries"}, deliveryColumnNames,
			pgx.CopyFromSlice(len(ds), r.row))
	} else {
		err = r.insert(t.ctx, t.q)
	}
	if err != nil {
		return fmt.Errorf("enqueueing deliveries: %w", mapErr(err))
	}
	t.enqueued = true
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

// requestColumns splits a request into its columns. The URL and body go to
// bytea as they are, so the stored bytes are the rendered bytes: a template
// may render a NUL or invalid UTF-8 into either, which text would refuse,
// failing the whole batch it was saved with.
func requestColumns(r *hookflow.Request) (method, headers *string, url, body []byte, err error) {
	if r == nil {
		return nil, nil, nil, nil, nil
	}
	h, err := json.Marshal(r.Headers)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	hs := string(h)
	return &r.Method, &hs, []byte(r.URL), r.Body, nil
}

// Claim leases up to limit due deliveries in one statement: pending ones due
// by now, and sending ones whose lease expired (their sender died), oldest
// due first. Each inner select walks its own partial index and skips rows
// another node is claiming at this moment, so concurrent claimers, on one
// node or many, never wait for each other nor take the same delivery.
func (s *Store) Claim(ctx context.Context, at time.Time, limit int,
	lease time.Duration) ([]*hookflow.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	return claim(ctx, s.pool, at, limit, lease)
}

// claim runs the statement of Claim in q and returns the claimed
// deliveries, oldest due first.
func claim(ctx context.Context, q querier, at time.Time, limit int,
	lease time.Duration) ([]*hookflow.Delivery, error) {
	rows, err := q.Query(ctx, `WITH
		pending AS (SELECT id, due_at FROM deliveries
			WHERE state = 'pending' AND due_at <= $1
			ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED),
		expired AS (SELECT id, due_at FROM deliveries
			WHERE state = 'sending' AND lease_until <= $1
			ORDER BY lease_until LIMIT $3 FOR UPDATE SKIP LOCKED),
		due AS (SELECT id, due_at FROM pending UNION ALL SELECT id, due_at FROM expired
			ORDER BY due_at LIMIT $3)
		UPDATE deliveries SET state = 'sending', lease_until = $2, updated_at = $1
		WHERE id IN (SELECT id FROM due)
		RETURNING `+deliveryColumns, at, at.Add(lease), limit)
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

// renderRows holds the columns of a SaveRendered batch. A NULL state keeps
// the delivery sending with its new request; otherwise the delivery ends in
// that state and its lease is released.
type renderRows struct {
	id                                         []string
	state, abortReason, lastError, method, hdr []*string
	rendered                                   []bool
	url, body                                  [][]byte
}

func (r *renderRows) add(res hookflow.RenderResult) error {
	var state, abort, lastErr, method, headers *string
	var url, body []byte
	switch {
	case res.AbortReason != "":
		state, abort = ptr(hookflow.StateAborted), ptr(diagnostic(res.AbortReason))
	case res.Error != "":
		state, lastErr = ptr(hookflow.StateFailed), ptr(diagnostic(res.Error))
	case res.Request != nil:
		var err error
		method, headers, url, body, err = requestColumns(res.Request)
		if err != nil {
			return fmt.Errorf("encoding request of delivery %s: %w", res.DeliveryID, err)
		}
	default:
		return fmt.Errorf("saving render of delivery %s: %w", res.DeliveryID,
			hookflow.Invalid("", "render result has no request, abort or error"))
	}
	r.id, r.state = append(r.id, res.DeliveryID), append(r.state, state)
	r.abortReason, r.lastError = append(r.abortReason, abort), append(r.lastError, lastErr)
	r.rendered = append(r.rendered, method != nil)
	r.method, r.url, r.hdr = append(r.method, method), append(r.url, url), append(r.hdr, headers)
	r.body = append(r.body, body)
	return nil
}

func ptr[T any](v T) *T { return &v }

// diagnostic makes a reason or error message storable as text, replacing a
// NUL or invalid UTF-8 with U+FFFD. These strings are for people to read;
// refusing one would fail its whole batch, and the batch again on retry.
func diagnostic(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// SaveRendered stores rendering outcomes in one statement: a request keeps
// its delivery sending, an abort ends it aborted, an error ends it failed.
// ErrNotFound, and nothing stored, if a delivery does not exist.
func (s *Store) SaveRendered(ctx context.Context, at time.Time, results []hookflow.RenderResult) error {
	r, err := newRenderRows(results)
	if err != nil || len(r.id) == 0 {
		return err
	}
	return s.inTx(ctx, func(t pgx.Tx) error {
		return r.save(ctx, t, at)
	})
}

// SaveAndClaim records w's completions as Complete does, stores its
// rendering outcomes as SaveRendered does and hands its deferrals back as
// Defer does, then claims as Claim does, in one transaction.
func (s *Store) SaveAndClaim(ctx context.Context, at time.Time, w hookflow.QueueWrite,
	limit int, lease time.Duration) ([]*hookflow.Delivery, error) {
	r, err := newRenderRows(w.Rendered)
	if err != nil {
		return nil, err
	}
	c, err := newCompletionRows(w.Completions)
	if err != nil {
		return nil, err
	}
	var ds []*hookflow.Delivery
	err = s.inTx(ctx, func(t pgx.Tx) error {
		if len(c.id) > 0 {
			if err := c.write(ctx, t, at); err != nil {
				return err
			}
		}
		if len(r.id) > 0 {
			if err := r.save(ctx, t, at); err != nil {
				return err
			}
		}
		if len(w.Deferrals) > 0 {
			if err := deferIn(ctx, t, at, w.Deferrals); err != nil {
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

// newRenderRows collects results into columns.
func newRenderRows(results []hookflow.RenderResult) (*renderRows, error) {
	r := &renderRows{}
	for _, res := range results {
		if err := r.add(res); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// save stores the rows in t; ErrNotFound if a delivery does not exist.
func (r *renderRows) save(ctx context.Context, t pgx.Tx, at time.Time) error {
	ids := make(map[string]bool, len(r.id))
	for _, id := range r.id {
		ids[id] = true
	}
	tag, err := t.Exec(ctx, `UPDATE deliveries d SET
		state = COALESCE(v.state, d.state),
		abort_reason = COALESCE(v.abort_reason, d.abort_reason),
		last_error = COALESCE(v.last_error, d.last_error),
		request_method = CASE WHEN v.rendered THEN v.method ELSE d.request_method END,
		request_url = CASE WHEN v.rendered THEN v.url ELSE d.request_url END,
		request_headers = CASE WHEN v.rendered THEN v.headers ELSE d.request_headers END,
		request_body = CASE WHEN v.rendered THEN v.body ELSE d.request_body END,
		lease_until = CASE WHEN v.state IS NULL THEN d.lease_until END,
		updated_at = CASE WHEN v.state IS NULL THEN d.updated_at ELSE $1 END
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bool[],
			$7::text[], $8::bytea[], $9::text[], $10::bytea[])
			AS v(id, state, abort_reason, last_error, rendered, method, url, headers, body)
		WHERE d.id = v.id`,
		at, r.id, r.state, r.abortReason, r.lastError, r.rendered, r.method,
		r.url, r.hdr, r.body)
	if err != nil {
		return fmt.Errorf("saving rendered deliveries: %w", mapErr(err))
	}
	if n := tag.RowsAffected(); n < int64(len(ids)) {
		return fmt.Errorf("saving rendered deliveries: %d of %d: %w",
			int64(len(ids))-n, len(ids), hookflow.ErrNotFound)
	}
	return nil
}

// Complete records each attempt and its delivery's next state in one
// transaction of two statements. The attempt number is the caller's; a
// number already recorded for the delivery (a second sender after a lost
// lease) is ErrConflict and nothing of the batch is kept. An unknown
// delivery is ErrNotFound.
func (s *Store) Complete(ctx context.Context, at time.Time, cs []hookflow.Completion) error {
	if len(cs) == 0 {
		return nil
	}
	c, err := newCompletionRows(cs)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(t pgx.Tx) error {
		return c.write(ctx, t, at)
	})
}

// completionRows are completions as columns.
type completionRows struct {
	id, state, errText, errKind []string
	number, status              []int32
	started                     []time.Time
	due                         []*time.Time
	durationUS                  []int64
	headers                     []*string
	body                        [][]byte
	truncated                   []bool
	// deliveries counts the distinct deliveries.
	deliveries int
}

func newCompletionRows(cs []hookflow.Completion) (*completionRows, error) {
	a := &completionRows{}
	for _, c := range cs {
		att := c.Attempt
		headers, err := encodeDoc(att.ResponseHeaders)
		if err != nil {
			return nil, fmt.Errorf("encoding response headers of delivery %s: %w", att.DeliveryID, err)
		}
		a.id, a.state = append(a.id, att.DeliveryID), append(a.state, c.State)
		a.number, a.status = append(a.number, int32(att.Number)), append(a.status, int32(att.Status))
		a.started, a.due = append(a.started, att.StartedAt), append(a.due, nullTime(c.DueAt))
		a.durationUS = append(a.durationUS, att.Duration.Microseconds())
		a.headers, a.body = append(a.headers, headers), append(a.body, att.ResponseBody)
		a.truncated = append(a.truncated, att.Truncated)
		a.errText = append(a.errText, diagnostic(att.Error))
		a.errKind = append(a.errKind, diagnostic(att.ErrorKind))
	}
	ids := make(map[string]bool, len(cs))
	for _, c := range cs {
		ids[c.Attempt.DeliveryID] = true
	}
	a.deliveries = len(ids)
	return a, nil
}

// write records the attempts and next states in t.
func (a *completionRows) write(ctx context.Context, t pgx.Tx, at time.Time) error {
	// A NULL due time (final states) keeps the stored one; the first
	// attempt's start is kept once set.
	tag, err := t.Exec(ctx, `UPDATE deliveries d SET state = v.state,
		due_at = COALESCE(v.due_at, d.due_at), attempts = v.number,
		last_status = v.status, last_error = v.error, lease_until = NULL,
		updated_at = $1, first_attempt_at = COALESCE(d.first_attempt_at, v.started_at)
		FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::int[],
			$7::text[], $8::timestamptz[])
			AS v(id, state, due_at, number, status, error, started_at)
		WHERE d.id = v.id`,
		at, a.id, a.state, a.due, a.number, a.status, a.errText, a.started)
	if err != nil {
		return fmt.Errorf("completing deliveries: %w", mapErr(err))
	}
	// attempts has no foreign key: this check stands for it, without
	// the share lock a key check takes on every delivery row.
	if n := tag.RowsAffected(); n < int64(a.deliveries) {
		return fmt.Errorf("completing deliveries: %d of %d: %w",
			int64(a.deliveries)-n, a.deliveries, hookflow.ErrNotFound)
	}

	_, err = t.Exec(ctx, `INSERT INTO attempts (delivery_id, number, started_at,
		duration_us, status, response_headers, response_body, truncated, error, error_kind)
		SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::bigint[],
			$5::int[], $6::text[], $7::bytea[], $8::bool[], $9::text[], $10::text[])`,
		a.id, a.number, a.started, a.durationUS, a.status, a.headers, a.body,
		a.truncated, a.errText, a.errKind)
	if err != nil {
		return fmt.Errorf("recording attempts: %w", mapErr(err))
	}
	return nil
}

// NextDue returns the earliest due time of a pending delivery or lease expiry
// of a sending one; false when there is neither.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT LEAST(
		(SELECT min(due_at) FROM deliveries WHERE state = 'pending'),
		(SELECT min(lease_until) FROM deliveries WHERE state = 'sending'))`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading next due time: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return utc(next.Time), true, nil
}
