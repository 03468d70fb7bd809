package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/postgres"
)

// deadline turns a hang into a failure; it is never what a test asserts.
const deadline = 30 * time.Second

// TestValuesRoundTrip stores what PostgreSQL's text and jsonb would refuse
// or retype (NUL characters inside JSON strings, whole and fractional
// numbers) and reads back exactly what went in.
func TestValuesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, schemaURL(t))
	free := map[string]any{
		"nul":     "a\x00b",
		"key\x00": "value",
		"int":     int64(3),
		"float":   3.0,
		"frac":    2.5,
		"big":     int64(9007199254740993), // beyond float64's exact integers
		"nested":  map[string]any{"list": []any{int64(1), 1.0, "\x00", nil, true}},
	}
	u := &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", CreatedAt: time.Now().UTC(),
		Attributes: map[string]any{"email": "nul\x00@example.com", "free": free}}
	ev := &hookflow.Event{ID: "e1", UserID: u.ID, Name: "signup", Properties: free,
		Time: time.Now().UTC(), ReceivedAt: time.Now().UTC()}
	d := &hookflow.Delivery{ID: "d-1", Origin: hookflow.OriginAPIMessage, UserID: u.ID,
		Payload: hookflow.Payload{TriggerProperties: free,
			Event: &hookflow.EventPayload{Name: "signup", Properties: free}}}
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		if err := tx.InsertEvents([]*hookflow.Event{ev}); err != nil {
			return err
		}
		return tx.Enqueue([]*hookflow.Delivery{d})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	gotUser, err := s.GetUser(ctx, hookflow.UserRef{Email: "nul\x00@example.com"})
	if err != nil {
		t.Fatalf("GetUser by an email holding NUL: %v", err)
	}
	if !reflect.DeepEqual(gotUser.Attributes["free"], free) {
		t.Errorf("attributes:\n got %#v\nwant %#v", gotUser.Attributes["free"], free)
	}
	evs, err := s.ListEvents(ctx, u.ID, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("ListEvents = %v, %v", evs, err)
	}
	if !reflect.DeepEqual(evs[0].Properties, free) {
		t.Errorf("event properties:\n got %#v\nwant %#v", evs[0].Properties, free)
	}
	gotD, _, err := s.GetDelivery(ctx, d.ID)
	if err != nil {
		t.Fatalf("GetDelivery: %v", err)
	}
	if !reflect.DeepEqual(gotD.Payload, d.Payload) {
		t.Errorf("payload:\n got %#v\nwant %#v", gotD.Payload, d.Payload)
	}
}

// TestTextColumnRefusesNUL: a NUL where PostgreSQL keeps plain text (an
// event name) is a validation error, and nothing of the transaction stays.
func TestTextColumnRefusesNUL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, schemaURL(t))
	u := &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaaa"}
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		return tx.InsertEvents([]*hookflow.Event{{UserID: u.ID, Name: "sign\x00up"}})
	})
	var ve *hookflow.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("InsertEvents(name with NUL) error = %v, want a ValidationError", err)
	}
	if _, err := s.GetUser(ctx, hookflow.UserRef{BrazeID: u.ID}); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetUser after the refused transaction error = %v, want ErrNotFound", err)
	}
}

// TestQueueStoresWhatTextRefuses saves, in one batch with a normal
// delivery, a rendered URL holding a NUL and invalid UTF-8, kept exactly,
// and reasons and errors holding them, kept readable: nothing fails the
// batch.
func TestQueueStoresWhatTextRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, schemaURL(t))
	now := time.Now().UTC()
	var ds []*hookflow.Delivery
	for i := range 3 {
		ds = append(ds, &hookflow.Delivery{ID: fmt.Sprintf("d-%d", i),
			Origin: hookflow.OriginAPIMessage, UserID: "u", DueAt: now})
	}
	if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue(ds) }); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if _, err := s.Claim(ctx, now, 10, time.Minute); err != nil {
		t.Fatalf("Claim: %v", err)
	}

	url := "https://x.test/a\x00b\xff"
	err := s.SaveRendered(ctx, now, []hookflow.RenderResult{
		{DeliveryID: "d-0", Request: &hookflow.Request{Method: "POST", URL: url}},
		{DeliveryID: "d-1", AbortReason: "no\x00pe"},
		{DeliveryID: "d-2", Request: &hookflow.Request{Method: "POST", URL: "https://x.test/"}},
	})
	if err != nil {
		t.Fatalf("SaveRendered: %v", err)
	}
	err = s.Complete(ctx, now, []hookflow.Completion{{State: hookflow.StateFailed,
		Attempt: hookflow.Attempt{DeliveryID: "d-2", Number: 1, StartedAt: now,
			Error: "bad \xff\x00 header"}}})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}

	d, _, err := s.GetDelivery(ctx, "d-0")
	if err != nil || d.Request == nil || d.Request.URL != url {
		t.Errorf("stored URL = %+v, %v; want %q", d.Request, err, url)
	}
	d, _, _ = s.GetDelivery(ctx, "d-1")
	if d.AbortReason != "no\uFFFDpe" {
		t.Errorf("abort reason = %q, want the NUL replaced", d.AbortReason)
	}
	d, as, _ := s.GetDelivery(ctx, "d-2")
	if want := "bad \uFFFD\uFFFD header"; d.LastError != want || len(as) != 1 || as[0].Error != want {
		t.Errorf("last error %q, attempts %+v; want %q", d.LastError, as, want)
	}
}

// wakeCounter is a wake function that reports each call on a channel.
type wakeCounter chan struct{}

func (w wakeCounter) wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

func (w wakeCounter) await(t *testing.T, what string) {
	t.Helper()
	select {
	case <-w:
	case <-time.After(deadline):
		t.Fatalf("no wake-up for %s", what)
	}
}

// TestListenWakesOnEnqueueFromAnotherStore runs a listener on one store and
// enqueues through another on the same schema, as two nodes would. Enqueues
// that roll back, or that commit in another schema, wake nobody.
func TestListenWakesOnEnqueueFromAnotherStore(t *testing.T) {
	t.Parallel()
	url := schemaURL(t)
	listener, writer := openStore(t, url), openStore(t, url)
	elsewhere := openStore(t, schemaURL(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	wakes := make(wakeCounter, 16)
	go func() { done <- listener.Listen(ctx, wakes.wake) }()

	// Listen wakes once as it starts listening: from then on an enqueue
	// must be heard.
	wakes.await(t, "listening")
	enqueue := func(s *postgres.Store, fail error) {
		t.Helper()
		d := &hookflow.Delivery{Origin: hookflow.OriginAPIMessage, UserID: "u"}
		err := s.Update(context.Background(), func(tx hookflow.Tx) error {
			if err := tx.Enqueue([]*hookflow.Delivery{d}); err != nil {
				return err
			}
			return fail
		})
		if !errors.Is(err, fail) {
			t.Fatalf("Update error = %v, want %v", err, fail)
		}
	}
	enqueue(writer, nil)
	wakes.await(t, "an enqueue")

	// PostgreSQL delivers notifications in commit order, so a wake-up from
	// the rollback or the other schema would come before the one awaited
	// here. The check cannot fail spuriously; it misses such a wake-up only
	// if the listener has not yet turned the last notification into one.
	enqueue(writer, errors.New("rolled back"))
	enqueue(elsewhere, nil)
	enqueue(writer, nil)
	wakes.await(t, "an enqueue after the rollback")
	if n := len(wakes); n != 0 {
		t.Errorf("%d extra wake-ups, want none from a rollback or another schema", n)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Listen returned %v after cancel, want nil", err)
	}
}

// TestLeadHandsOverWhenTheLeaderDies runs Lead on two stores of one schema.
// The leader's session is ended from outside, as when its process dies: its
// duty is cancelled and the other store takes over.
func TestLeadHandsOverWhenTheLeaderDies(t *testing.T) {
	t.Parallel()
	url := schemaURL(t)
	a, b := openStore(t, url), openStore(t, url)

	type leader struct {
		started chan struct{}
		stopped chan struct{}
	}
	run := func(s *postgres.Store) (leader, context.CancelFunc, chan error) {
		l := leader{make(chan struct{}, 8), make(chan struct{}, 8)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- s.Lead(ctx, func(ctx context.Context) {
				l.started <- struct{}{}
				<-ctx.Done()
				l.stopped <- struct{}{}
			})
		}()
		return l, cancel, done
	}
	await := func(ch chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(deadline):
			t.Fatalf("timed out waiting until %s", what)
		}
	}

	la, cancelA, doneA := run(a)
	await(la.started, "a leads")
	lb, cancelB, doneB := run(b)
	defer cancelB()

	pid := postgres.LeaderPID(a)
	if pid == 0 {
		t.Fatal("a leads but records no leader session")
	}
	select {
	case <-lb.started:
		t.Fatal("b leads while a holds the lock")
	default:
	}

	// The leader's session dies; a, alive, notices and stops its duty. A
	// dead process would not campaign again, so a is then stopped for good.
	terminate(t, url, pid)
	await(la.stopped, "a's duty is cancelled after its session died")
	cancelA()
	if err := <-doneA; err != nil {
		t.Errorf("a's Lead returned %v, want nil", err)
	}
	await(lb.started, "b leads after a died")

	cancelB()
	await(lb.stopped, "b's duty is cancelled with b's Lead")
	if err := <-doneB; err != nil {
		t.Errorf("b's Lead returned %v, want nil", err)
	}
}

// terminate ends the server session of backend pid.
func terminate(t *testing.T, url string, pid uint32) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating backend %d: %v, %v", pid, ok, err)
	}
}

// TestConcurrentClaimersAcrossStores claims from two stores, as two nodes
// would, with two claimers each: no delivery is handed out twice.
func TestConcurrentClaimersAcrossStores(t *testing.T) {
	t.Parallel()
	url := schemaURL(t)
	stores := []*postgres.Store{openStore(t, url), openStore(t, url)}
	ctx := context.Background()
	now := time.Now().UTC()
	const rows, batch = 3000, 40
	ds := make([]*hookflow.Delivery, rows)
	for i := range ds {
		ds[i] = &hookflow.Delivery{ID: fmt.Sprintf("d-%06d", i), Origin: hookflow.OriginAPIMessage,
			UserID: "u", DueAt: now.Add(-time.Duration(i) * time.Millisecond)}
	}
	if err := stores[0].Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue(ds) }); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}

	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func(s *postgres.Store) {
			defer wg.Done()
			for {
				// The lease outlives the test, so a second claim is a bug.
				got, err := s.Claim(ctx, now, batch, time.Hour)
				if err != nil || len(got) == 0 {
					errs <- err
					return
				}
				mu.Lock()
				for _, d := range got {
					counts[d.ID]++
				}
				mu.Unlock()
			}
		}(stores[i%2])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
	}
	if len(counts) != rows {
		t.Errorf("claimed %d distinct deliveries, want %d", len(counts), rows)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times, want 1", id, n)
		}
	}
}

// A write that locked users finds them by external id as they were; a
// profile another node created after the lock is ErrConflict, so that the
// write is run again and locks it.
func TestFindUsersByExternalIDAfterLockAcrossStores(t *testing.T) {
	t.Parallel()
	url := schemaURL(t)
	a, b := openStore(t, url), openStore(t, url)
	ctx := context.Background()
	early := &hookflow.User{ID: "eeeeeeeeeeeeeeeeeeeeeee5", ExternalID: "ext-early"}
	if err := a.Update(ctx, func(tx hookflow.Tx) error { return tx.InsertUser(early) }); err != nil {
		t.Fatal(err)
	}

	var got map[string]*hookflow.User
	var late error
	err := a.Update(ctx, func(tx hookflow.Tx) error {
		refs := []hookflow.UserRef{{ExternalID: "ext-early"}, {ExternalID: "ext-late"}}
		if err := tx.(hookflow.UserLocker).LockUsers(refs); err != nil {
			return err
		}
		// The other node creates ext-late meanwhile.
		err := b.Update(ctx, func(tx hookflow.Tx) error {
			return tx.InsertUser(&hookflow.User{ID: "eeeeeeeeeeeeeeeeeeeeeee6", ExternalID: "ext-late"})
		})
		if err != nil {
			return err
		}

		if got, err = tx.FindUsersByExternalID([]string{"ext-early"}); err != nil {
			return err
		}
		_, late = tx.FindUsersByExternalID([]string{"ext-early", "ext-late"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if u := got["ext-early"]; len(got) != 1 || u == nil || u.ID != early.ID {
		t.Errorf("locked profiles = %+v, want ext-early only", got)
	}
	if !errors.Is(late, hookflow.ErrConflict) {
		t.Errorf("FindUsersByExternalID of a profile created after the lock = %v, want ErrConflict", late)
	}
}
