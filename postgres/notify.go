package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is the LISTEN/NOTIFY channel of enqueues. The payload is the
// store's schema, so deployments sharing a database wake only their own
// senders.
const channel = "hookflow_deliveries"

// Reconnection backoff of Listen and Lead after a lost connection.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// notify queues a notification in t; PostgreSQL delivers it when t commits,
// and not at all if t rolls back.
func (s *Store) notify(ctx context.Context, t pgx.Tx) error {
	if _, err := t.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, s.schema); err != nil {
		return mapErr(err)
	}
	return nil
}

// Listen calls wake whenever any Store on this database and schema, in this
// process or another, commits an Update that enqueued deliveries. It holds
// a dedicated connection, outside the pool, for as long as it runs, and
// reconnects with backoff when that connection fails. wake is also called
// once each time listening (re)starts, since enqueues made while no
// connection listened went unheard. wake runs on Listen's goroutine and
// should not block: a non-blocking send on a buffered channel is typical.
// Listen returns nil when ctx is done.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	backoff := minBackoff
	for {
		err := s.listenOnce(ctx, wake, func() { backoff = minBackoff })
		if ctx.Err() != nil {
			return nil
		}
		s.logger.Warn("listening for enqueues failed; reconnecting",
			"err", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce listens on one connection until it fails or ctx is done. It
// calls listening once the LISTEN took effect.
func (s *Store) listenOnce(ctx context.Context, wake, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+channel); err != nil {
		return err
	}
	listening()
	wake()

	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload == s.schema {
			wake()
		}
	}
}

// sleep waits for d or ctx, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
