-- The caller-IP allow-list of an API key: a JSON array of CIDRs and
-- addresses, empty when any caller may use the key.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN allowed_ips text NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE api_keys DROP COLUMN allowed_ips;
