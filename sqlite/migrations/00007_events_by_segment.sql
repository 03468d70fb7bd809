-- events is indexed by segment, then user: a segment is 8192 consecutive
-- events (seq >> 13), so new events land in the index's last few pages
-- instead of at random users all over it. Under events_user_time, once the
-- table had outgrown a commit, every event dirtied an index page of its
-- own, which the commit wrote to the WAL and a checkpoint wrote again: the
-- writer stored 29,000 events/s in BenchmarkIntakeGroup, and 81,000 with
-- this index (61,000 with segments of 32768, 39,000 with 131072). A user's
-- events are read segment by segment (ofUser in users.go): one index probe
-- per segment, about 1,200 per ten million events.
--
-- seq is the rowid, named, so that the index can use it; the rows keep
-- their order.

-- +goose Up
CREATE TABLE events_by_segment (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    time        INTEGER NOT NULL,
    app_id      TEXT NOT NULL DEFAULT '',
    properties  TEXT,
    purchase    TEXT,
    received_at INTEGER NOT NULL
);
INSERT INTO events_by_segment (seq, id, user_id, name, time, app_id, properties, purchase, received_at)
    SELECT rowid, id, user_id, name, time, app_id, properties, purchase, received_at FROM events
    ORDER BY rowid;
DROP TABLE events;
ALTER TABLE events_by_segment RENAME TO events;
CREATE INDEX events_segment_user ON events (seq >> 13, user_id, time);

-- +goose Down
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
INSERT INTO events_by_rowid (rowid, id, user_id, name, time, app_id, properties, purchase, received_at)
    SELECT seq, id, user_id, name, time, app_id, properties, purchase, received_at FROM events
    ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_by_rowid RENAME TO events;
CREATE INDEX events_user_time ON events (user_id, time);
