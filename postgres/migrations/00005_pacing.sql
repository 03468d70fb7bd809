-- Per-campaign delivery-speed limits (rate_limit_per_minute). campaign_pacing
-- keeps each limited campaign's latest slots: the next free slot is one
-- interval after last_reserved. pacing_holds keeps the slot a delivery sent
-- back to the queue to wait for it holds, for its attempt number `attempt`,
-- so it is not reserved twice when the delivery comes due.

-- +goose Up
CREATE TABLE campaign_pacing (
    campaign_id   text COLLATE "C" PRIMARY KEY,
    last_sent     timestamptz,
    last_reserved timestamptz
);
CREATE TABLE pacing_holds (
    delivery_id text COLLATE "C" PRIMARY KEY,
    campaign_id text COLLATE "C" NOT NULL,
    attempt     integer NOT NULL,
    slot_at     timestamptz NOT NULL
);
-- Releasing a campaign's holds, and dropping expired ones, go by campaign.
CREATE INDEX pacing_holds_campaign ON pacing_holds (campaign_id, slot_at);

-- +goose Down
DROP TABLE pacing_holds;
DROP TABLE campaign_pacing;
