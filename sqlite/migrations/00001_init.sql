-- The initial schema. Every time is INTEGER unix microseconds in UTC, 0 when
-- unset, so times sort and compare as numbers; every JSON document is TEXT.

-- +goose Up
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    external_id TEXT UNIQUE,
    attributes  TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- Email lookups (UserRef.Email) read the attribute through this index.
CREATE INDEX users_email ON users (json_extract(attributes, '$.email'));

CREATE TABLE user_aliases (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label   TEXT NOT NULL,
    name    TEXT NOT NULL,
    UNIQUE (label, name),
    UNIQUE (user_id, label)
);

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    time        INTEGER NOT NULL,
    app_id      TEXT NOT NULL DEFAULT '',
    properties  TEXT,
    purchase    TEXT,
    received_at INTEGER NOT NULL
);
CREATE INDEX events_user_time ON events (user_id, time);

CREATE TABLE campaigns (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    state            TEXT NOT NULL,
    delivery_type    TEXT NOT NULL,
    -- trigger_event is NULL unless a custom event triggers the campaign;
    -- trigger_purchase is 1 when purchases do, optionally only of
    -- trigger_product.
    trigger_event    TEXT,
    trigger_purchase INTEGER NOT NULL DEFAULT 0,
    trigger_product  TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL,
    version          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- Intake looks up the campaigns an event triggers on every event.
CREATE INDEX campaigns_trigger_event ON campaigns (trigger_event, state)
    WHERE trigger_event IS NOT NULL;
CREATE INDEX campaigns_trigger_purchase ON campaigns (trigger_purchase, state)
    WHERE trigger_purchase = 1;
CREATE INDEX campaigns_created ON campaigns (created_at, id);

-- campaign_exceptions lists each campaign's exception events, kept in step
-- with campaigns.body, so that intake finds them by event name.
CREATE TABLE campaign_exceptions (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    PRIMARY KEY (event, campaign_id)
) WITHOUT ROWID;

CREATE TABLE api_messages (
    dispatch_id TEXT PRIMARY KEY,
    webhook     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0
);

-- deliveries is both the send queue and the activity log. The rendered
-- request body is a BLOB apart from the method, URL and headers so its bytes
-- are stored and sent exactly as rendered, never re-serialised.
CREATE TABLE deliveries (
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
-- Claim walks pending rows in due order and sending rows in lease order;
-- partial indexes keep final rows, the bulk of the table, out of both.
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state = 'pending';
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE state = 'sending';
-- Every index slows the queue's writes, so each serves several reads:
-- user first serves LastSendAt and CancelPending (user and campaign) and
-- the activity log of a user; campaign and id serve the log of a campaign,
-- newest first, and its stats.
CREATE INDEX deliveries_user_campaign ON deliveries (user_id, campaign_id, created_at);
CREATE INDEX deliveries_campaign ON deliveries (campaign_id, id);
CREATE INDEX deliveries_dispatch ON deliveries (dispatch_id, id);

CREATE TABLE attempts (
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_us      INTEGER NOT NULL,
    status           INTEGER NOT NULL,
    response_headers TEXT,
    response_body    BLOB,
    truncated        INTEGER NOT NULL DEFAULT 0,
    error            TEXT NOT NULL DEFAULT '',
    error_kind       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, number)
);

-- +goose Down
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE api_keys;
DROP TABLE api_messages;
DROP TABLE campaign_exceptions;
DROP TABLE campaigns;
DROP TABLE events;
DROP TABLE user_aliases;
DROP TABLE users;
