-- events drops its foreign key to users. Each event inserted ran the key's
-- check, a query of its own that also locked the user's row FOR KEY
-- SHARE: a fifth of the time of the backend that runs a node's intake
-- (perf, bench intake), for users intake has just locked FOR NO KEY
-- UPDATE itself. SQLite's events dropped theirs in its migration 6.
--
-- Events are only inserted for users the same transaction has locked or
-- created, and DeleteUser, which a lock on the user's row orders against
-- intake, deletes the user's events itself where ON DELETE CASCADE did.
-- A node of the version before still relies on the cascade: while both
-- versions run, a user it deletes keeps its events (see the README).

-- +goose Up
ALTER TABLE events DROP CONSTRAINT events_user_id_fkey;

-- +goose Down
DELETE FROM events WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.id = events.user_id);
ALTER TABLE events ADD CONSTRAINT events_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
