package postgres

import (
	"context"
	"database/sql"
	"io/fs"

	"github.com/jackc/pgx/v5"

	"github.com/pressly/goose/v3"
)

// LeaderPID exposes, to the external tests, the backend process of s's
// leader session, or 0 when s does not lead.
func LeaderPID(s *Store) uint32 { return s.leaderPID.Load() }

// Migrator returns a goose provider of the embedded migrations on db, for
// tests that start from a database at an earlier version.
func Migrator(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, fsys)
}

// PreparedStatements returns the text of every statement the server keeps
// prepared for s's idle pooled connections.
func PreparedStatements(ctx context.Context, s *Store) ([]string, error) {
	var texts []string
	for _, c := range s.pool.AcquireAllIdle(ctx) {
		rows, err := c.Query(ctx, `SELECT statement FROM pg_prepared_statements`)
		if err == nil {
			var more []string
			more, err = pgx.CollectRows(rows, pgx.RowTo[string])
			texts = append(texts, more...)
		}
		c.Release()
		if err != nil {
			return nil, err
		}
	}
	return texts, nil
}
