-- The initial schema, the PostgreSQL twin of the SQLite one. Times are
-- timestamptz (microseconds), NULL where the domain's zero time means
-- "unset". JSON documents are text, not jsonb: jsonb refuses the \u0000
-- escape, which intake accepts inside property strings, and the store never
-- queries inside a document. Identifiers use the "C" collation so that they
-- sort byte by byte, as the contract's "ID order" and UUIDv7 paging expect.

-- +goose Up
CREATE TABLE users (
    id          text COLLATE "C" PRIMARY KEY,
    external_id text COLLATE "C" UNIQUE,
    -- email copies attributes.email for UserRef.Email lookups. It is bytea
    -- because an email, like any attribute string, may hold a NUL.
    email       bytea,
    attributes  text NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX users_email ON users (email) WHERE email IS NOT NULL;

CREATE TABLE user_aliases (
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label   text NOT NULL,
    name    text NOT NULL,
    UNIQUE (label, name),
    UNIQUE (user_id, label)
);

CREATE TABLE events (
    id          text COLLATE "C" PRIMARY KEY,
    user_id     text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    time        timestamptz NOT NULL,
    app_id      text NOT NULL DEFAULT '',
    properties  text,
    purchase    text,
    received_at timestamptz NOT NULL
);
CREATE INDEX events_user_time ON events (user_id, time);

CREATE TABLE campaigns (
    id               text COLLATE "C" PRIMARY KEY,
    name             text NOT NULL,
    state            text NOT NULL,
    delivery_type    text NOT NULL,
    -- trigger_event is NULL unless a custom event triggers the campaign;
    -- trigger_purchase is true when purchases do, optionally only of
    -- trigger_product.
    trigger_event    text,
    trigger_purchase boolean NOT NULL DEFAULT false,
    trigger_product  text NOT NULL DEFAULT '',
    body             text NOT NULL,
    version          integer NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- Intake looks up the campaigns an event triggers on every event.
CREATE INDEX campaigns_trigger_event ON campaigns (trigger_event, state)
    WHERE trigger_event IS NOT NULL;
CREATE INDEX campaigns_trigger_purchase ON campaigns (state) WHERE trigger_purchase;
CREATE INDEX campaigns_created ON campaigns (created_at, id);

-- campaign_exceptions lists each campaign's exception events, kept in step
-- with campaigns.body, so that intake finds them by event name.
CREATE TABLE campaign_exceptions (
    campaign_id text COLLATE "C" NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    event       text NOT NULL,
    PRIMARY KEY (event, campaign_id)
);

CREATE TABLE api_messages (
    dispatch_id text PRIMARY KEY,
    webhook     text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    hash       text NOT NULL UNIQUE,
    prefix     text NOT NULL,
    scopes     text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- deliveries is both the send queue and the activity log. The rendered
-- request's URL and body are bytea, apart from the method and headers, so
-- their bytes are stored and sent exactly as rendered, never re-serialised
-- or refused for a NUL.
CREATE TABLE deliveries (
    id               text COLLATE "C" PRIMARY KEY,
    origin           text NOT NULL,
    campaign_id      text COLLATE "C",
    dispatch_id      text COLLATE "C" NOT NULL DEFAULT '',
    send_id          text NOT NULL DEFAULT '',
    user_id          text COLLATE "C" NOT NULL,
    external_id      text NOT NULL DEFAULT '',
    state            text NOT NULL,
    payload          text NOT NULL,
    request_method   text,
    request_url      bytea,
    request_headers  text,
    request_body     bytea,
    attempts         integer NOT NULL DEFAULT 0,
    due_at           timestamptz NOT NULL,
    lease_until      timestamptz,
    last_status      integer NOT NULL DEFAULT 0,
    last_error       text NOT NULL DEFAULT '',
    abort_reason     text NOT NULL DEFAULT '',
    first_attempt_at timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- Claim walks pending rows in due order and sending rows in lease order;
-- partial indexes keep final rows, the bulk of the table, out of both.
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE state = 'pending';
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE state = 'sending';
-- As on SQLite, each index serves several reads: user first serves
-- LastSendAt, CancelPending and a user's log; campaign and dispatch serve
-- the log of a campaign or dispatch, newest first, and campaign stats.
CREATE INDEX deliveries_user_campaign ON deliveries (user_id, campaign_id, created_at);
CREATE INDEX deliveries_campaign ON deliveries (campaign_id, id);
CREATE INDEX deliveries_dispatch ON deliveries (dispatch_id, id);

-- attempts has no foreign key to deliveries: Complete, its only writer,
-- checks that each delivery exists, and a key check would take a share lock
-- on every delivery row it is about to update anyway.
CREATE TABLE attempts (
    delivery_id      text COLLATE "C" NOT NULL,
    number           integer NOT NULL,
    started_at       timestamptz NOT NULL,
    duration_us      bigint NOT NULL,
    status           integer NOT NULL,
    response_headers text,
    response_body    bytea,
    truncated        boolean NOT NULL DEFAULT false,
    error            text NOT NULL DEFAULT '',
    error_kind       text NOT NULL DEFAULT '',
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
