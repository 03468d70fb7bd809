-- Scheduled API sends (/campaigns/trigger/schedule/*, /messages/schedule/*).
-- request is the API request body as JSON text (not jsonb, as in 00001);
-- sent_at is NULL until the schedule runs.

-- +goose Up
CREATE TABLE schedules (
    id          text COLLATE "C" PRIMARY KEY,
    kind        text NOT NULL,
    campaign_id text COLLATE "C" NOT NULL DEFAULT '',
    dispatch_id text NOT NULL UNIQUE,
    request     text NOT NULL,
    due_at      timestamptz NOT NULL,
    state       text NOT NULL,
    sent_at     timestamptz,
    error       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- The leader looks for the earliest due schedule still scheduled.
CREATE INDEX schedules_state_due ON schedules (state, due_at, id);

-- +goose Down
DROP TABLE schedules;
