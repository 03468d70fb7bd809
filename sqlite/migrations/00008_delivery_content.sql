-- deliveries is rebuilt for the queue's writes. Three things made every
-- delivery cost the writer far more than its row:
--
-- 1. Content. The claim, the render and the outcome each rewrote the whole
--    row, request body and payload included, and a commit writes every
--    page a rewrite touched (BenchmarkSaveAndClaim: 29,000 deliveries/s
--    with empty bodies, 18,500 with 660-byte ones). The payload and the
--    rendered request move to delivery_content, written once each.
-- 2. deliveries_user_campaign, (user_id, campaign_id, created_at) over
--    every delivery ever made: each new delivery went to a random leaf of
--    an index that outgrew any commit, so each dirtied a page of its own
--    (BenchmarkEnqueue, 10,000 users: 17,500 deliveries/s with it, 61,000
--    without). It serves three reads, each now from an index that grows
--    at its end or leaves out what the read never looks for:
--    - re-eligibility (LastSendAt) and exception events (CancelPending):
--      deliveries_tracked holds only the deliveries they can look up
--      (tracked = 0 for those of an always re-eligible campaign without
--      exception events, and for API messages: Delivery.Untracked);
--    - a user's activity log and merges: deliveries_segment_user, by
--      segment of 8192 deliveries (seq >> 13) and then user, as events
--      are indexed since migration 7: one probe per segment.
-- 3. seq names the rowid, so that the segment index can use it. id stays
--    the key callers use, unique.
--
-- The rebuild drops the old table, which with foreign keys on would first
-- delete every attempt (attempts references deliveries), so it runs
-- outside goose's transaction, with foreign keys off, in one of its own.
-- Goose records the version after that transaction: a process killed
-- between the two leaves a migrated database that goose would migrate
-- again ("table delivery_content already exists"). Its schema is then
-- complete, and `INSERT INTO goose_db_version (version_id, is_applied)
-- VALUES (8, 1)` records it.

-- +goose NO TRANSACTION
-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE deliveries_next (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    origin           TEXT NOT NULL,
    campaign_id      TEXT,
    dispatch_id      TEXT NOT NULL DEFAULT '',
    send_id          TEXT NOT NULL DEFAULT '',
    user_id          TEXT NOT NULL,
    external_id      TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_at           INTEGER NOT NULL,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    abort_reason     TEXT NOT NULL DEFAULT '',
    first_attempt_at INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    tracked          INTEGER NOT NULL DEFAULT 1
);
INSERT INTO deliveries_next (seq, id, origin, campaign_id, dispatch_id, send_id, user_id,
        external_id, state, attempts, due_at, lease_until, last_status, last_error,
        abort_reason, first_attempt_at, created_at, updated_at)
    SELECT rowid, id, origin, campaign_id, dispatch_id, send_id, user_id,
        external_id, state, attempts, due_at, lease_until, last_status, last_error,
        abort_reason, first_attempt_at, created_at, updated_at
    FROM deliveries ORDER BY rowid;
CREATE TABLE delivery_content (
    delivery_id     TEXT PRIMARY KEY,
    payload         TEXT NOT NULL,
    request_method  TEXT,
    request_url     TEXT,
    request_headers TEXT,
    request_body    BLOB
);
INSERT INTO delivery_content (delivery_id, payload, request_method, request_url,
        request_headers, request_body)
    SELECT id, payload, request_method, request_url, request_headers, request_body
    FROM deliveries ORDER BY rowid;
DROP TABLE deliveries;
ALTER TABLE deliveries_next RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state = 'pending';
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE state = 'sending';
CREATE INDEX deliveries_campaign ON deliveries (campaign_id, id);
CREATE INDEX deliveries_dispatch ON deliveries (dispatch_id, id);
CREATE INDEX deliveries_tracked ON deliveries (user_id, campaign_id, created_at) WHERE tracked = 1;
CREATE INDEX deliveries_segment_user ON deliveries (seq >> 13, user_id);
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE deliveries_prev (
    id               TEXT PRIMARY KEY,
    origin           TEXT NOT NULL,
    campaign_id      TEXT,
    dispatch_id      TEXT NOT NULL DEFAULT '',
    send_id          TEXT NOT NULL DEFAULT '',
    user_id          TEXT NOT NULL,
    external_id      TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    request_method   TEXT,
    request_url      TEXT,
    request_headers  TEXT,
    request_body     BLOB,
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_at           INTEGER NOT NULL,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    abort_reason     TEXT NOT NULL DEFAULT '',
    first_attempt_at INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
INSERT INTO deliveries_prev (rowid, id, origin, campaign_id, dispatch_id, send_id, user_id,
        external_id, state, payload, request_method, request_url, request_headers,
        request_body, attempts, due_at, lease_until, last_status, last_error,
        abort_reason, first_attempt_at, created_at, updated_at)
    SELECT d.seq, d.id, d.origin, d.campaign_id, d.dispatch_id, d.send_id, d.user_id,
        d.external_id, d.state, COALESCE(c.payload, '{}'), c.request_method, c.request_url,
        c.request_headers, c.request_body, d.attempts, d.due_at, d.lease_until,
        d.last_status, d.last_error, d.abort_reason, d.first_attempt_at, d.created_at,
        d.updated_at
    FROM deliveries d LEFT JOIN delivery_content c ON c.delivery_id = d.id ORDER BY d.seq;
DROP TABLE delivery_content;
DROP TABLE deliveries;
ALTER TABLE deliveries_prev RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state = 'pending';
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE state = 'sending';
CREATE INDEX deliveries_user_campaign ON deliveries (user_id, campaign_id, created_at);
CREATE INDEX deliveries_campaign ON deliveries (campaign_id, id);
CREATE INDEX deliveries_dispatch ON deliveries (dispatch_id, id);
COMMIT;
PRAGMA foreign_keys = ON;
