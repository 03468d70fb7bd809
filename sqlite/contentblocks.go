package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hookflow/hookflow"
)

const blockColumns = `id, name, description, content, state, tags, created_at, updated_at`

// CreateContentBlock stores b; ErrConflict if its ID or name is taken. Zero
// CreatedAt and UpdatedAt are set to now.
func (s *Store) CreateContentBlock(ctx context.Context, b *hookflow.ContentBlock) error {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now()
	}
	if b.UpdatedAt.IsZero() {
		b.UpdatedAt = b.CreatedAt
	}
	tags, err := encodeTags(b)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO content_blocks (`+blockColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Name, b.Description, b.Content, b.State, tags,
		micros(b.CreatedAt), micros(b.UpdatedAt))
	if err != nil {
		return fmt.Errorf("inserting content block %s: %w", b.ID, mapErr(err))
	}
	return nil
}

// UpdateContentBlock replaces the block with b's ID; ErrNotFound for an
// unknown ID, ErrConflict when the new name is another block's. A zero
// UpdatedAt is set to now.
func (s *Store) UpdateContentBlock(ctx context.Context, b *hookflow.ContentBlock) error {
	if b.UpdatedAt.IsZero() {
		b.UpdatedAt = now()
	}
	tags, err := encodeTags(b)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx, `UPDATE content_blocks SET name = ?,
		description = ?, content = ?, state = ?, tags = ?, updated_at = ?
		WHERE id = ?`,
		b.Name, b.Description, b.Content, b.State, tags, micros(b.UpdatedAt), b.ID)
	if err != nil {
		return fmt.Errorf("updating content block %s: %w", b.ID, mapErr(err))
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("updating content block %s: %w", b.ID, hookflow.ErrNotFound)
	}
	return nil
}

// GetContentBlock returns the block with the given ID.
func (s *Store) GetContentBlock(ctx context.Context, id string) (*hookflow.ContentBlock, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+blockColumns+` FROM content_blocks
		WHERE id = ?`, id)
	b, err := scanBlock(row)
	if err != nil {
		return nil, fmt.Errorf("reading content block %s: %w", id, mapErr(err))
	}
	return b, nil
}

// GetContentBlockByName returns the block with the given name.
func (s *Store) GetContentBlockByName(ctx context.Context, name string) (*hookflow.ContentBlock, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+blockColumns+` FROM content_blocks
		WHERE name = ?`, name)
	b, err := scanBlock(row)
	if err != nil {
		return nil, fmt.Errorf("reading content block %q: %w", name, mapErr(err))
	}
	return b, nil
}

// ListContentBlocks returns the blocks f selects, oldest first.
func (s *Store) ListContentBlocks(ctx context.Context, f hookflow.ContentBlockFilter) ([]*hookflow.ContentBlock, error) {
	var where []string
	var args []any
	if !f.ModifiedAfter.IsZero() {
		where, args = append(where, "updated_at >= ?"), append(args, micros(f.ModifiedAfter))
	}
	if !f.ModifiedBefore.IsZero() {
		where, args = append(where, "updated_at <= ?"), append(args, micros(f.ModifiedBefore))
	}
	q := `SELECT ` + blockColumns + ` FROM content_blocks`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// SQLite needs a LIMIT to take an OFFSET; -1 means none.
	limit := -1
	if f.Limit > 0 {
		limit = f.Limit
	}
	q += " ORDER BY created_at, id LIMIT ? OFFSET ?"
	args = append(args, limit, max(f.Offset, 0))

	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing content blocks: %w", err)
	}
	defer rows.Close()
	var bs []*hookflow.ContentBlock
	for rows.Next() {
		b, err := scanBlock(rows)
		if err != nil {
			return nil, fmt.Errorf("listing content blocks: %w", err)
		}
		bs = append(bs, b)
	}
	return bs, rows.Err()
}

func encodeTags(b *hookflow.ContentBlock) (string, error) {
	tags := b.Tags
	if tags == nil {
		tags = []string{}
	}
	out, err := json.Marshal(tags)
	if err != nil {
		return "", fmt.Errorf("encoding tags of content block %s: %w", b.ID, err)
	}
	return string(out), nil
}

func scanBlock(r scanner) (*hookflow.ContentBlock, error) {
	var b hookflow.ContentBlock
	var tags string
	var created, updated int64
	err := r.Scan(&b.ID, &b.Name, &b.Description, &b.Content, &b.State, &tags, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &b.Tags); err != nil {
		return nil, fmt.Errorf("decoding tags of content block %s: %w", b.ID, err)
	}
	b.CreatedAt, b.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &b, nil
}
