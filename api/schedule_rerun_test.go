package api

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/sqlite"
)

// rerunStore runs each Update's function once in a transaction it throws
// away, calls between, then runs the function again for real: what a
// PostgreSQL group does to its other calls when one call fails. Only the
// re-run is the store's; the store is a real SQLite file.
type rerunStore struct {
	*sqlite.Store
	between func()
}

var errThrownAway = errors.New("thrown away")

func (s *rerunStore) Update(ctx context.Context, fn func(hookflow.Tx) error) error {
	s.Store.Update(ctx, func(tx hookflow.Tx) error {
		fn(tx)
		return errThrownAway
	})
	if s.between != nil {
		s.between()
	}
	return s.Store.Update(ctx, fn)
}

// A schedule run whose function runs again after another leader sent the
// schedule reports nothing ran: it must not report the schedule its first,
// thrown-away run took.
func TestScheduleRunStartsFromNothingWhenRunAgain(t *testing.T) {
	ctx := context.Background()
	inner, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	now := time.Now().UTC()
	sc := &hookflow.Schedule{ID: "sch_1", Kind: hookflow.ScheduleCampaign, CampaignID: "cmp_gone",
		DispatchID: "disp_1", Request: []byte(`{"campaign_id":"cmp_gone","broadcast":true}`),
		DueAt: now.Add(-time.Minute), State: hookflow.ScheduleScheduled, CreatedAt: now, UpdatedAt: now}
	if err := inner.CreateSchedule(ctx, sc); err != nil {
		t.Fatal(err)
	}
	store := &rerunStore{Store: inner, between: func() {
		// Another leader sends it meanwhile.
		err := inner.Update(ctx, func(tx hookflow.Tx) error { return tx.MarkScheduleSent(sc.ID, now, "") })
		if err != nil {
			t.Error(err)
		}
	}}
	s := New(Config{Store: store, Clock: hookflow.SystemClock{}, Log: slog.New(slog.DiscardHandler)})

	ran, err := s.runOneSchedule(ctx)
	if err != nil || ran {
		t.Errorf("runOneSchedule = %v, %v; want false, nil (nothing was due by then)", ran, err)
	}
}
