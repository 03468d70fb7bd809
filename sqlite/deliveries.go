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

// A delivery is two rows: its row in deliveries, which the queue updates
// (claim, render, outcome), and its content in delivery_content, written
// once at enqueue (the payload) and once at render (the request). Keeping
// the content apart keeps the queue's rewrites small (migration 8).

// stateColumns are the columns of deliveries, and contentColumns those of
// delivery_content after its key.
const (
	stateColumns = `id, origin, campaign_id, dispatch_id, send_id, user_id,
	external_id, state, attempts, due_at, lease_until, last_status, last_error,
	abort_reason, first_attempt_at, created_at, updated_at`
	contentColumns = `payload, request_method, request_url, request_headers, request_body`
)

// deliveryColumns read whole deliveries from withContent. The two tables
// name no column alike, so conditions on deliveries need no prefix.
const (
	deliveryColumns = stateColumns + `, ` + contentColumns
	withContent     = `deliveries LEFT JOIN delivery_content
		ON delivery_content.delivery_id = deliveries.id`
)

// stateRow is a row of deliveries as scanned.
type stateRow struct {
	d                                   hookflow.Delivery
	campaign                            sql.NullString
	due, lease, first, created, updated int64
}

func (r *stateRow) dest() []any {
	d := &r.d
	return []any{&d.ID, &d.Origin, &r.campaign, &d.DispatchID, &d.SendID, &d.UserID,
		&d.ExternalID, &d.State, &d.Attempts, &r.due, &r.lease, &d.LastStatus, &d.LastError,
		&d.AbortReason, &r.first, &r.created, &r.updated}
}

func (r *stateRow) delivery() *hookflow.Delivery {
	d := r.d
	d.CampaignID = r.campaign.String
	d.DueAt, d.LeaseUntil, d.FirstAttemptAt = fromMicros(r.due), fromMicros(r.lease), fromMicros(r.first)
	d.CreatedAt, d.UpdatedAt = fromMicros(r.created), fromMicros(r.updated)
	return &d
}

// contentRow is a row of delivery_content as scanned; all NULL when a
// delivery has none.
type contentRow struct {
	payload, method, url, headers sql.NullString
	body                          []byte
}

func (r *contentRow) dest() []any {
	return []any{&r.payload, &r.method, &r.url, &r.headers, &r.body}
}

// fill decodes the content into d.
func (r *contentRow) fill(d *hookflow.Delivery) error {
	if r.payload.Valid {
		if err := decodeText(r.payload.String, &d.Payload); err != nil {
			return fmt.Errorf("decoding payload of delivery %s: %w", d.ID, err)
		}
	}
	if r.method.Valid {
		d.Request = &hookflow.Request{Method: r.method.String, URL: r.url.String}
		if len(r.body) > 0 {
			d.Request.Body = r.body
		}
		if err := decodeJSON(r.headers, &d.Request.Headers); err != nil {
			return fmt.Errorf("decoding request of delivery %s: %w", d.ID, err)
		}
	}
	return nil
}

// scanDelivery scans a row of deliveryColumns.
func scanDelivery(r scanner) (*hookflow.Delivery, error) {
	var st stateRow
	var c contentRow
	if err := r.Scan(append(st.dest(), c.dest()...)...); err != nil {
		return nil, err
	}
	d := st.delivery()
	return d, c.fill(d)
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
	states := make([][]any, len(ds))
	contents := make([][]any, len(ds))
	for i, d := range ds {
		fillDelivery(d)
		var size int
		var err error
		if contents[i], size, err = contentArgs(d); err != nil {
			return err
		}
		row, err := t.run.Lease(d, size)
		if err != nil {
			return err
		}
		states[i] = stateArgs(row)
	}
	_, err := execRows(t.ctx, t.q, func(n int) string {
		return `INSERT OR FAIL INTO deliveries (` + stateColumns + `, tracked) VALUES ` + values(n, 18)
	}, states)
	if err == nil {
		_, err = execRows(t.ctx, t.q, func(n int) string {
			return `INSERT OR FAIL INTO delivery_content (delivery_id, ` + contentColumns + `) VALUES ` + values(n, 6)
		}, contents)
	}
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

// stateArgs are the values of d's row of deliveries, in stateColumns order
// and then tracked.
func stateArgs(d *hookflow.Delivery) []any {
	return []any{d.ID, d.Origin, nullString(d.CampaignID), d.DispatchID, d.SendID,
		d.UserID, d.ExternalID, d.State, d.Attempts, micros(d.DueAt), micros(d.LeaseUntil),
		d.LastStatus, d.LastError, d.AbortReason, micros(d.FirstAttemptAt),
		micros(d.CreatedAt), micros(d.UpdatedAt), !d.Untracked}
}

// contentArgs are the values of d's row of delivery_content, its key
// first, and the size of its encoded payload.
func contentArgs(d *hookflow.Delivery) ([]any, int, error) {
	payload, err := json.Marshal(d.Payload)
	if err != nil {
		return nil, 0, fmt.Errorf("encoding payload of delivery %s: %w", d.ID, err)
	}
	method, url, headers, body, err := requestArgs(d.Request)
	if err != nil {
		return nil, 0, fmt.Errorf("encoding request of delivery %s: %w", d.ID, err)
	}
	return []any{d.ID, string(payload), method, url, headers, body}, len(payload), nil
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
	ds, err := claim(ctx, s.write, at, s.handoff.TableShare(limit), lease)
	if err != nil {
		return nil, err
	}
	if ds, err = s.withContent(ctx, at, ds); err != nil {
		return nil, err
	}
	return s.withHandedOff(ctx, at, ds, limit), nil
}

// withContent reads the content of deliveries just claimed. The claim is
// committed by then, so the read does not stop for a cancelled ctx (a
// shutdown), and if it fails anyway the deliveries are handed back to the
// queue, as they were, rather than left claimed until their leases expire
// by a caller that got no deliveries.
func (s *Store) withContent(ctx context.Context, at time.Time, ds []*hookflow.Delivery) ([]*hookflow.Delivery, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), contentTimeout)
	defer cancel()
	err := s.readContent(ctx, ds)
	if err == nil {
		return ds, nil
	}
	back := make([]hookflow.Deferral, len(ds))
	for i, d := range ds {
		back[i] = hookflow.Deferral{DeliveryID: d.ID, DueAt: d.DueAt}
	}
	if derr := s.Defer(ctx, at, back); derr != nil {
		s.logger.Warn("handing back claimed deliveries", "count", len(ds), "err", derr)
	}
	return nil, err
}

// contentTimeout bounds reading the content of a claimed batch, and handing
// it back when that fails.
const contentTimeout = 10 * time.Second

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
		RETURNING ` + stateColumns

// claim runs claimSQL in q and returns the claimed deliveries, oldest due
// first, without their content: readContent reads it once the write is
// over, on the read pool, so the writer spends no time on it. A claimed
// delivery's content does not change under it: its payload never does,
// and its request is stored by the sender that holds its lease.
func claim(ctx context.Context, q querier, at time.Time, limit int,
	lease time.Duration) ([]*hookflow.Delivery, error) {
	nowUS := micros(at)
	rows, err := q.QueryContext(ctx, claimSQL,
		micros(at.Add(lease)), nowUS, nowUS, limit, nowUS, limit, limit)
	if err != nil {
		return nil, fmt.Errorf("claiming deliveries: %w", mapErr(err))
	}
	defer rows.Close()
	var ds []*hookflow.Delivery
	for rows.Next() {
		var st stateRow
		if err := rows.Scan(st.dest()...); err != nil {
			return nil, fmt.Errorf("claiming deliveries: %w", mapErr(err))
		}
		ds = append(ds, st.delivery())
	}
	if err := rows.Err(); err != nil {
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

// readContent reads and decodes the content of ds from the read pool, in
// one query per inListChunk deliveries.
func (s *Store) readContent(ctx context.Context, ds []*hookflow.Delivery) error {
	byID := make(map[string]*hookflow.Delivery, len(ds))
	ids := make([]string, len(ds))
	for i, d := range ds {
		byID[d.ID], ids[i] = d, d.ID
	}
	slices.Sort(ids)
	for chunk := range slices.Chunk(ids, inListChunk) {
		if err := s.readContentChunk(ctx, chunk, byID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) readContentChunk(ctx context.Context, ids []string, byID map[string]*hookflow.Delivery) error {
	marks, args := inList(ids)
	rows, err := s.read.QueryContext(ctx, `SELECT delivery_id, `+contentColumns+`
		FROM delivery_content WHERE delivery_id IN (`+marks+`)`, args...)
	if err != nil {
		return fmt.Errorf("reading content of claimed deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var c contentRow
		if err := rows.Scan(append([]any{&id}, c.dest()...)...); err != nil {
			return fmt.Errorf("reading content of claimed deliveries: %w", err)
		}
		if err := c.fill(byID[id]); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SaveRendered stores rendering outcomes in one transaction: a request keeps
// its delivery sending, an abort ends it aborted, an error ends it failed.
// ErrNotFound, and nothing stored, if a delivery does not exist.
func (s *Store) SaveRendered(ctx context.Context, at time.Time, results []hookflow.RenderResult) error {
	r, err := renderRows(results, at)
	if err != nil || len(r.states)+len(r.requests) == 0 {
		return err
	}
	return s.inWrite(ctx, func(t *writeTx) error {
		return saveRendered(ctx, t, r)
	})
}

// SaveAndClaim records w's completions as Complete does, stores its
// rendering outcomes as SaveRendered does and hands its deferrals back as
// Defer does, then claims as Claim does, in one transaction: in a
// savepoint of the group commit (group.go), which rolls back alone if any
// part fails.
func (s *Store) SaveAndClaim(ctx context.Context, at time.Time, w hookflow.QueueWrite,
	limit int, lease time.Duration) ([]*hookflow.Delivery, error) {
	r, err := renderRows(w.Rendered, at)
	if err != nil {
		return nil, err
	}
	c, err := newCompletionRows(w.Completions, at)
	if err != nil {
		return nil, err
	}
	var ds []*hookflow.Delivery
	// The write joins the group commit of the /users/track calls waiting
	// (group.go): one commit instead of two, and the pages both touch
	// (the deliveries just enqueued, the indexes' last pages) written once.
	// Its statements run under the group's context, never the caller's:
	// a statement interrupted by a cancelled context can roll back the
	// whole group.
	//
	// The claim's lease runs from when the claim runs, not from at: behind
	// a long group (a broadcast) the call may wait for minutes, and a lease
	// counted from before that would end early, under the attempt it was
	// taken for. The wait is measured on the system clock and lengthens
	// the lease only, so what is due and what expired is still judged at
	// the caller's at, on the caller's clock; in whole seconds, so the
	// usual wait of a few milliseconds leaves the lease as given (its
	// margin covers that).
	began := time.Now()
	waited := func() time.Duration { return time.Since(began).Truncate(time.Second) }
	err = s.Update(ctx, func(htx hookflow.Tx) error {
		ctx, t := htx.(*tx).ctx, htx.(*tx).q
		if len(c.attempts) > 0 {
			if err := c.write(ctx, t); err != nil {
				return err
			}
		}
		if err := saveRendered(ctx, t, r); err != nil {
			return err
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
		ds, err = claim(ctx, t, at, s.handoff.TableShare(limit), lease+waited())
		return err
	})
	if err != nil {
		return nil, err
	}
	if ds, err = s.withContent(ctx, at, ds); err != nil {
		return nil, err
	}
	// Held deliveries are aged at the time they are handed out.
	return s.withHandedOff(ctx, at.Add(waited()), ds, limit), nil
}

// renders are rendering outcomes as rows: of renderStateSQL, one per
// delivery that ends at its render (aborted, failed), and of
// renderRequestSQL, one per rendered request.
type renders struct {
	states, requests [][]any
}

func renderRows(results []hookflow.RenderResult, at time.Time) (renders, error) {
	var r renders
	for _, res := range results {
		state, request, err := renderRow(res, micros(at))
		if err != nil {
			return renders{}, err
		}
		if state != nil {
			r.states = append(r.states, state)
		}
		if request != nil {
			r.requests = append(r.requests, request)
		}
	}
	return r, nil
}

// saveRendered stores r in t; ErrNotFound if a delivery does not exist.
// A rendered request leaves its delivery's row as the claim left it
// (sending, leased): only its content changes, one row written instead of
// two for nearly every delivery. The outcome that follows moves the row.
func saveRendered(ctx context.Context, t *writeTx, r renders) error {
	if err := saveRenderRows(ctx, t, renderStateSQL, r.states); err != nil {
		return fmt.Errorf("saving rendered deliveries: %w", err)
	}
	if err := saveRenderRows(ctx, t, renderRequestSQL, r.requests); err != nil {
		return fmt.Errorf("saving rendered requests: %w", err)
	}
	return nil
}

// saveRenderRows runs the statement build makes for rows, whose first
// column is a delivery id; ErrNotFound if a delivery does not exist.
func saveRenderRows(ctx context.Context, t *writeTx, build func(n int) string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make(map[any]bool, len(rows))
	for _, row := range rows {
		ids[row[0]] = true
	}
	n, err := execRows(ctx, t, build, rows)
	if err != nil {
		return mapErr(err)
	}
	if n < int64(len(ids)) {
		return fmt.Errorf("%d of %d: %w", int64(len(ids))-n, len(ids), hookflow.ErrNotFound)
	}
	return nil
}

// renderStateSQL ends n deliveries in the states of the rows of renderRow,
// releasing their leases.
func renderStateSQL(n int) string {
	return `UPDATE OR FAIL deliveries SET state = v.column2,
		abort_reason = COALESCE(v.column3, deliveries.abort_reason),
		last_error = COALESCE(v.column4, deliveries.last_error),
		lease_until = 0, updated_at = v.column5
		FROM (VALUES ` + values(n, 5) + `) AS v WHERE deliveries.id = v.column1`
}

// renderRequestSQL stores n rendered requests from the request rows of
// renderRow.
func renderRequestSQL(n int) string {
	return `UPDATE OR FAIL delivery_content SET request_method = v.column2,
		request_url = v.column3, request_headers = v.column4, request_body = v.column5
		FROM (VALUES ` + values(n, 5) + `) AS v WHERE delivery_content.delivery_id = v.column1`
}

// renderRow is r's row of renderStateSQL when r ends its delivery, or of
// renderRequestSQL when r rendered a request.
func renderRow(r hookflow.RenderResult, at int64) (state, request []any, err error) {
	switch {
	case r.AbortReason != "":
		return []any{r.DeliveryID, hookflow.StateAborted, r.AbortReason, nil, at}, nil, nil
	case r.Error != "":
		return []any{r.DeliveryID, hookflow.StateFailed, nil, r.Error, at}, nil, nil
	case r.Request != nil:
		method, url, headers, body, err := requestArgs(r.Request)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding request of delivery %s: %w", r.DeliveryID, err)
		}
		return nil, []any{r.DeliveryID, method, url, headers, body}, nil
	}
	return nil, nil, fmt.Errorf("saving render of delivery %s: %w", r.DeliveryID,
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
	return `UPDATE OR FAIL deliveries SET state = v.column2,
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
