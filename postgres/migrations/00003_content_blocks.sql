-- Content blocks (/content_blocks/*): named Liquid that templates include as
-- {{content_blocks.${name}}}. tags is a JSON array as text.

-- +goose Up
CREATE TABLE content_blocks (
    id          text COLLATE "C" PRIMARY KEY,
    name        text COLLATE "C" NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    content     text NOT NULL,
    state       text NOT NULL,
    tags        text NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- The list endpoint filters on the last edit.
CREATE INDEX content_blocks_updated ON content_blocks (updated_at);

-- +goose Down
DROP TABLE content_blocks;
