// Package postgres is the scale-out storage backend of Hookflow: one
// PostgreSQL database shared by any number of nodes, reached through pgx,
// implementing hookflow.Store with the same semantics as the SQLite backend.
//
// Beyond the contract it offers what several nodes need: Listen wakes a
// node's senders when any node enqueues (LISTEN/NOTIFY), and Lead runs a
// duty on exactly one node at a time (a session advisory lock), handing it
// over when the leader dies.
//
// The URL may name a schema with search_path (postgres://…/db?search_path=hf);
// Open creates it if missing, and the tables, the migration table, the
// notification payload and the leader lock are all scoped to it, so several
// deployments (or test runs) can share a database.
//
// Times are timestamptz, read back in UTC with microsecond precision; the
// zero time.Time is NULL in nullable columns. JSON documents are text, never
// jsonb, because jsonb refuses the \u0000 escape that intake lets through in
// property strings. A rendered request's URL and body are bytea, exact.
// Text columns cannot hold a NUL byte or invalid UTF-8: in reasons and
// error messages the store writes U+FFFD instead, so that no queue batch
// fails on one; in names and identifiers (event names, external ids,
// aliases) PostgreSQL refuses them and the store reports a
// *hookflow.ValidationError.
//
// Known limits, as on SQLite: Complete does not check that the caller still
// holds the lease (a repeated attempt number is ErrConflict for the batch),
// and the store fills empty IDs and zero timestamps from the wall clock.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/handoff"
	"github.com/hookflow/hookflow/txgroup"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a hookflow.Store on a PostgreSQL database. It is safe for
// concurrent use, and any number of Stores, in one process or many, may
// share one database.
type Store struct {
	pool *pgxpool.Pool
	// group commits Update calls (group.go).
	group   *txgroup.Group[*groupTx]
	handoff handoff.Holder
	cfg     *pgxpool.Config
	logger  *slog.Logger
	// schema is the current_schema() of the pool's connections: it scopes
	// notifications and lock keys.
	schema string
	// leaderPID is the backend process of Lead's session while this
	// store leads, else 0; tests end that session to simulate a death.
	leaderPID atomic.Uint32
}

var _ hookflow.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or key=value DSN
// that pgx accepts, pool_max_conns and search_path included), creates the
// schema search_path names if it is missing, and applies pending
// migrations. logger may be nil.
func Open(ctx context.Context, url string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database url: %w", err)
	}
	if err := createSchema(ctx, cfg.ConnConfig, logger); err != nil {
		return nil, err
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	s := &Store{pool: pool, cfg: cfg, logger: logger}
	err = pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&s.schema)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.startGroup()
	return s, nil
}

// createSchema creates the first schema of the URL's search_path if it does
// not exist. It looks before creating because CREATE SCHEMA IF NOT EXISTS
// still needs the CREATE privilege, which a deployment's role may lack. It
// logs a schema it created: a misspelt search_path otherwise starts an
// empty deployment without a word.
func createSchema(ctx context.Context, cc *pgx.ConnConfig, logger *slog.Logger) error {
	path := cc.RuntimeParams["search_path"]
	name := strings.TrimSpace(strings.Split(path, ",")[0])
	name = strings.Trim(name, `"`)
	if name == "" || name == "$user" {
		return nil
	}

	conn, err := pgx.ConnectConfig(ctx, cc.Copy())
	if err != nil {
		return fmt.Errorf("connecting to postgres: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`,
		name).Scan(&exists)
	if err != nil || exists {
		return err
	}
	_, err = conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{name}.Sanitize())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == uniqueViolation || pe.Code == duplicateSchema) {
		// Nodes starting together on a new schema race here (IF NOT
		// EXISTS does not make the check and the creation atomic): the
		// loser finds the schema the winner made.
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating schema %s: %w", name, err)
	}
	logger.Info("schema created", "schema", name)
	return nil
}

// Migrate applies the embedded migrations not yet applied, holding an
// advisory lock so that nodes starting together migrate one at a time. Open
// calls it; it is exported for the `hookflow migrate` command and is
// idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("reading migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(s.lockKey("migrate")), lock.WithLockTimeout(1, 120))
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	db := stdlib.OpenDB(*s.cfg.ConnConfig.Copy())
	defer db.Close()

	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	for _, r := range results {
		s.logger.Info("migration applied",
			"version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// Close waits for the group of Update calls being written, refuses further
// calls, and closes the pool, waiting for connections in use to be released.
// Listen and Lead hold connections of their own: cancel their contexts to
// end them.
func (s *Store) Close() error {
	// A sender that did not stop its hand-off leaves its deliveries to the
	// table, where another node may claim them at once, not to their
	// leases.
	err := s.handoff.End(context.Background(), s)
	if s.group != nil {
		s.group.Close()
	}
	s.pool.Close()
	if err != nil {
		return fmt.Errorf("handing back held deliveries: %w", err)
	}
	return nil
}

// lockKey returns the advisory lock key of purpose in this store's schema,
// so deployments in different schemas of one database never share a lock.
func (s *Store) lockKey(purpose string) int64 {
	h := fnv.New64a()
	h.Write([]byte("hookflow\x00" + purpose + "\x00" + s.schema))
	return int64(h.Sum64())
}

// lostRace reports a transaction that PostgreSQL aborted to break a
// deadlock, or that could not be serialised, as ErrConflict: it lost a
// race with another writer, changed nothing, and may be run again. Two
// requests creating the same new users in opposite orders deadlock on the
// unique index. Only Update maps these: the other writes are single
// statements whose ErrConflict means something else.
func lostRace(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == deadlockDetected || pe.Code == serializationFailure) {
		return fmt.Errorf("%w: %w", hookflow.ErrConflict, err)
	}
	return err
}

// inTx runs fn in a transaction.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	t, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", mapErr(err))
	}
	if err := fn(t); err != nil {
		// A rollback after a failed statement or a cancelled context
		// can fail too; the pool then discards the connection.
		if rerr := t.Rollback(context.WithoutCancel(ctx)); rerr != nil {
			s.logger.Warn("rollback failed", "err", rerr)
		}
		return err
	}
	if err := t.Commit(ctx); err != nil {
		return fmt.Errorf("committing: %w", mapErr(err))
	}
	return nil
}

// querier is what both the pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SQLSTATE codes mapErr turns into domain errors.
const (
	uniqueViolation         = "23505"
	deadlockDetected        = "40P01"
	serializationFailure    = "40001"
	duplicateSchema         = "42P06"
	foreignKeyViolation     = "23503"
	characterNotInRepertory = "22021" // a NUL byte or invalid UTF-8 in text
	untranslatableCharacter = "22P05"
)

// planEachRun, given as a statement's first argument, makes PostgreSQL
// plan the statement for each run, with the tables' sizes of the moment
// and the arrays it is given, instead of keeping one plan (pgx prepares
// every statement). The kept plan is made on a statement's sixth run, and
// for a batch joined by id to the queue's tables that is often while they
// are nearly empty: a hash join over a scan of every row, kept as the
// tables grow, until autovacuum's next ANALYZE. In the bench's end to end
// scenario, on a schema as new as a fresh install's, outcomes took 5 ms a
// batch and grew with the table; planned on each run they are index
// look-ups, for a planning cost that is small beside a batch.
var planEachRun = pgx.QueryExecModeCacheDescribe

// mapErr turns driver errors into the domain's sentinels, keeping the
// driver error's text for logs.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return hookflow.ErrNotFound
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case uniqueViolation:
		return fmt.Errorf("%w: %w", hookflow.ErrConflict, pe)
	case foreignKeyViolation:
		return fmt.Errorf("%w: %w", hookflow.ErrNotFound, pe)
	case characterNotInRepertory, untranslatableCharacter:
		return hookflow.Invalid("", "text a database column cannot hold: %s", pe.Message)
	}
	return err
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// fromNull reads a nullable timestamptz in UTC, NULL as the zero time.
func fromNull(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return utc(t.Time)
}

// utc returns t in UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// nullString stores "" as NULL.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// now is the store's own clock, used only to fill timestamps a caller left
// zero; every decision about time is taken by callers with their Clock.
func now() time.Time { return time.Now().UTC() }
