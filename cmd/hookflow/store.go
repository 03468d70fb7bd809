package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/postgres"
	"github.com/hookflow/hookflow/sqlite"
)

// open opens the store the flags name: PostgreSQL when --database-url is
// set, else SQLite in --data-dir. Both are migrated on open. existing
// refuses to create a new SQLite database: a command that only reads (log,
// keys list) pointed at the wrong directory must say so, not print an
// empty table.
func (f storeFlags) open(existing bool) (hookflow.Store, error) {
	return f.openLogged(context.Background(), existing, nil)
}

func (f storeFlags) openLogged(ctx context.Context, existing bool, log *slog.Logger) (hookflow.Store, error) {
	if f.DatabaseURL != "" {
		if !strings.HasPrefix(f.DatabaseURL, "postgres://") && !strings.HasPrefix(f.DatabaseURL, "postgresql://") {
			return nil, fmt.Errorf("--database-url must start with postgres:// or postgresql://")
		}
		store, err := postgres.Open(ctx, f.DatabaseURL, log)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		return store, nil
	}

	path := filepath.Join(f.DataDir, "hookflow.db")
	if _, err := os.Stat(path); existing && err != nil {
		return nil, fmt.Errorf("no database at %s: pass the --data-dir that 'hookflow serve' uses (or set HOOKFLOW_DATA_DIR)", path)
	}
	store, err := sqlite.Open(ctx, path, log)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return store, nil
}

// where names the store for logs and messages: the data directory, or the
// PostgreSQL server, database and schema, without the URL's credentials,
// so an operator sees which of several databases a command used.
func (f storeFlags) where() string {
	if f.DatabaseURL == "" {
		return f.DataDir
	}
	u, err := url.Parse(f.DatabaseURL)
	if err != nil {
		return "postgresql"
	}
	where := "postgresql://" + u.Host + u.Path
	if schema := u.Query().Get("search_path"); schema != "" {
		where += " (schema " + schema + ")"
	}
	return where
}

// listener is a store that can wake senders when another node enqueues.
type listener interface {
	Listen(ctx context.Context, wake func()) error
}

// leader is a store that runs a duty on one node at a time.
type leader interface {
	Lead(ctx context.Context, duty func(context.Context)) error
}

// storeArgs are the flags that name the same store in another command.
func (f storeFlags) storeArgs() string {
	if f.DatabaseURL != "" {
		return "--database-url '" + f.DatabaseURL + "'"
	}
	return "--data-dir " + f.DataDir
}
