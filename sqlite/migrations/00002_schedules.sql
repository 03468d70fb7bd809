-- Scheduled API sends (/campaigns/trigger/schedule/*, /messages/schedule/*).
-- request is the API request body as JSON text; times are unix microseconds,
-- 0 when unset, as in 00001.

-- +goose Up
CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    campaign_id TEXT NOT NULL DEFAULT '',
    dispatch_id TEXT NOT NULL UNIQUE,
    request     TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    state       TEXT NOT NULL,
    sent_at     INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- The leader looks for the earliest due schedule still scheduled.
CREATE INDEX schedules_state_due ON schedules (state, due_at, id);

-- +goose Down
DROP TABLE schedules;
