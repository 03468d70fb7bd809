package postgres

import (
	"database/sql"
	"io/fs"

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
