package main

import (
	"errors"
	"fmt"
)

// backend says how a Hookflow process finds its store. Every scenario runs
// against one backend, chosen with -backend.
type backend interface {
	// name is what the tables print.
	name() string
	// serveArgs returns the flags pointing `hookflow serve` and `hookflow
	// keys` at a fresh, empty store that lives in (or is named after) dir.
	serveArgs(dir string) ([]string, error)
}

func newBackend(name, dsn string) (backend, error) {
	switch name {
	case "sqlite":
		return sqliteBackend{}, nil
	case "postgres":
		return postgresBackend{dsn: dsn}, nil
	}
	return nil, fmt.Errorf("-backend %q: want sqlite or postgres", name)
}

type sqliteBackend struct{}

func (sqliteBackend) name() string { return "sqlite" }

func (sqliteBackend) serveArgs(dir string) ([]string, error) {
	return []string{"--data-dir", dir}, nil
}

// postgresBackend is the hook for scenario 5 of issue 6: the same scenarios
// on PostgreSQL. The store (package postgres) exists, but `hookflow serve`
// has no flag selecting it yet, so this refuses to run. When serve gets one:
// return it here (e.g. "--database-url", with a fresh database or schema per
// scenario made from dsn and dir), and every scenario runs unchanged.
type postgresBackend struct{ dsn string }

func (postgresBackend) name() string { return "postgres" }

func (p postgresBackend) serveArgs(dir string) ([]string, error) {
	return nil, errors.New("hookflow serve cannot select the PostgreSQL store yet; -backend postgres is a placeholder (see bench/backend.go)")
}
