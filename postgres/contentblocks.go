package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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
	_, err = s.pool.Exec(ctx, `INSERT INTO content_blocks (`+blockColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		b.ID, b.Name, b.Description, b.Content, b.State, tags, b.CreatedAt, b.UpdatedAt)
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
	tag, err := s.pool.Exec(ctx, `UPDATE content_blocks SET name = $1,
		description = $2, content = $3, state = $4, tags = $5, updated_at = $6
		WHERE id = $7`,
		b.Name, b.Description, b.Content, b.State, tags, b.UpdatedAt, b.ID)
	if err != nil {
		return fmt.Errorf("updating content block %s: %w", b.ID, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("updating content block %s: %w", b.ID, hookflow.ErrNotFound)
	}
	return nil
}

// GetContentBlock returns the block with the given ID.
func (s *Store) GetContentBlock(ctx context.Context, id string) (*hookflow.ContentBlock, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+blockColumns+` FROM content_blocks
		WHERE id = $1`, id)
	b, err := scanBlock(row)
	if err != nil {
		return nil, fmt.Errorf("reading content block %s: %w", id, mapErr(err))
	}
	return b, nil
}

// GetContentBlockByName returns the block with the given name.
func (s *Store) GetContentBlockByName(ctx context.Context, name string) (*hookflow.ContentBlock, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+blockColumns+` FROM content_blocks
		WHERE name = $1`, name)
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
		args = append(args, f.ModifiedAfter)
		where = append(where, fmt.Sprintf("updated_at >= $%d", len(args)))
	}
	if !f.ModifiedBefore.IsZero() {
		args = append(args, f.ModifiedBefore)
		where = append(where, fmt.Sprintf("updated_at <= $%d", len(args)))
	}
	q := `SELECT ` + blockColumns + ` FROM content_blocks`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at, id"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	if f.Offset > 0 {
		args = append(args, f.Offset)
		q += fmt.Sprintf(" OFFSET $%d", len(args))
	}

	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing content blocks: %w", err)
	}
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookflow.ContentBlock, error) {
		return scanBlock(r)
	})
	if err != nil {
		return nil, fmt.Errorf("listing content blocks: %w", err)
	}
	return bs, nil
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

func scanBlock(r pgx.Row) (*hookflow.ContentBlock, error) {
	var b hookflow.ContentBlock
	var tags string
	err := r.Scan(&b.ID, &b.Name, &b.Description, &b.Content, &b.State, &tags, &b.CreatedAt, &b.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &b.Tags); err != nil {
		return nil, fmt.Errorf("decoding tags of content block %s: %w", b.ID, err)
	}
	b.CreatedAt, b.UpdatedAt = utc(b.CreatedAt), utc(b.UpdatedAt)
	return &b, nil
}
