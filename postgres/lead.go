package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// LeaderInterval is how often a node that is not the leader tries to take
// leadership, and how often the leader checks that its session, and so its
// lock, is alive. When a leader's process dies, PostgreSQL ends its session
// and frees the lock at once; another node then leads within LeaderInterval
// (plus the time to connect). When the database ends a leader's session
// while the process lives on, the old leader notices within LeaderInterval,
// so for at most that long two duties may overlap: duties must tolerate a
// short overlap (as the queue's leases do).
const LeaderInterval = time.Second

// Lead runs duty on one node at a time among all the Stores of this
// database and schema. It campaigns for a session advisory lock on a
// dedicated connection, retrying every LeaderInterval; while it holds the
// lock it runs duty with a context that is cancelled when the lock's session
// is lost or ctx is done. duty should run until its context ends; if it
// returns earlier, Lead gives the lock up and campaigns again, so the duty
// restarts on whichever node wins. Lead returns nil once ctx is done and
// duty has returned.
func (s *Store) Lead(ctx context.Context, duty func(ctx context.Context)) error {
	key := s.lockKey("leader")
	backoff := minBackoff
	for {
		led, err := s.leadOnce(ctx, key, duty)
		if ctx.Err() != nil {
			return nil
		}
		wait := LeaderInterval
		if err != nil {
			s.logger.Warn("leader election failed", "err", err, "retry_in", backoff)
			wait, backoff = backoff, min(2*backoff, maxBackoff)
		} else if led {
			backoff = minBackoff
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// leadOnce connects, tries the lock once, and if it got it runs duty until
// the session is lost, duty returns or ctx is done. led reports whether it
// held the lock.
func (s *Store) leadOnce(ctx context.Context, key int64, duty func(context.Context)) (led bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	// Closing the connection ends the session, which releases the lock.
	defer conn.Close(context.WithoutCancel(ctx))

	for {
		var got bool
		err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got)
		if err != nil {
			return false, err
		}
		if got {
			break
		}
		if !sleep(ctx, LeaderInterval) {
			return false, nil
		}
	}

	s.logger.Info("leading", "pid", conn.PgConn().PID())
	s.leaderPID.Store(conn.PgConn().PID())
	defer s.leaderPID.Store(0)
	return true, s.runDuty(ctx, conn, duty)
}

// errLost reports a leader's session found dead.
var errLost = errors.New("leader session lost")

// runDuty runs duty while conn's session is alive, checking it every
// LeaderInterval, and waits for duty to return.
func (s *Store) runDuty(ctx context.Context, conn *pgx.Conn, duty func(context.Context)) error {
	dctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		duty(dctx)
	}()
	defer wg.Wait()
	defer cancel()

	tick := time.NewTicker(LeaderInterval)
	defer tick.Stop()
	for {
		select {
		case <-dctx.Done():
			s.logger.Info("leadership given up")
			return nil
		case <-tick.C:
		}
		if err := conn.Ping(dctx); err != nil && dctx.Err() == nil {
			s.logger.Warn("leadership lost", "err", err)
			return fmt.Errorf("%w: %w", errLost, err)
		}
	}
}
