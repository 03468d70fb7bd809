package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookflow/hookflow"
)

// CreateKey stores k; ErrConflict if its ID or hash is taken. A zero
// CreatedAt is set to now.
func (s *Store) CreateKey(ctx context.Context, k *hookflow.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now()
	}
	scopes, err := json.Marshal(k.Scopes)
	if err != nil {
		return fmt.Errorf("encoding scopes of key %s: %w", k.ID, err)
	}
	ips, err := json.Marshal(nonNil(k.AllowedIPs))
	if err != nil {
		return fmt.Errorf("encoding allowed IPs of key %s: %w", k.ID, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO api_keys
		(id, name, hash, prefix, scopes, created_at, revoked_at, allowed_ips)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.Name, k.Hash, k.Prefix, string(scopes), k.CreatedAt, nullTime(k.RevokedAt), string(ips))
	if err != nil {
		return fmt.Errorf("inserting key %s: %w", k.ID, mapErr(err))
	}
	return nil
}

const keyColumns = `id, name, hash, prefix, scopes, created_at, revoked_at, allowed_ips`

// KeyByHash returns the key, not revoked, whose secret hashes to hash.
func (s *Store) KeyByHash(ctx context.Context, hash string) (*hookflow.APIKey, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE hash = $1 AND revoked_at IS NULL`, hash)
	k, err := scanKey(row)
	if err != nil {
		return nil, fmt.Errorf("finding key by hash: %w", mapErr(err))
	}
	return k, nil
}

// ListKeys returns every key, revoked ones included, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]*hookflow.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys
		ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	ks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*hookflow.APIKey, error) {
		return scanKey(r)
	})
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	return ks, nil
}

func scanKey(r pgx.Row) (*hookflow.APIKey, error) {
	var k hookflow.APIKey
	var scopes, ips string
	var revoked pgtype.Timestamptz
	err := r.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &scopes, &k.CreatedAt, &revoked, &ips)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("decoding scopes of key %s: %w", k.ID, err)
	}
	if err := json.Unmarshal([]byte(ips), &k.AllowedIPs); err != nil {
		return nil, fmt.Errorf("decoding allowed IPs of key %s: %w", k.ID, err)
	}
	if len(k.AllowedIPs) == 0 {
		k.AllowedIPs = nil
	}
	k.CreatedAt, k.RevokedAt = utc(k.CreatedAt), fromNull(revoked)
	return &k, nil
}

// RevokeKey marks the key revoked at at; ErrNotFound for an unknown ID.
// Revoking a revoked key keeps its first revocation time.
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) error {
	var one int
	err := s.pool.QueryRow(ctx, `WITH k AS (SELECT id FROM api_keys WHERE id = $1),
		revoked AS (UPDATE api_keys SET revoked_at = $2
			WHERE id = $1 AND revoked_at IS NULL)
		SELECT 1 FROM k`, id, at).Scan(&one)
	if err != nil {
		return fmt.Errorf("revoking key %s: %w", id, mapErr(err))
	}
	return nil
}

// SaveAPIMessage stores the webhook of a /messages/send dispatch;
// ErrConflict if the dispatch ID is taken.
func (t *tx) SaveAPIMessage(dispatchID string, w hookflow.Webhook, at time.Time) error {
	body, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encoding api message %s: %w", dispatchID, err)
	}
	_, err = t.q.Exec(t.ctx, `INSERT INTO api_messages (dispatch_id, webhook,
		created_at) VALUES ($1, $2, $3)`, dispatchID, string(body), at)
	if err != nil {
		return fmt.Errorf("storing api message %s: %w", dispatchID, mapErr(err))
	}
	return nil
}

// GetAPIMessage returns the webhook of a /messages/send dispatch.
func (s *Store) GetAPIMessage(ctx context.Context, dispatchID string) (*hookflow.Webhook, error) {
	var body string
	err := s.pool.QueryRow(ctx, `SELECT webhook FROM api_messages
		WHERE dispatch_id = $1`, dispatchID).Scan(&body)
	if err != nil {
		return nil, fmt.Errorf("reading api message %s: %w", dispatchID, mapErr(err))
	}
	var w hookflow.Webhook
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		return nil, fmt.Errorf("decoding api message %s: %w", dispatchID, err)
	}
	return &w, nil
}

// nonNil stores a missing allow-list as an empty JSON array.
func nonNil(ips []string) []string {
	if ips == nil {
		return []string{}
	}
	return ips
}
