package sqlite

import (
	"fmt"

	"github.com/hookflow/hookflow"
)

// AddAlias gives the user one more alias. The user's row is touched first,
// so an unknown user is ErrNotFound rather than a foreign-key failure.
func (t *tx) AddAlias(userID string, a hookflow.Alias) error {
	t.q.profiles.forget(userID, "")
	res, err := t.q.ExecContext(t.ctx,
		`UPDATE users SET updated_at = ? WHERE id = ?`, micros(now()), userID)
	if err != nil {
		return fmt.Errorf("adding alias to user %s: %w", userID, mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("adding alias to user %s: %w", userID, hookflow.ErrNotFound)
	}
	_, err = t.q.ExecContext(t.ctx,
		`INSERT INTO user_aliases (user_id, label, name) VALUES (?, ?, ?)`,
		userID, a.Label, a.Name)
	if err != nil {
		return fmt.Errorf("adding alias %s/%s to user %s: %w", a.Label, a.Name, userID, mapErr(err))
	}
	return nil
}

// DeleteUser deletes the profile and its events; its aliases go with it by
// the schema's ON DELETE CASCADE, while deliveries, which name users without
// a foreign key, stay in the activity log. Events have no foreign key
// either (migration 6: checking one cost every insert a lookup in users),
// so their delete is here.
func (t *tx) DeleteUser(id string) error {
	t.q.profiles.forget(id, "")
	res, err := t.q.ExecContext(t.ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("deleting user %s: %w", id, mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("deleting user %s: %w", id, hookflow.ErrNotFound)
	}
	_, err = t.q.ExecContext(t.ctx, `DELETE FROM events WHERE `+ofUser, id)
	if err != nil {
		return fmt.Errorf("deleting events of user %s: %w", id, mapErr(err))
	}
	return nil
}

// MergeUser moves from's events and deliveries to into and deletes from.
func (t *tx) MergeUser(from, into string) error {
	var n int
	err := t.q.QueryRowContext(t.ctx,
		`SELECT count(*) FROM users WHERE id IN (?, ?)`, from, into).Scan(&n)
	if err != nil {
		return fmt.Errorf("merging user %s into %s: %w", from, into, mapErr(err))
	}
	if n != 2 || from == into {
		return fmt.Errorf("merging user %s into %s: %w", from, into, hookflow.ErrNotFound)
	}

	moves := []struct{ table, query string }{
		{"events", `UPDATE events SET user_id = ? WHERE ` + ofUser},
		{"deliveries", `UPDATE deliveries SET user_id = ? WHERE ` + inSegments("deliveries") + ` AND user_id = ?`},
	}
	for _, m := range moves {
		if _, err := t.q.ExecContext(t.ctx, m.query, into, from); err != nil {
			return fmt.Errorf("merging %s of user %s into %s: %w", m.table, from, into, mapErr(err))
		}
	}
	return t.DeleteUser(from)
}
