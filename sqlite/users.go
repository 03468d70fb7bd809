package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/handoff"
)

// tx is the hookflow.Tx of one Update call.
type tx struct {
	ctx context.Context
	q   *writeTx
	// run records what Enqueue leased to the store's hand-off in this run
	// of the call (handoff.go); nil leases nothing.
	run *handoff.Run
}

var _ hookflow.Tx = (*tx)(nil)

// GetUser finds a profile by any kind of reference.
func (s *Store) GetUser(ctx context.Context, ref hookflow.UserRef) (*hookflow.User, error) {
	return findUser(ctx, s.read, ref)
}

// FindUser finds a profile by any kind of reference.
func (t *tx) FindUser(ref hookflow.UserRef) (*hookflow.User, error) {
	return findUser(t.ctx, t.q, ref)
}

const userColumns = `u.id, u.external_id, u.attributes, u.created_at, u.updated_at`

// findUser resolves ref to one profile. Several profiles may share an email;
// the most recently updated one wins, as Braze picks it.
func findUser(ctx context.Context, q querier, ref hookflow.UserRef) (*hookflow.User, error) {
	var where string
	var args []any
	switch {
	case ref.ExternalID != "":
		where, args = `u.external_id = ?`, []any{ref.ExternalID}
	case ref.BrazeID != "":
		where, args = `u.id = ?`, []any{ref.BrazeID}
	case ref.Alias != nil:
		where = `u.id = (SELECT user_id FROM user_aliases WHERE label = ? AND name = ?)`
		args = []any{ref.Alias.Label, ref.Alias.Name}
	case ref.Email != "":
		where, args = `json_extract(u.attributes, '$.email') = ?`, []any{ref.Email}
	default:
		return nil, fmt.Errorf("finding user: empty reference: %w", hookflow.ErrNotFound)
	}
	query := `SELECT ` + userColumns + ` FROM users u WHERE ` + where +
		` ORDER BY u.updated_at DESC, u.id DESC LIMIT 1`

	u, err := scanUser(q.QueryRowContext(ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("finding user by %s: %w", ref, mapErr(err))
	}
	if u.Aliases, err = userAliases(ctx, q, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanUser(r scanner) (*hookflow.User, error) {
	var u hookflow.User
	var ext sql.NullString
	var attrs string
	var created, updated int64
	if err := r.Scan(&u.ID, &ext, &attrs, &created, &updated); err != nil {
		return nil, err
	}
	u.ExternalID = ext.String
	if err := decodeText(attrs, &u.Attributes); err != nil {
		return nil, fmt.Errorf("decoding attributes of user %s: %w", u.ID, err)
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &u, nil
}

// inListChunk is how many keys one statement of readUsers (or readContent)
// binds: it keeps each statement well under SQLite's limit on bound
// parameters. A power of two, see inList.
const inListChunk = 512

// GetUsers reads the profiles with the given braze ids, with their aliases,
// in two queries per inListChunk distinct ids. Unknown ids are absent from
// the map.
func (s *Store) GetUsers(ctx context.Context, ids []string) (map[string]*hookflow.User, error) {
	return readUsers(ctx, s.read, `u.id`, ids)
}

// FindUsersByExternalID reads the profiles with the given external ids,
// with their aliases, keyed by external id: those the writer's profile
// cache keeps from it (profiles.go), the others in two queries per
// inListChunk distinct ids.
func (t *tx) FindUsersByExternalID(ids []string) (map[string]*hookflow.User, error) {
	users, missing := t.q.profiles.find(ids)
	if len(missing) == 0 {
		return users, nil
	}
	byID, err := readUsers(t.ctx, t.q, `u.external_id`, missing)
	if err != nil {
		return nil, err
	}
	read := make(map[string]*hookflow.User, len(byID))
	for _, u := range byID {
		read[u.ExternalID] = u
		users[u.ExternalID] = u
	}
	t.q.profiles.keep(read)
	return users, nil
}

// readUsers reads the profiles whose column (u.id or u.external_id) is one
// of keys, with their aliases, keyed by braze id.
func readUsers(ctx context.Context, q querier, column string, keys []string) (map[string]*hookflow.User, error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	users := make(map[string]*hookflow.User, len(keys))
	for chunk := range slices.Chunk(keys, inListChunk) {
		if err := readUserChunk(ctx, q, column, chunk, users); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// inList returns the placeholders and arguments of an IN list of keys (at
// least one). The list is padded to a power of two with NULLs, so the texts
// are a handful of shapes that the statement cache can keep rather than one
// per batch size. A NULL matches no row, and binds without the copy a
// repeated key costs: 75 keys bind 53 of them.
func inList(keys []string) (string, []any) {
	args := make([]any, 1<<bits.Len(uint(len(keys)-1)))
	for i, k := range keys {
		args[i] = k
	}
	return "?" + strings.Repeat(", ?", len(args)-1), args
}

// readUserChunk adds to into the profiles whose column is one of keys (at
// least one), reading the users in one query and their aliases in another.
func readUserChunk(ctx context.Context, q querier, column string, keys []string, into map[string]*hookflow.User) error {
	marks, args := inList(keys)
	rows, err := q.QueryContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE `+column+` IN (`+marks+`)`, args...)
	if err != nil {
		return fmt.Errorf("reading users: %w", err)
	}
	var found []string
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("reading users: %w", err)
		}
		into[u.ID] = u
		found = append(found, u.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading users: %w", err)
	}
	if len(found) == 0 {
		return nil
	}

	slices.Sort(found)
	marks, args = inList(found)
	rows, err = q.QueryContext(ctx, `SELECT user_id, name, label FROM user_aliases
		WHERE user_id IN (`+marks+`) ORDER BY user_id, label`, args...)
	if err != nil {
		return fmt.Errorf("reading aliases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a hookflow.Alias
		if err := rows.Scan(&id, &a.Name, &a.Label); err != nil {
			return fmt.Errorf("reading aliases: %w", err)
		}
		if u := into[id]; u != nil {
			u.Aliases = append(u.Aliases, a)
		}
	}
	return rows.Err()
}

func userAliases(ctx context.Context, q querier, userID string) ([]hookflow.Alias, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT name, label FROM user_aliases WHERE user_id = ? ORDER BY label`, userID)
	if err != nil {
		return nil, fmt.Errorf("reading aliases: %w", err)
	}
	defer rows.Close()

	var as []hookflow.Alias
	for rows.Next() {
		var a hookflow.Alias
		if err := rows.Scan(&a.Name, &a.Label); err != nil {
			return nil, fmt.Errorf("reading aliases: %w", err)
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

// InsertUser stores a new profile with its aliases. An empty ID is filled
// with a new 24-hex-character braze id, and zero timestamps with now.
func (t *tx) InsertUser(u *hookflow.User) error {
	if u.ID == "" {
		u.ID = newBrazeID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	attrs, err := encodeAttributes(u.Attributes)
	if err != nil {
		return err
	}

	t.q.profiles.forget(u.ID, u.ExternalID)
	_, err = t.q.ExecContext(t.ctx,
		`INSERT INTO users (id, external_id, attributes, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?)`,
		u.ID, nullString(u.ExternalID), attrs, micros(u.CreatedAt), micros(u.UpdatedAt))
	if err != nil {
		return fmt.Errorf("inserting user %s: %w", u.ID, mapErr(err))
	}
	return t.insertAliases(u)
}

// UpdateUser replaces the profile's external id, aliases and attributes. It
// sets u.UpdatedAt to now unless the caller already moved it forward.
func (t *tx) UpdateUser(u *hookflow.User) error {
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = now()
	}
	attrs, err := encodeAttributes(u.Attributes)
	if err != nil {
		return err
	}

	t.q.profiles.forget(u.ID, u.ExternalID)
	res, err := t.q.ExecContext(t.ctx,
		`UPDATE users SET external_id = ?, attributes = ?, updated_at = ? WHERE id = ?`,
		nullString(u.ExternalID), attrs, micros(u.UpdatedAt), u.ID)
	if err != nil {
		return fmt.Errorf("updating user %s: %w", u.ID, mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("updating user %s: %w", u.ID, hookflow.ErrNotFound)
	}

	_, err = t.q.ExecContext(t.ctx, `DELETE FROM user_aliases WHERE user_id = ?`, u.ID)
	if err != nil {
		return fmt.Errorf("updating aliases of user %s: %w", u.ID, err)
	}
	return t.insertAliases(u)
}

func (t *tx) insertAliases(u *hookflow.User) error {
	for _, a := range u.Aliases {
		_, err := t.q.ExecContext(t.ctx,
			`INSERT INTO user_aliases (user_id, label, name) VALUES (?, ?, ?)`,
			u.ID, a.Label, a.Name)
		if err != nil {
			return fmt.Errorf("storing alias %s/%s of user %s: %w",
				a.Label, a.Name, u.ID, mapErr(err))
		}
	}
	return nil
}

// eachUserPage is how many profiles EachUser reads at a time. It reads a page,
// closes the cursor, then calls fn, so fn may write through the same Tx.
const eachUserPage = 500

// EachUser calls fn for every profile in ID order, stopping at fn's first
// error, which it returns.
func (t *tx) EachUser(fn func(*hookflow.User) error) error {
	after := ""
	for {
		users, err := t.userPage(after)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := fn(u); err != nil {
				return err
			}
		}
		if len(users) < eachUserPage {
			return nil
		}
		after = users[len(users)-1].ID
	}
}

// userPage reads up to eachUserPage profiles with IDs after after, with their
// aliases, in two queries.
func (t *tx) userPage(after string) ([]*hookflow.User, error) {
	rows, err := t.q.QueryContext(t.ctx, `SELECT `+userColumns+` FROM users u
		WHERE u.id > ? ORDER BY u.id LIMIT ?`, after, eachUserPage)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	var users []*hookflow.User
	byID := map[string]*hookflow.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing users: %w", err)
		}
		users = append(users, u)
		byID[u.ID] = u
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(users) == 0 {
		return users, err
	}

	last := users[len(users)-1].ID
	rows, err = t.q.QueryContext(t.ctx, `SELECT user_id, name, label FROM user_aliases
		WHERE user_id > ? AND user_id <= ? ORDER BY user_id, label`, after, last)
	if err != nil {
		return nil, fmt.Errorf("listing aliases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a hookflow.Alias
		if err := rows.Scan(&id, &a.Name, &a.Label); err != nil {
			return nil, fmt.Errorf("listing aliases: %w", err)
		}
		if u := byID[id]; u != nil {
			u.Aliases = append(u.Aliases, a)
		}
	}
	return users, rows.Err()
}

// InsertEvents stores events in a few multi-row statements. Empty IDs are
// filled with UUIDv7s.
func (t *tx) InsertEvents(evs []*hookflow.Event) error {
	rows := make([][]any, len(evs))
	for i, ev := range evs {
		if ev.ID == "" {
			ev.ID = uuid.Must(uuid.NewV7()).String()
		}
		props, err := eventProperties(ev)
		if err != nil {
			return fmt.Errorf("encoding properties of event %s: %w", ev.ID, err)
		}
		purchase, err := encodeJSON(ev.Purchase)
		if err != nil {
			return fmt.Errorf("encoding purchase of event %s: %w", ev.ID, err)
		}
		rows[i] = []any{ev.ID, ev.UserID, ev.Name, micros(ev.Time), ev.AppID, props,
			purchase, micros(ev.ReceivedAt)}
	}
	_, err := execRows(t.ctx, t.q, func(n int) string {
		return `INSERT OR FAIL INTO events (id, user_id, name, time, app_id, properties,
			purchase, received_at) VALUES ` + values(n, 8)
	}, rows)
	if err != nil {
		return fmt.Errorf("inserting events: %w", mapErr(err))
	}
	return nil
}

// eventProperties is the column value of ev's properties: the encoding
// intake made when it has one, so the writer does not encode them again
// (a tenth of intake's CPU, all of it on the writer).
func eventProperties(ev *hookflow.Event) (any, error) {
	if ev.EncodedProperties != nil {
		return string(ev.EncodedProperties), nil
	}
	return encodeJSON(ev.Properties)
}

// ListEvents returns a user's events, newest first; limit <= 0 means 100.
// Events of the same time come newest stored first.
func (s *Store) ListEvents(ctx context.Context, userID string, limit int) ([]*hookflow.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	// The inner query reads only events_segment_user; just the rows it
	// picks are read from the table.
	rows, err := s.read.QueryContext(ctx, `SELECT id, user_id, name, time, app_id,
		properties, purchase, received_at FROM events WHERE seq IN (
			SELECT seq FROM events WHERE `+ofUser+` ORDER BY time DESC, seq DESC LIMIT ?)
		ORDER BY time DESC, seq DESC`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()

	var evs []*hookflow.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("listing events: %w", err)
		}
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}

// ofUser is the condition that selects one user's events, whose id is its
// one parameter, through events_segment_user (migration 7).
var ofUser = inSegments("events") + ` AND user_id = ?`

// inSegments is the condition that lists every segment of table, whose
// rows are numbered by seq in segments of 1 << 13 (events and deliveries),
// newest first. An index that starts with the segment (events_segment_user,
// deliveries_segment_user) then finds one user's rows with one probe per
// segment; without the segments listed, SQLite could not use it for a user
// and would read the whole table.
func inSegments(table string) string {
	return `seq >> 13 IN (WITH RECURSIVE segment(n) AS (
		SELECT (SELECT coalesce(max(seq), 0) FROM ` + table + `) >> 13
		UNION ALL SELECT n - 1 FROM segment WHERE n > 0)
	SELECT n FROM segment)`
}

func scanEvent(r scanner) (*hookflow.Event, error) {
	var ev hookflow.Event
	var props, purchase sql.NullString
	var at, received int64
	err := r.Scan(&ev.ID, &ev.UserID, &ev.Name, &at, &ev.AppID, &props, &purchase, &received)
	if err != nil {
		return nil, err
	}
	ev.Time, ev.ReceivedAt = fromMicros(at), fromMicros(received)
	if err := decodeJSON(props, &ev.Properties); err != nil {
		return nil, err
	}
	if err := decodeJSON(purchase, &ev.Purchase); err != nil {
		return nil, err
	}
	return &ev, nil
}

// newBrazeID returns 24 random lowercase hex characters.
func newBrazeID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func encodeAttributes(attrs map[string]any) (string, error) {
	if attrs == nil {
		return "{}", nil
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return "", fmt.Errorf("encoding attributes: %w", err)
	}
	return string(b), nil
}

// encodeJSON encodes v, storing NULL for a nil map or pointer.
func encodeJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil
}

// decodeJSON decodes a column written by encodeJSON, leaving v alone on NULL.
func decodeJSON(col sql.NullString, v any) error {
	if !col.Valid {
		return nil
	}
	return decodeText(col.String, v)
}

// decodeText decodes stored JSON into v. Free-form values (attributes,
// properties, payloads) keep whole numbers whole, per
// hookflow.NormalizeNumbers, so 9007199254740993 comes back exact.
func decodeText(text string, v any) error {
	if m, ok := v.(*map[string]any); ok && text == "{}" {
		// The profile of a user only ever named by events: no decoder
		// needed, with the same result.
		if *m == nil {
			*m = map[string]any{}
		}
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding stored JSON: %w", err)
	}
	var maps []map[string]any
	switch x := v.(type) {
	case *map[string]any:
		maps = append(maps, *x)
	case *hookflow.Payload:
		maps = append(maps, x.TriggerProperties, x.Context)
		if x.Event != nil {
			maps = append(maps, x.Event.Properties)
		}
	}
	for _, m := range maps {
		if _, err := hookflow.NormalizeNumbers(m); err != nil {
			return fmt.Errorf("decoding stored JSON: %w", err)
		}
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
