package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// schedule returns a scheduled campaign schedule due at due.
func schedule(id string, due time.Time) *hookflow.Schedule {
	return &hookflow.Schedule{
		ID: id, Kind: hookflow.ScheduleCampaign, CampaignID: "c1", DispatchID: "dsp-" + id,
		Request: []byte(`{"campaign_id":"c1","broadcast":true}`),
		DueAt:   due, State: hookflow.ScheduleScheduled, CreatedAt: t0, UpdatedAt: t0,
	}
}

func createSchedules(t *testing.T, s hookflow.Store, scs ...*hookflow.Schedule) {
	t.Helper()
	for _, sc := range scs {
		if err := s.CreateSchedule(context.Background(), sc); err != nil {
			t.Fatalf("CreateSchedule(%s): %v", sc.ID, err)
		}
	}
}

func getSchedule(t *testing.T, s hookflow.Store, id string) *hookflow.Schedule {
	t.Helper()
	sc, err := s.GetSchedule(context.Background(), id)
	if err != nil {
		t.Fatalf("GetSchedule(%s): %v", id, err)
	}
	return sc
}

func scheduleIDs(scs []*hookflow.Schedule) []string {
	ids := []string{}
	for _, sc := range scs {
		ids = append(ids, sc.ID)
	}
	return ids
}

func testScheduleLifecycle(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	a := schedule("sch_a", at(time.Hour))
	createSchedules(t, s, a)
	equal(t, "GetSchedule", getSchedule(t, s, "sch_a"), a)

	dup := schedule("sch_a", at(time.Hour))
	dup.DispatchID = "other"
	if err := s.CreateSchedule(ctx, dup); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("CreateSchedule(duplicate id) error = %v, want ErrConflict", err)
	}
	if _, err := s.GetSchedule(ctx, "sch_none"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetSchedule(unknown) error = %v, want ErrNotFound", err)
	}

	moved := *a
	moved.DueAt, moved.UpdatedAt = at(2*time.Hour), at(time.Minute)
	moved.Request = []byte(`{"campaign_id":"c1","recipients":[{"external_user_id":"u1"}]}`)
	if err := s.UpdateSchedule(ctx, &moved); err != nil {
		t.Fatalf("UpdateSchedule: %v", err)
	}
	equal(t, "after UpdateSchedule", getSchedule(t, s, "sch_a"), &moved)
	ghost := schedule("sch_none", t0)
	if err := s.UpdateSchedule(ctx, ghost); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("UpdateSchedule(unknown) error = %v, want ErrNotFound", err)
	}

	if err := s.CancelSchedule(ctx, "sch_a", at(2*time.Minute)); err != nil {
		t.Fatalf("CancelSchedule: %v", err)
	}
	cancelled := moved
	cancelled.State, cancelled.UpdatedAt = hookflow.ScheduleCancelled, at(2*time.Minute)
	equal(t, "after CancelSchedule", getSchedule(t, s, "sch_a"), &cancelled)
	if err := s.CancelSchedule(ctx, "sch_a", at(3*time.Minute)); err != nil {
		t.Errorf("CancelSchedule(cancelled) error = %v, want nil", err)
	}
	equal(t, "after a second CancelSchedule", getSchedule(t, s, "sch_a"), &cancelled)
	if err := s.UpdateSchedule(ctx, &moved); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("UpdateSchedule(cancelled) error = %v, want ErrConflict", err)
	}
	if err := s.CancelSchedule(ctx, "sch_none", t0); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("CancelSchedule(unknown) error = %v, want ErrNotFound", err)
	}
}

func testDueSchedules(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	createSchedules(t, s,
		schedule("sch_3", at(3*time.Minute)), schedule("sch_1", at(time.Minute)),
		schedule("sch_2", at(2*time.Minute)), schedule("sch_later", at(time.Hour)))

	var due []*hookflow.Schedule
	update(t, s, func(tx hookflow.Tx) (err error) {
		due, err = tx.DueSchedules(at(3*time.Minute), 2)
		return err
	})
	equal(t, "DueSchedules(limit 2)", scheduleIDs(due), []string{"sch_1", "sch_2"})

	update(t, s, func(tx hookflow.Tx) error {
		return tx.MarkScheduleSent("sch_1", at(4*time.Minute), "")
	})
	update(t, s, func(tx hookflow.Tx) error {
		return tx.MarkScheduleSent("sch_2", at(4*time.Minute), "campaign_id: no campaign \"c1\"")
	})
	sent := schedule("sch_2", at(2*time.Minute))
	sent.State, sent.SentAt, sent.UpdatedAt = hookflow.ScheduleSent, at(4*time.Minute), at(4*time.Minute)
	sent.Error = "campaign_id: no campaign \"c1\""
	equal(t, "after MarkScheduleSent with an error", getSchedule(t, s, "sch_2"), sent)

	update(t, s, func(tx hookflow.Tx) (err error) {
		due, err = tx.DueSchedules(at(10*time.Minute), 10)
		return err
	})
	equal(t, "DueSchedules after two were sent", scheduleIDs(due), []string{"sch_3"})

	// Marking twice is what a second leader would do: refused, so the
	// transaction that expanded the schedule again rolls back.
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		return tx.MarkScheduleSent("sch_1", at(5*time.Minute), "")
	})
	if !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("MarkScheduleSent(sent) error = %v, want ErrConflict", err)
	}
	if err := s.UpdateSchedule(ctx, schedule("sch_1", at(time.Hour))); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("UpdateSchedule(sent) error = %v, want ErrConflict", err)
	}
	if err := s.CancelSchedule(ctx, "sch_1", t0); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("CancelSchedule(sent) error = %v, want ErrConflict", err)
	}
}

func testDueSchedulesRollBack(t *testing.T, s hookflow.Store) {
	createSchedules(t, s, schedule("sch_1", at(time.Minute)))
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		if err := tx.Enqueue([]*hookflow.Delivery{delivery(deliveryID(1), "c1", "u1", t0)}); err != nil {
			return err
		}
		if err := tx.MarkScheduleSent("sch_1", at(time.Minute), ""); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want boom", err)
	}
	equal(t, "state after a rolled-back run", getSchedule(t, s, "sch_1").State, hookflow.ScheduleScheduled)
	ds, err := s.ListDeliveries(context.Background(), hookflow.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "deliveries after a rolled-back run", len(ds), 0)
}

func testListSchedules(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	createSchedules(t, s,
		schedule("sch_b", at(2*time.Hour)), schedule("sch_a", at(time.Hour)),
		schedule("sch_c", at(3*time.Hour)), schedule("sch_x", at(90*time.Minute)))
	if err := s.CancelSchedule(ctx, "sch_x", t0); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		f    hookflow.ScheduleFilter
		want []string
	}{
		{"all", hookflow.ScheduleFilter{}, []string{"sch_a", "sch_x", "sch_b", "sch_c"}},
		{"scheduled", hookflow.ScheduleFilter{State: hookflow.ScheduleScheduled},
			[]string{"sch_a", "sch_b", "sch_c"}},
		{"due by 2h, inclusive", hookflow.ScheduleFilter{State: hookflow.ScheduleScheduled,
			DueBefore: at(2 * time.Hour)}, []string{"sch_a", "sch_b"}},
		{"limit", hookflow.ScheduleFilter{State: hookflow.ScheduleScheduled, Limit: 1},
			[]string{"sch_a"}},
		{"cancelled", hookflow.ScheduleFilter{State: hookflow.ScheduleCancelled}, []string{"sch_x"}},
	}
	for _, tc := range tests {
		got, err := s.ListSchedules(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: ListSchedules: %v", tc.name, err)
		}
		equal(t, tc.name, scheduleIDs(got), tc.want)
	}
}

// testConcurrentDueSchedules runs schedules from several runners at once,
// as two leaders might during a hand-over: each schedule is expanded (here,
// one delivery) and marked sent by exactly one of them.
func testConcurrentDueSchedules(t *testing.T, s hookflow.Store) {
	const n, runners = 20, 4
	for i := range n {
		createSchedules(t, s, schedule(fmt.Sprintf("sch_%02d", i), at(time.Duration(i)*time.Second)))
	}

	var wg sync.WaitGroup
	errs := make(chan error, runners)
	for range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- runAllDue(s)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("runner: %v", err)
		}
	}

	ds, err := s.ListDeliveries(context.Background(), hookflow.DeliveryFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	perSchedule := map[string]int{}
	for _, d := range ds {
		perSchedule[d.DispatchID]++
	}
	for i := range n {
		id := fmt.Sprintf("sch_%02d", i)
		if perSchedule["dsp-"+id] != 1 {
			t.Errorf("schedule %s expanded %d times, want 1", id, perSchedule["dsp-"+id])
		}
		equal(t, id+" state", getSchedule(t, s, id).State, hookflow.ScheduleSent)
	}
}

// runAllDue runs due schedules one transaction each until none is due. A
// conflict (another runner marked the schedule first) rolls back and moves
// on, as it would in a real runner.
func runAllDue(s hookflow.Store) error {
	for {
		ran := false
		err := s.Update(context.Background(), func(tx hookflow.Tx) error {
			due, err := tx.DueSchedules(at(time.Hour), 1)
			if err != nil || len(due) == 0 {
				return err
			}
			ran = true
			sc := due[0]
			d := delivery(hookflow.NewDeliveryID(), sc.CampaignID, "u1", at(time.Hour))
			d.DispatchID = sc.DispatchID
			if err := tx.Enqueue([]*hookflow.Delivery{d}); err != nil {
				return err
			}
			return tx.MarkScheduleSent(sc.ID, at(time.Hour), "")
		})
		if err != nil && !errors.Is(err, hookflow.ErrConflict) {
			return err
		}
		if !ran {
			return nil
		}
	}
}
