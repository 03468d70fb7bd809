-- events drops the index of its TEXT primary key and its foreign key to
-- users. Every event inserted an entry into three B-trees on the one writer
-- (the rows, the id index and events_user_time) and looked its user up in
-- users, and nothing reads events by id: every read goes by user, through
-- events_user_time (a user's events newest first, the merge of
-- /users/identify). The rows keep their insertion order in the rowid, so
-- the table grows at its end; id stays a column. Event ids are UUIDs
-- Hookflow makes, so no index checks them unique any more. The events of a
-- deleted user, which ON DELETE CASCADE removed, DeleteUser now deletes
-- itself; events are only ever inserted for a user the same transaction
-- has found or created.

-- +goose Up
CREATE TABLE events_by_rowid (
    id          TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    time        INTEGER NOT NULL,
    app_id      TEXT NOT NULL DEFAULT '',
    properties  TEXT,
    purchase    TEXT,
    received_at INTEGER NOT NULL
);
INSERT INTO events_by_rowid (id, user_id, name, time, app_id, properties, purchase, received_at)
    SELECT id, user_id, name, time, app_id, properties, purchase, received_at FROM events
    ORDER BY rowid;
DROP TABLE events;
ALTER TABLE events_by_rowid RENAME TO events;
CREATE INDEX events_user_time ON events (user_id, time);

-- +goose Down
CREATE TABLE events_by_id (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    time        INTEGER NOT NULL,
    app_id      TEXT NOT NULL DEFAULT '',
    properties  TEXT,
    purchase    TEXT,
    received_at INTEGER NOT NULL
);
INSERT INTO events_by_id (id, user_id, name, time, app_id, properties, purchase, received_at)
    SELECT id, user_id, name, time, app_id, properties, purchase, received_at FROM events
    WHERE user_id IN (SELECT id FROM users) ORDER BY rowid;
DROP TABLE events;
ALTER TABLE events_by_id RENAME TO events;
CREATE INDEX events_user_time ON events (user_id, time);
