package sender_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/receiver"
	"github.com/hookflow/hookflow/sender"
	"github.com/hookflow/hookflow/sqlite"
)

// flakyStore is a real SQLite store whose GetUser fails the first n calls
// with an I/O-like error. A fake is needed here because a real database
// cannot be made to fail one read on demand.
type flakyStore struct {
	*sqlite.Store
	failures atomic.Int32
}

var errDiskHiccup = errors.New("disk I/O error")

func (f *flakyStore) GetUser(ctx context.Context, ref hookflow.UserRef) (*hookflow.User, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, errDiskHiccup
	}
	return f.Store.GetUser(ctx, ref)
}

// A store that cannot be read for a moment must not fail a delivery whose
// template is fine: it is tried again and delivered.
func TestStoreHiccupDoesNotFailDelivery(t *testing.T) {
	rcv, err := receiver.Start(receiver.Always(200))
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	base, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	store := &flakyStore{Store: base}
	store.failures.Store(2)

	ctx := context.Background()
	now := time.Now().UTC()
	u := &hookflow.User{ID: hookflow.NewUserID(), ExternalID: "u1", Attributes: map[string]any{}}
	w := hookflow.Webhook{Method: "POST", URL: rcv.URL() + "/x", BodyType: hookflow.BodyRaw, BodyRaw: "hi {{${user_id}}}"}
	d := &hookflow.Delivery{ID: hookflow.NewDeliveryID(), Origin: hookflow.OriginAPIMessage, DispatchID: "dsp_1",
		UserID: u.ID, State: hookflow.StatePending, DueAt: now, CreatedAt: now}
	err = store.Update(ctx, func(tx hookflow.Tx) error {
		if err := tx.InsertUser(u); err != nil {
			return err
		}
		if err := tx.SaveAPIMessage("dsp_1", w, now); err != nil {
			return err
		}
		return tx.Enqueue([]*hookflow.Delivery{d})
	})
	if err != nil {
		t.Fatal(err)
	}

	client := deliver.NewClient(deliver.Options{Timeout: 5 * time.Second})
	defer client.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	snd := sender.New(store, client, deliver.DefaultPolicy(), hookflow.SystemClock{}, log,
		sender.Options{PollInterval: 20 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { snd.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()

	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := rcv.WaitFor(wait, 1); err != nil {
		t.Fatalf("no request arrived: %v", err)
	}
	got := rcv.Requests()[0]
	if string(got.Body) != "hi u1" || got.Header.Get("Webhook-Id") != d.ID {
		t.Errorf("request = %q, id %q", got.Body, got.Header.Get("Webhook-Id"))
	}
	for {
		stored, attempts, err := store.GetDelivery(ctx, d.ID)
		if err == nil && stored.State == hookflow.StateDelivered {
			if len(attempts) != 1 || stored.LastError != "" {
				t.Errorf("attempts = %d, last error %q; want 1 and none", len(attempts), stored.LastError)
			}
			return
		}
		if err == nil && hookflow.Final(stored.State) {
			t.Fatalf("delivery ended %s: %s", stored.State, stored.LastError)
		}
		if wait.Err() != nil {
			t.Fatalf("delivery not delivered: %+v", stored)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
