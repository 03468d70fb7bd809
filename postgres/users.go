package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/handoff"
)

// tx is the hookflow.Tx of one Update call.
type tx struct {
	ctx context.Context
	q   *pipe
	// enqueued records that the transaction must notify listeners.
	enqueued bool
	// locked holds the ids of the profiles LockUsers locked and of those
	// the transaction created; nil until LockUsers is called.
	locked map[string]bool
	// run records what Enqueue leased to the store's hand-off in this run
	// of the call (handoff.go); nil leases nothing.
	run *handoff.Run
}

var _ hookflow.Tx = (*tx)(nil)

// GetUser finds a profile by any kind of reference.
func (s *Store) GetUser(ctx context.Context, ref hookflow.UserRef) (*hookflow.User, error) {
	return findUser(ctx, s.pool, ref)
}

// FindUser finds a profile by any kind of reference. After LockUsers, a
// profile it did not lock is one another writer created meanwhile:
// ErrConflict, so that the write is run again and locks it.
func (t *tx) FindUser(ref hookflow.UserRef) (*hookflow.User, error) {
	u, err := findUser(t.ctx, t.q, ref)
	if err == nil && t.locked != nil && !t.locked[u.ID] {
		return nil, fmt.Errorf("finding user by %s: %w: created by another writer after the lock was taken",
			ref, hookflow.ErrConflict)
	}
	return u, err
}

const userColumns = `u.id, u.external_id, u.attributes, u.created_at, u.updated_at`

// findUser resolves ref to one profile. Several profiles may share an email;
// the most recently updated one wins, as Braze picks it.
func findUser(ctx context.Context, q querier, ref hookflow.UserRef) (*hookflow.User, error) {
	var where string
	var args []any
	switch {
	case ref.ExternalID != "":
		where, args = `u.external_id = $1`, []any{ref.ExternalID}
	case ref.BrazeID != "":
		where, args = `u.id = $1`, []any{ref.BrazeID}
	case ref.Alias != nil:
		where = `u.id = (SELECT user_id FROM user_aliases WHERE label = $1 AND name = $2)`
		args = []any{ref.Alias.Label, ref.Alias.Name}
	case ref.Email != "":
		where, args = `u.email = $1`, []any{[]byte(ref.Email)}
	default:
		return nil, fmt.Errorf("finding user: empty reference: %w", hookflow.ErrNotFound)
	}
	query := `SELECT ` + userColumns + ` FROM users u WHERE ` + where +
		` ORDER BY u.updated_at DESC, u.id DESC LIMIT 1`

	u, err := scanUser(q.QueryRow(ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("finding user by %s: %w", ref, mapErr(err))
	}
	if u.Aliases, err = userAliases(ctx, q, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

func scanUser(r pgx.Row) (*hookflow.User, error) {
	var u hookflow.User
	var ext *string
	var attrs string
	err := r.Scan(&u.ID, &ext, &attrs, &u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if ext != nil {
		u.ExternalID = *ext
	}
	if u.Attributes, err = decodeMap(&attrs); err != nil {
		return nil, fmt.Errorf("decoding attributes of user %s: %w", u.ID, err)
	}
	u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
	return &u, nil
}

// GetUsers reads the profiles with the given braze ids, with their aliases,
// in two queries whatever the number of ids: the ids travel as one array
// parameter. Unknown ids are absent from the map.
func (s *Store) GetUsers(ctx context.Context, ids []string) (map[string]*hookflow.User, error) {
	return readUsers(ctx, s.pool, `u.id`, ids, true)
}

// FindUsersByExternalID reads the profiles with the given external ids,
// with their aliases, keyed by external id, in two queries. After
// LockUsers, a profile it did not lock is ErrConflict, as in FindUser.
func (t *tx) FindUsersByExternalID(ids []string) (map[string]*hookflow.User, error) {
	byID, err := readUsers(t.ctx, t.q, `u.external_id`, ids, false)
	if err != nil {
		return nil, err
	}
	users := make(map[string]*hookflow.User, len(byID))
	for _, u := range byID {
		if t.locked != nil && !t.locked[u.ID] {
			return nil, fmt.Errorf("finding user by external_id %s: %w: created by another writer after the lock was taken",
				u.ExternalID, hookflow.ErrConflict)
		}
		users[u.ExternalID] = u
	}
	return users, nil
}

// readUsers reads the profiles whose column (u.id or u.external_id) is one
// of keys, with their aliases, keyed by braze id.
//
// A batch of a sender's renders (replan) asks for hundreds of profiles,
// and its statements are planned for each run (planEachRun): a kept plan
// made while users was nearly empty scanned every profile, comparing each
// with every key, 60 ms a batch at 10,000 users. Intake's calls, 75 keys
// at most and one per request, keep their plan: planning each of them
// cost more than it saved (bench intake 24,000 -> 18,000 events/s).
func readUsers(ctx context.Context, q querier, column string, keys []string, replan bool) (map[string]*hookflow.User, error) {
	users := make(map[string]*hookflow.User, len(keys))
	if len(keys) == 0 {
		return users, nil
	}
	mode := []any{}
	if replan {
		mode = append(mode, planEachRun)
	}
	rows, err := q.Query(ctx,
		`SELECT `+userColumns+` FROM users u WHERE `+column+` = ANY($1)`, append(mode, keys)...)
	if err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookflow.User, error) {
		return scanUser(r)
	})
	if err != nil {
		return nil, fmt.Errorf("reading users: %w", err)
	}
	if len(list) == 0 {
		return users, nil
	}
	found := make([]string, len(list))
	for i, u := range list {
		users[u.ID] = u
		found[i] = u.ID
	}

	rows, err = q.Query(ctx, `SELECT user_id, name, label FROM user_aliases
		WHERE user_id = ANY($1) ORDER BY user_id, label`, append(mode, found)...)
	if err != nil {
		return nil, fmt.Errorf("reading aliases: %w", err)
	}
	var id string
	var a hookflow.Alias
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Name, &a.Label}, func() error {
		if u := users[id]; u != nil {
			u.Aliases = append(u.Aliases, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading aliases: %w", err)
	}
	return users, nil
}

func userAliases(ctx context.Context, q querier, userID string) ([]hookflow.Alias, error) {
	rows, err := q.Query(ctx,
		`SELECT name, label FROM user_aliases WHERE user_id = $1 ORDER BY label`, userID)
	if err != nil {
		return nil, fmt.Errorf("reading aliases: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hookflow.Alias, error) {
		var a hookflow.Alias
		err := r.Scan(&a.Name, &a.Label)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading aliases: %w", err)
	}
	if len(as) == 0 {
		return nil, nil
	}
	return as, nil
}

var _ hookflow.UserLocker = (*tx)(nil)

// LockUsers locks the profiles refs name, in one statement and in id order
// (see hookflow.UserLocker). NO KEY UPDATE still lets other transactions
// insert events and deliveries that reference a locked user.
func (t *tx) LockUsers(refs []hookflow.UserRef) error {
	if t.locked == nil {
		t.locked = map[string]bool{}
	}
	sql, args := lockUsersSQL(refs)
	if sql == "" {
		return nil
	}
	rows, err := t.q.Query(t.ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("locking %d users: %w", len(refs), mapErr(err))
	}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		t.locked[id] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("locking %d users: %w", len(refs), mapErr(err))
	}
	return nil
}

// lockUsersSQL is LockUsers' statement and its arguments: one select per
// kind of reference refs use, each by its own index, and none for the
// kinds they do not use; "" when refs name no one.
//
// The statement used to select all four kinds, empty arrays for the ones
// a call did not use, and join them to the profiles. pgx prepares it, and
// the plan PostgreSQL kept was made while the tables were nearly empty:
// it scanned every profile for the join and again for the braze ids,
// whatever the call named, 1-2 ms a call at 10,000 users and most of the
// time of the backend that runs a node's intake (BENCHMARKS.md: intake
// 17,300 -> 24,000 events/s). A call nearly always names its users one
// way, and that statement is one index scan. Several kinds are looked up
// by their ids in the primary key.
func lockUsersSQL(refs []hookflow.UserRef) (string, []any) {
	var ext, ids, labels, names []string
	var emails [][]byte
	for _, r := range refs {
		switch {
		case r.ExternalID != "":
			ext = append(ext, r.ExternalID)
		case r.BrazeID != "":
			ids = append(ids, r.BrazeID)
		case r.Alias != nil:
			labels, names = append(labels, r.Alias.Label), append(names, r.Alias.Name)
		case r.Email != "":
			emails = append(emails, []byte(r.Email))
		}
	}
	var selects []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(ext) > 0 {
		selects = append(selects, `SELECT id FROM users WHERE external_id = ANY(`+arg(ext)+`)`)
	}
	if len(ids) > 0 {
		selects = append(selects, `SELECT id FROM users WHERE id = ANY(`+arg(ids)+`)`)
	}
	if len(emails) > 0 {
		selects = append(selects, `SELECT id FROM users WHERE email = ANY(`+arg(emails)+`)`)
	}
	if len(labels) > 0 {
		selects = append(selects, `SELECT a.user_id FROM user_aliases a
			JOIN unnest(`+arg(labels)+`::text[], `+arg(names)+`::text[]) AS r(label, name)
			ON a.label = r.label AND a.name = r.name`)
	}
	switch len(selects) {
	case 0:
		return "", nil
	case 1:
		if len(labels) == 0 {
			return selects[0] + ` ORDER BY id FOR NO KEY UPDATE`, args
		}
	}
	return `SELECT u.id FROM users u WHERE u.id = ANY(ARRAY(` + strings.Join(selects, " UNION ALL ") + `))
		ORDER BY u.id FOR NO KEY UPDATE OF u`, args
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

	// Queued (pipe.go): a request's new profiles go to the server together.
	t.q.queue("inserting user "+u.ID,
		`INSERT INTO users (id, external_id, email, attributes, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, nullString(u.ExternalID), emailColumn(u), attrs, u.CreatedAt, u.UpdatedAt)
	if t.locked != nil {
		t.locked[u.ID] = true // a new row is the inserting transaction's alone
	}
	t.insertAliases(u)
	return nil
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

	// Queued (pipe.go), as InsertUser's are: a /users/track batch of
	// attribute updates took two round trips a profile.
	t.q.queueChange("updating user "+u.ID, `UPDATE users SET external_id = $1, email = $2,
		attributes = $3, updated_at = $4 WHERE id = $5`,
		nullString(u.ExternalID), emailColumn(u), attrs, u.UpdatedAt, u.ID)
	t.q.queue("updating aliases of user "+u.ID,
		`DELETE FROM user_aliases WHERE user_id = $1`, u.ID)
	t.insertAliases(u)
	return nil
}

// emailColumn is the email attribute as the users.email column holds it.
func emailColumn(u *hookflow.User) []byte {
	if e := u.Email(); e != "" {
		return []byte(e)
	}
	return nil
}

// insertAliases queues the inserts of u's aliases (pipe.go).
func (t *tx) insertAliases(u *hookflow.User) {
	for _, a := range u.Aliases {
		t.q.queue(fmt.Sprintf("storing alias %s/%s of user %s", a.Label, a.Name, u.ID),
			`INSERT INTO user_aliases (user_id, label, name) VALUES ($1, $2, $3)`,
			u.ID, a.Label, a.Name)
	}
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
	rows, err := t.q.Query(t.ctx, `SELECT `+userColumns+` FROM users u
		WHERE u.id > $1 ORDER BY u.id LIMIT $2`, after, eachUserPage)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookflow.User, error) {
		return scanUser(r)
	})
	if err != nil || len(users) == 0 {
		return users, err
	}

	byID := make(map[string]*hookflow.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	rows, err = t.q.Query(t.ctx, `SELECT user_id, name, label FROM user_aliases
		WHERE user_id > $1 AND user_id <= $2 ORDER BY user_id, label`,
		after, users[len(users)-1].ID)
	if err != nil {
		return nil, fmt.Errorf("listing aliases: %w", err)
	}
	var id string
	var a hookflow.Alias
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Name, &a.Label}, func() error {
		if u := byID[id]; u != nil {
			u.Aliases = append(u.Aliases, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing aliases: %w", err)
	}
	return users, nil
}

// InsertEvents stores events in one statement. Empty IDs are filled with
// UUIDv7s.
func (t *tx) InsertEvents(evs []*hookflow.Event) error {
	if len(evs) == 0 {
		return nil
	}
	var c struct {
		id, user, name, app  []string
		at, received         []time.Time
		properties, purchase []*string
	}
	for _, ev := range evs {
		if ev.ID == "" {
			ev.ID = uuid.Must(uuid.NewV7()).String()
		}
		props, err := encodeDoc(markedMap(ev.Properties))
		if err != nil {
			return fmt.Errorf("encoding properties of event %s: %w", ev.ID, err)
		}
		purchase, err := encodeDoc(ev.Purchase)
		if err != nil {
			return fmt.Errorf("encoding purchase of event %s: %w", ev.ID, err)
		}
		c.id, c.user, c.name = append(c.id, ev.ID), append(c.user, ev.UserID), append(c.name, ev.Name)
		c.app, c.at, c.received = append(c.app, ev.AppID), append(c.at, ev.Time), append(c.received, ev.ReceivedAt)
		c.properties, c.purchase = append(c.properties, props), append(c.purchase, purchase)
	}

	_, err := t.q.Exec(t.ctx, `INSERT INTO events (id, user_id, name, time, app_id,
		properties, purchase, received_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],
			$5::text[], $6::text[], $7::text[], $8::timestamptz[])`,
		c.id, c.user, c.name, c.at, c.app, c.properties, c.purchase, c.received)
	if err != nil {
		return fmt.Errorf("inserting events: %w", mapErr(err))
	}
	return nil
}

// ListEvents returns a user's events, newest first; limit <= 0 means 100.
func (s *Store) ListEvents(ctx context.Context, userID string, limit int) ([]*hookflow.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, user_id, name, time, app_id,
		properties, purchase, received_at FROM events WHERE user_id = $1
		ORDER BY time DESC, id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookflow.Event, error) {
		return scanEvent(r)
	})
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	return evs, nil
}

func scanEvent(r pgx.Row) (*hookflow.Event, error) {
	var ev hookflow.Event
	var props, purchase *string
	err := r.Scan(&ev.ID, &ev.UserID, &ev.Name, &ev.Time, &ev.AppID, &props,
		&purchase, &ev.ReceivedAt)
	if err != nil {
		return nil, err
	}
	ev.Time, ev.ReceivedAt = utc(ev.Time), utc(ev.ReceivedAt)
	if ev.Properties, err = decodeMap(props); err != nil {
		return nil, err
	}
	if err := decodeDoc(purchase, &ev.Purchase); err != nil {
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
	doc, err := encodeDoc(markedMap(attrs))
	if err != nil {
		return "", fmt.Errorf("encoding attributes: %w", err)
	}
	return *doc, nil
}
