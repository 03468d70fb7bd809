package postgres

import (
	"fmt"

	"github.com/hookflow/hookflow"
)

// AddAlias gives the user one more alias. The user's row is touched first,
// so an unknown user is ErrNotFound rather than a foreign-key failure.
func (t *tx) AddAlias(userID string, a hookflow.Alias) error {
	tag, err := t.q.Exec(t.ctx,
		`UPDATE users SET updated_at = $1 WHERE id = $2`, now(), userID)
	if err != nil {
		return fmt.Errorf("adding alias to user %s: %w", userID, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("adding alias to user %s: %w", userID, hookflow.ErrNotFound)
	}
	_, err = t.q.Exec(t.ctx,
		`INSERT INTO user_aliases (user_id, label, name) VALUES ($1, $2, $3)`,
		userID, a.Label, a.Name)
	if err != nil {
		return fmt.Errorf("adding alias %s/%s to user %s: %w", a.Label, a.Name, userID, mapErr(err))
	}
	return nil
}

// DeleteUser deletes the profile and its events; its aliases go with it by
// the schema's ON DELETE CASCADE, while deliveries, which name users
// without a foreign key, stay in the activity log. The events are deleted
// after the profile, whose row lock the delete holds: an intake call that
// locked the user first has committed its events by then, and one that
// comes later finds no user to add events to.
func (t *tx) DeleteUser(id string) error {
	tag, err := t.q.Exec(t.ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("deleting user %s: %w", id, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("deleting user %s: %w", id, hookflow.ErrNotFound)
	}
	if _, err := t.q.Exec(t.ctx, `DELETE FROM events WHERE user_id = $1`, id); err != nil {
		return fmt.Errorf("deleting events of user %s: %w", id, mapErr(err))
	}
	return nil
}

// MergeUser moves from's events and deliveries to into and deletes from.
// Both rows are locked first, so a concurrent merge or delete of either
// waits rather than moving rows to a profile that is going away.
func (t *tx) MergeUser(from, into string) error {
	var n int
	err := t.q.QueryRow(t.ctx, `SELECT count(*) FROM (SELECT id FROM users
		WHERE id = ANY($1) FOR UPDATE) locked`, []string{from, into}).Scan(&n)
	if err != nil {
		return fmt.Errorf("merging user %s into %s: %w", from, into, mapErr(err))
	}
	if n != 2 || from == into {
		return fmt.Errorf("merging user %s into %s: %w", from, into, hookflow.ErrNotFound)
	}

	for _, table := range []string{"events", "deliveries"} {
		_, err := t.q.Exec(t.ctx,
			`UPDATE `+table+` SET user_id = $1 WHERE user_id = $2`, into, from)
		if err != nil {
			return fmt.Errorf("merging %s of user %s into %s: %w", table, from, into, mapErr(err))
		}
	}
	return t.DeleteUser(from)
}
