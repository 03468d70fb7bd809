package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestMigrateCommand runs `hookflow migrate` three times at once on a fresh
// PostgreSQL schema (the advisory lock makes them take turns), then once
// more: each exits 0, and the schema is at the newest migration, once.
func TestMigrateCommand(t *testing.T) {
	needBinary(t)
	dbURL := schemaURL(t, "hf_migrate_")
	files, err := filepath.Glob(filepath.Join("..", "..", "postgres", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("postgres migrations: %v %v", files, err)
	}

	var wg sync.WaitGroup
	outs := make([]string, 3)
	errs := make([]error, 3)
	for i := range outs {
		wg.Go(func() {
			out, err := exec.Command(binary, "migrate", "--database-url", dbURL).CombinedOutput()
			outs[i], errs[i] = string(out), err
		})
	}
	wg.Wait()
	out, err := exec.Command(binary, "migrate", "--database-url", dbURL).CombinedOutput()
	outs, errs = append(outs, string(out)), append(errs, err)
	schema, _ := url.Parse(dbURL)
	upToDate := "database is up to date: postgresql://" + schema.Host + schema.Path +
		" (schema " + schema.Query().Get("search_path") + ")"
	created := 0
	for i := range outs {
		if errs[i] != nil || !strings.Contains(outs[i], upToDate) {
			t.Errorf("hookflow migrate run %d: %v, want %q\n%s", i, errs[i], upToDate, outs[i])
		}
		if strings.Contains(outs[i], "schema created") {
			created++
		}
	}
	if created == 0 || strings.Contains(outs[3], "schema created") || strings.Contains(outs[3], "migration applied") {
		t.Errorf("%d of the first three runs logged the new schema, and the last, on an up-to-date one, said:\n%s", created, outs[3])
	}

	var versions, newest int
	err = pgRows(dbURL, `SELECT count(*), max(version_id) FROM goose_db_version WHERE version_id > 0`,
		func(rows pgx.Rows) error { return rows.Scan(&versions, &newest) })
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(files) || newest != len(files) {
		t.Errorf("goose_db_version holds %d versions up to %d, want %d once each", versions, newest, len(files))
	}
	var tables int
	err = pgRows(dbURL, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()
		AND table_name IN ('users', 'events', 'campaigns', 'deliveries', 'schedules', 'content_blocks', 'api_keys')`,
		func(rows pgx.Rows) error { return rows.Scan(&tables) })
	if err != nil || tables != 7 {
		t.Errorf("%d of the 7 main tables in the schema (err %v)", tables, err)
	}
}

// TestMigrateCommandSQLite: `hookflow migrate --data-dir` makes the
// database that commands reading an existing one then accept.
func TestMigrateCommandSQLite(t *testing.T) {
	needBinary(t)
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command(binary, "keys", "list", "--data-dir", dir).CombinedOutput(); err == nil {
		t.Fatalf("keys list before migrate succeeded: %s", out)
	}
	out, err := exec.Command(binary, "migrate", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "database is up to date: "+dir) {
		t.Fatalf("hookflow migrate: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "sqlite", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("sqlite migrations: %v %v", files, err)
	}
	if got := strings.Count(string(out), "migration applied"); got != len(files) {
		t.Errorf("first migrate logged %d migrations, want %d:\n%s", got, len(files), out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("version=%d ", len(files))) {
		t.Errorf("first migrate did not log version %d:\n%s", len(files), out)
	}
	out, err = exec.Command(binary, "migrate", "--data-dir", dir).CombinedOutput()
	if err != nil || strings.Contains(string(out), "migration applied") {
		t.Errorf("second migrate: %v, want nothing applied:\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "hookflow.db")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, "keys", "list", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Errorf("keys list after migrate: %v\n%s", err, out)
	}
}

// The store a command names in its messages: never the URL's password.
func TestStoreWhere(t *testing.T) {
	for _, tt := range []struct {
		flags storeFlags
		want  string
	}{
		{storeFlags{DataDir: "./data"}, "./data"},
		{storeFlags{DataDir: "./data", DatabaseURL: "postgres://app:s3cret@db.internal:5433/hooks?search_path=hf&sslmode=require"},
			"postgresql://db.internal:5433/hooks (schema hf)"},
		{storeFlags{DatabaseURL: "postgresql://127.0.0.1/test"}, "postgresql://127.0.0.1/test"},
	} {
		if got := tt.flags.where(); got != tt.want {
			t.Errorf("where() of %+v = %q, want %q", tt.flags, got, tt.want)
		}
	}
}
