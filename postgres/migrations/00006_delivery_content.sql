-- A delivery's content moves out of its queue row, as on SQLite (its
-- migration 8). The claim and the outcome each rewrite the whole row, and
-- its state, due time and lease being indexed, no rewrite is HOT: each
-- copied the payload and the rendered request into a new row version and
-- added an entry to every index. The payload and the request now live in
-- delivery_content, written once at enqueue (the payload) and once at
-- render (the request); the queue's updates copy a narrow row.
--
-- delivery_content has no foreign key to deliveries, as attempts has none:
-- deliveries are never deleted, Enqueue writes both rows in one
-- transaction, and a key check would lock every delivery it inserts.
--
-- Dropping the columns does not rewrite the table: a row written before
-- keeps their bytes until it is next updated (VACUUM FULL reclaims them at
-- once, holding an exclusive lock while it copies the table).

-- The copy and the dropped columns must see the same rows: a node of the
-- version before, enqueueing while this runs, would otherwise commit a
-- delivery after the copy's snapshot and before the columns go, and its
-- payload would be lost. The lock waits for such writers and holds off new
-- ones until the migration commits. The same goes for Down.

-- +goose Up
LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE;
CREATE TABLE delivery_content (
    delivery_id     text COLLATE "C" PRIMARY KEY,
    payload         text NOT NULL,
    request_method  text,
    request_url     bytea,
    request_headers text,
    request_body    bytea
);
INSERT INTO delivery_content (delivery_id, payload, request_method, request_url,
        request_headers, request_body)
    SELECT id, payload, request_method, request_url, request_headers, request_body
    FROM deliveries ORDER BY id;
ALTER TABLE deliveries DROP COLUMN payload, DROP COLUMN request_method,
    DROP COLUMN request_url, DROP COLUMN request_headers, DROP COLUMN request_body;

-- +goose Down
LOCK TABLE deliveries, delivery_content IN ACCESS EXCLUSIVE MODE;
-- A delivery without content (none is made so, but the table has no key
-- to forbid it) gets the empty payload.
ALTER TABLE deliveries ADD COLUMN payload text NOT NULL DEFAULT '{}',
    ADD COLUMN request_method text, ADD COLUMN request_url bytea,
    ADD COLUMN request_headers text, ADD COLUMN request_body bytea;
UPDATE deliveries d SET payload = c.payload, request_method = c.request_method,
        request_url = c.request_url, request_headers = c.request_headers,
        request_body = c.request_body
    FROM delivery_content c WHERE c.delivery_id = d.id;
ALTER TABLE deliveries ALTER COLUMN payload DROP DEFAULT;
DROP TABLE delivery_content;
