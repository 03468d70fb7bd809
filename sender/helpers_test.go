package sender_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/receiver"
	"github.com/hookflow/hookflow/sender"
	"github.com/hookflow/hookflow/sqlite"
)

// openStore opens a real SQLite store in a temporary file, closed when the
// test ends.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// startReceiver starts a loopback receiver that answers 200, closed when
// the test ends.
func startReceiver(t *testing.T) *receiver.Receiver {
	t.Helper()
	rcv, err := receiver.Start(receiver.Always(200))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	return rcv
}

// newUser returns the profile of user u1.
func newUser() *hookflow.User {
	return &hookflow.User{ID: hookflow.NewUserID(), ExternalID: "u1", Attributes: map[string]any{}}
}

// rawMessage is an API message POSTing body to url.
func rawMessage(url, body string) hookflow.Webhook {
	return hookflow.Webhook{Method: "POST", URL: url, BodyType: hookflow.BodyRaw, BodyRaw: body}
}

// enqueue stores u and the API message w as dispatch dsp_1, and enqueues a
// delivery of it, due now, for each of userIDs, in one transaction.
func enqueue(t *testing.T, store hookflow.Store, u *hookflow.User, w hookflow.Webhook,
	userIDs ...string) []*hookflow.Delivery {
	t.Helper()
	now := time.Now().UTC()
	ds := make([]*hookflow.Delivery, len(userIDs))
	for i, id := range userIDs {
		ds[i] = &hookflow.Delivery{ID: hookflow.NewDeliveryID(), Origin: hookflow.OriginAPIMessage,
			DispatchID: "dsp_1", UserID: id, State: hookflow.StatePending, DueAt: now, CreatedAt: now}
	}
	err := store.Update(context.Background(), func(tx hookflow.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		if err := tx.SaveAPIMessage("dsp_1", w, now); err != nil {
			return err
		}
		return tx.Enqueue(ds)
	})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// newSender returns a sender on store, on the system clock, whose client
// times out after timeout; the client is closed when the test ends. A zero
// PollInterval is 20 ms.
func newSender(t *testing.T, store hookflow.Store, timeout time.Duration, opts sender.Options) *sender.Sender {
	t.Helper()
	client := deliver.NewClient(deliver.Options{Timeout: timeout})
	t.Cleanup(client.Close)
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return sender.New(store, client, deliver.DefaultPolicy(), hookflow.SystemClock{}, log, opts)
}

// runSender runs a sender on store, its client timing out after 5 s, until
// the test ends.
func runSender(t *testing.T, store hookflow.Store, opts sender.Options) {
	t.Helper()
	run(t, newSender(t, store, 5*time.Second, opts))
}

// run runs snd until the test ends.
func run(t *testing.T, snd *sender.Sender) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { snd.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// awaitFinal polls the delivery id until it is in a final state, and fails
// the test if wait ends first.
func awaitFinal(t *testing.T, wait context.Context, store hookflow.Store,
	id string) (*hookflow.Delivery, []hookflow.Attempt) {
	t.Helper()
	for {
		stored, attempts, err := store.GetDelivery(context.Background(), id)
		if err == nil && hookflow.Final(stored.State) {
			return stored, attempts
		}
		if wait.Err() != nil {
			t.Fatalf("delivery %s did not end: %+v, %v", id, stored, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
