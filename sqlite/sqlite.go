// Package sqlite is the embedded storage backend of Hookflow: one SQLite file,
// opened through the pure-Go driver modernc.org/sqlite, implementing
// hookflow.Store.
//
// SQLite admits one writer at a time. The Store therefore keeps two pools: a
// write pool of exactly one connection whose transactions begin IMMEDIATE, so
// writers queue in Go instead of failing with SQLITE_BUSY, and a read pool
// that, in WAL mode, never waits for the writer. Update calls that wait for
// the writer together share one transaction and one commit, each in a
// savepoint of its own (group commit, see group.go).
//
// Every time is stored as INTEGER unix microseconds in UTC and read back as a
// UTC time.Time; the zero time.Time is stored as 0. A real instant of exactly
// 1970-01-01T00:00:00Z therefore reads back as the zero time.
//
// Known limits: Complete does not check that the caller still holds the
// delivery's lease; a sender that lost its lease and reports an attempt
// number already recorded gets ErrConflict for its whole batch, which is
// what keeps two senders from both completing one attempt. The store fills
// empty IDs and zero timestamps with the wall clock (see InsertUser and
// Enqueue); callers that need a test clock set them themselves.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/handoff"
	"github.com/hookflow/hookflow/txgroup"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a connection waits for a lock before SQLITE_BUSY.
// Writes already queue in Go on the single write connection; this covers the
// rare waits that remain (checkpoints, another process on the same file).
const busyTimeout = 10 * time.Second

// Checkpoints. A checkpoint copies the WAL's pages into the database file
// and syncs it; SQLite runs one in the committing connection once the WAL
// holds wal_autocheckpoint pages, which stalled the one writer, and every
// write queued behind it, for as long as it copied (at 2000 pages, a few
// milliseconds each time: the bench's p99 at 1,000 events/s was 5-6 ms
// with a max of 11-16 ms, and more writes meant more stalls, which was much
// of what bad neighbours cost a healthy endpoint). Instead a connection of
// its own checkpoints every checkpointEvery, in PASSIVE mode, which waits
// for no reader or writer: the writer goes on appending while it copies
// (p99 3.0-3.5 ms, max under 5 ms, neighbours 4.3-4.7 ms against 5.8-9.6).

// checkpointEvery is how often the checkpointer copies the WAL. A page
// written many times between two checkpoints is copied once, so a longer
// interval copies less of the hot pages (the indexes' last leaves): 100 ms
// against 20 gave the bench's e2e more deliveries/s in five pairs of seven
// (+9 % on average) and a lower p99 at 1,000 events/s in three of three,
// with the neighbours ratio mixed.
const checkpointEvery = 100 * time.Millisecond

// walAutocheckpoint is how many pages the WAL may hold before a commit
// checkpoints on the writer after all (SQLite's default is 1000): a net for
// when the checkpointer falls behind, under a load that writes faster than
// it copies. The WAL file keeps its largest size, so it stays near 32 MB
// after such a load (8,000-8,700 frames seen in the bench's intake, e2e and
// broadcast); at a steady 1,000 events/s the checkpointer keeps it empty.
const walAutocheckpoint = 8000

// cacheKiB is each connection's page cache, in KiB (SQLite's default is
// 2,000). 10 MiB keeps the hot parts of the deliveries indexes in the
// writer's memory; readers lose theirs at every read transaction that
// follows a commit (WAL mode), so only the writer's fills. It costs twice
// its size: the C allocator SQLite runs on rounds each page's 4 KiB and
// header up to 8 KiB. 32 MiB held 64 MB of the e2e scenario's peak RSS of
// 190 MB; 16 MiB measured 159 MB with as many deliveries/s (three pairs,
// and intake and the broadcast in two). Once deliveries carried their
// profiles through the hand-off the peak was back at 178-186 MB; 10 MiB
// measured 165-170 MB (e2e and fan-out), with intake, the broadcast and
// e2e level in two pairs each.
const cacheKiB = 10 << 10

// Store is a hookflow.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	write  *pool
	read   *pool
	logger *slog.Logger
	// profiles is the writer's profile cache (profiles.go).
	profiles *profileCache
	// ckpt is the checkpointer's connection; checkpointed counts its runs
	// that found pages of the WAL copied, and checkpointerDone is closed
	// once it has stopped.
	ckpt             *sql.DB
	checkpointed     atomic.Int64
	checkpointerDone chan struct{}

	// group commits Update calls (group.go); closing stops the
	// checkpointer.
	group     *txgroup.Group[*groupTx]
	handoff   handoff.Holder
	closing   chan struct{}
	closeOnce sync.Once
}

var _ hookflow.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, creating its
// parent directory, and applies any pending migrations. logger may be nil.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating database directory: %w", err)
	}

	write, err := openPool(path, true)
	if err != nil {
		return nil, err
	}
	s := &Store{write: newPool(write), logger: logger}
	// The one writer of its profiles (the write connection), the store
	// tells the hand-off of each write, so deliveries can be held with the
	// profiles they carry.
	s.handoff.CountWrites()
	s.profiles = newProfileCache(s.handoff.UserWritten)

	// Migrate before opening the readers so the file is in WAL mode and
	// has its schema by the time any reader connects.
	if err := s.Migrate(ctx); err != nil {
		write.Close()
		return nil, err
	}
	read, err := openPool(path, false)
	if err != nil {
		write.Close()
		return nil, err
	}
	s.read = newPool(read)
	if s.ckpt, err = openPool(path, true); err != nil {
		write.Close()
		read.Close()
		return nil, err
	}

	s.closing = make(chan struct{})
	s.startGroup()
	s.checkpointerDone = make(chan struct{})
	go s.checkpointer()
	return s, nil
}

// checkpointer copies the WAL into the database file every
// checkpointEvery until Close (see Checkpoints above).
func (s *Store) checkpointer() {
	defer close(s.checkpointerDone)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-tick.C:
		}
		var busy, frames, copied int
		err := s.ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
		switch {
		case err != nil:
			s.logger.Warn("checkpoint failed", "err", err)
		case copied > 0:
			s.checkpointed.Add(1)
		}
	}
}

// openPool opens the write pool (one connection, IMMEDIATE transactions) or
// the read pool (a few query-only connections).
func openPool(path string, writer bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheKiB))
	q.Add("_pragma", "temp_store(MEMORY)")
	if writer {
		// Only commits checkpoint on their own, and only the writer
		// commits.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walAutocheckpoint))
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	dsn := "file:" + path + "?" + q.Encode()

	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if writer {
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(max(4, 2*runtime.NumCPU()))
	}
	// Connections are cheap to keep and costly to reopen (pragmas, page
	// cache), so idle ones stay.
	db.SetMaxIdleConns(max(4, 2*runtime.NumCPU()))
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}

// Migrate applies the embedded migrations not yet applied. Open calls it;
// it is exported for the `hookflow migrate` command and is idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("reading migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.write.DB, fsys)
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

// Close hands the deliveries its hand-off still holds back to the table,
// waits for the group of Update calls being written, refuses further
// calls, and closes both pools and the statements they keep.
func (s *Store) Close() error {
	var errs []error
	if s.closing != nil {
		// A sender that did not stop its hand-off leaves its deliveries
		// to the table, not to their leases.
		if err := s.handoff.End(context.Background(), s); err != nil {
			errs = append(errs, fmt.Errorf("handing back held deliveries: %w", err))
		}
		s.closeOnce.Do(func() { close(s.closing) })
		s.group.Close()
		<-s.checkpointerDone
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.Close())
	}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	return errors.Join(errs...)
}

// inWrite runs fn in a write transaction. Once the transaction has ended it
// keeps statements for the SQL texts the transaction ran that the write pool
// did not keep yet; it cannot before, as the transaction holds the pool's
// only connection.
func (s *Store) inWrite(ctx context.Context, fn func(*writeTx) error) error {
	begun, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning write: %w", mapErr(err))
	}
	t := newWriteTx(begun, s.write, s.profiles)
	defer func() { s.write.prepare(ctx, t.missed) }()

	if err := fn(t); err != nil {
		// A cancelled context (a shutdown, a client gone) has rolled the
		// transaction back already: ErrTxDone is no failure then.
		if rerr := t.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			s.logger.Warn("rollback failed", "err", rerr)
		}
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("committing: %w", mapErr(err))
	}
	return nil
}

// querier is what both the pools and a transaction offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// mapErr turns driver errors into the domain's sentinels, keeping the driver
// error's text for logs.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return hookflow.ErrNotFound
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", hookflow.ErrConflict, se)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", hookflow.ErrNotFound, se)
		}
	}
	return err
}

// micros stores t as unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros reads a time stored by micros.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// now is the store's own clock, used only to fill timestamps a caller left
// zero; every decision about time is taken by callers with their Clock.
func now() time.Time { return time.Now().UTC() }
