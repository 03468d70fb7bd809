package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow"
)

// cutter is a TCP proxy to PostgreSQL that, once armed, forwards the next
// client bytes holding COMMIT and then closes the connection: the server
// commits, and the client never learns so (a network failure between the
// two).
type cutter struct {
	ln    net.Listener
	armed atomic.Bool
}

func startCutter(t *testing.T, target string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			go func() {
				io.Copy(client, server)
				client.Close()
			}()
			go c.forward(client, server)
		}
	}()
	return c
}

func (c *cutter) forward(client, server net.Conn) {
	defer server.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			server.Write(buf[:n])
			if bytes.Contains(bytes.ToLower(buf[:n]), []byte("commit")) && c.armed.CompareAndSwap(true, false) {
				client.Close()
				time.Sleep(200 * time.Millisecond) // the server commits meanwhile
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A group whose commit reply is lost may have been stored: its calls fail
// with the commit's error and are not run again, which would store them
// twice (each /users/track call's events and deliveries get new ids).
func TestLostCommitIsNotRunAgain(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	cut := startCutter(t, pu.Host)
	pu.Host = cut.ln.Addr().String()
	s := openStore(t, pu.String()+"&sslmode=disable")
	ctx := context.Background()
	user := &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaa1", ExternalID: "lost"}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertUser(user) }); err != nil {
		t.Fatal(err)
	}

	cut.armed.Store(true)
	runs := 0
	err = s.Update(ctx, func(tx hookflow.Tx) error {
		runs++
		return tx.InsertEvents([]*hookflow.Event{{ID: hookflow.NewDeliveryID(), UserID: user.ID,
			Name: "e", Time: time.Now(), ReceivedAt: time.Now()}})
	})
	if err == nil {
		t.Error("Update whose commit reply was lost succeeded")
	}
	if runs != 1 {
		t.Errorf("the call ran %d times, want 1", runs)
	}

	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d events stored, want the 1 the server committed", n)
	}
}

// Calls of a group share one transaction id: a lock of a profile by one
// call and its update by the next, in subtransactions of their own, made
// a MultiXact of every profile that two calls of a group named.
func TestGroupedCallsMakeNoMultiXact(t *testing.T) {
	t.Parallel()
	u := schemaURL(t)
	s := openStore(t, u)
	ctx := context.Background()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	schema := pu.Query().Get("search_path")
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pgrowlocks SCHEMA `+schema); err != nil {
		t.Skipf("pgrowlocks, which this test reads the row locks with: %v", err)
	}
	x := &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaa1", ExternalID: "x", Attributes: map[string]any{}}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertUser(x) }); err != nil {
		t.Fatal(err)
	}

	refs := []hookflow.UserRef{{ExternalID: "x"}}
	lock := func(tx hookflow.Tx) error { return tx.(hookflow.UserLocker).LockUsers(refs) }
	lockAndWrite := func(hold chan struct{}) func(hookflow.Tx) error {
		return func(tx hookflow.Tx) error {
			if err := lock(tx); err != nil {
				return err
			}
			v, err := tx.FindUser(refs[0])
			if err != nil {
				return err
			}
			v.Attributes["k"] = "v"
			if err := tx.UpdateUser(v); err != nil {
				return err
			}
			if _, err := tx.FindUser(refs[0]); err != nil { // sends the update
				return err
			}
			if hold != nil {
				hold <- struct{}{}
				<-hold
			}
			return nil
		}
	}

	// The first call holds the committer while the next two queue behind
	// it, so that they share the next group; the last holds the group
	// open while the row's locks are read.
	release, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 3)
	go func() { done <- s.Update(ctx, func(hookflow.Tx) error { <-release; return nil }) }()
	time.Sleep(100 * time.Millisecond)
	go func() { done <- s.Update(ctx, lock) }()
	time.Sleep(50 * time.Millisecond)
	go func() { done <- s.Update(ctx, lockAndWrite(hold)) }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	<-hold

	var multi bool
	err = conn.QueryRow(ctx, `SELECT COALESCE(bool_or(multi), false)
		FROM `+schema+`.pgrowlocks('`+schema+`.users')`).Scan(&multi)
	hold <- struct{}{}
	if err != nil {
		t.Fatal(err)
	}
	if multi {
		t.Error("the profile's row lock is a MultiXact")
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A queued profile update that changes no row fails its call with
// ErrNotFound; the statement that sent it does not report ErrNotFound as
// its own, or a FindUser would seem to find no profile and its caller
// create one.
func TestQueuedWriteFailureIsTheCallsOutcome(t *testing.T) {
	t.Parallel()
	s := openStore(t, schemaURL(t))
	ctx := context.Background()
	var found error
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		if err := tx.UpdateUser(&hookflow.User{ID: "nobody"}); err != nil {
			return err
		}
		_, found = tx.FindUser(hookflow.UserRef{ExternalID: "someone"})
		return nil
	})
	if !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("Update = %v, want ErrNotFound", err)
	}
	if found == nil || errors.Is(found, hookflow.ErrNotFound) {
		t.Errorf("FindUser after the failed update = %v, want an error that is not ErrNotFound", found)
	}
}

// A call that goes on after one of its statements failed has aborted the
// shared transaction: it fails, and the calls of its group are kept.
func TestCallThatSwallowsAFailedStatementFails(t *testing.T) {
	t.Parallel()
	s := openStore(t, schemaURL(t))
	ctx := context.Background()
	d := &hookflow.Delivery{ID: "d1", Origin: hookflow.OriginAPIMessage, UserID: "u", DueAt: time.Now()}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue([]*hookflow.Delivery{d}) }); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		again := *d
		tx.Enqueue([]*hookflow.Delivery{&again}) // a conflict, ignored
		return nil
	})
	if err == nil {
		t.Error("Update that ignored a failed statement succeeded")
	}
	if err := s.Update(ctx, func(tx hookflow.Tx) error {
		return tx.InsertUser(&hookflow.User{ID: "bbbbbbbbbbbbbbbbbbbbbbb1"})
	}); err != nil {
		t.Fatalf("Update after it: %v", err)
	}
}
