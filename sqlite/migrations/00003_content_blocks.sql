-- Content blocks (/content_blocks/*): named Liquid that templates include as
-- {{content_blocks.${name}}}. tags is a JSON array as text; times are unix
-- microseconds, as in 00001.

-- +goose Up
CREATE TABLE content_blocks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    content     TEXT NOT NULL,
    state       TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- The list endpoint filters on the last edit.
CREATE INDEX content_blocks_updated ON content_blocks (updated_at);

-- +goose Down
DROP TABLE content_blocks;
