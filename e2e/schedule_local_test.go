package e2e

// Local-time schedules (schedule.in_local_time): one wall-clock time, sent
// in each user's time_zone. Helpers start with "sl".

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// slZones are the test users and their time_zone attributes; "none" has
// no zone and is sent at the wall-clock time in UTC.
var slZones = map[string]string{
	"akl": "Pacific/Auckland", "par": "Europe/Paris", "la": "America/Los_Angeles", "none": "",
}

// slUsers creates the users of slZones and a user "probe".
func (e *apEnv) slUsers() {
	e.t.Helper()
	var attrs []any
	for id, zone := range slZones {
		a := map[string]any{"external_id": id}
		if zone != "" {
			a["time_zone"] = zone
		}
		attrs = append(attrs, a)
	}
	attrs = append(attrs, map[string]any{"external_id": "probe"})
	e.sys.Track(map[string]any{"attributes": attrs})
}

// slProbe sends a message to "probe" now and waits until it is delivered:
// the senders have run a round at the clock's time, so any delivery still
// pending was not due.
func (e *apEnv) slProbe() {
	e.t.Helper()
	var out apSent
	e.sys.MustDo(201, "POST", "/messages/send", map[string]any{
		"external_user_ids": []string{"probe"},
		"messages":          map[string]any{"webhook": map[string]any{"url": e.rcv.URL() + "/probe", "request_method": "POST"}},
	}, &out)
	e.apDeliver(e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: out.DispatchID}, 1))
}

// slByUser indexes deliveries by external id.
func slByUser(ds []*hookflow.Delivery) map[string]*hookflow.Delivery {
	out := map[string]*hookflow.Delivery{}
	for _, d := range ds {
		out[d.ExternalID] = d
	}
	return out
}

// slDueAt checks each delivery's due time against want, by external id.
func slDueAt(t *testing.T, ds []*hookflow.Delivery, want map[string]time.Time) {
	t.Helper()
	got := slByUser(ds)
	if len(got) != len(want) {
		t.Errorf("deliveries for %d users, want %d", len(got), len(want))
	}
	for id, w := range want {
		if d, ok := got[id]; !ok {
			t.Errorf("no delivery for %s", id)
		} else if !d.DueAt.Equal(w) {
			t.Errorf("%s: due %v, want %v", id, d.DueAt, w)
		}
	}
}

func TestScheduleInLocalTimeSendsAtEachUsersNineOClock(t *testing.T) {
	e := apStart(t)
	e.slUsers()
	c := e.apAPICampaign("local")
	var recipients []any
	for id := range slZones {
		recipients = append(recipients, map[string]any{"external_user_id": id})
	}
	sc := e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "recipients": recipients,
		"schedule": map[string]any{"time": "2026-12-04T09:00:00", "in_local_time": true},
	})

	// 09:00 on 4 December first happens in UTC+14 at 19:00 UTC on the 3rd;
	// the schedule is listed, and expanded, at that instant.
	var list struct {
		ScheduledBroadcasts []map[string]any `json:"scheduled_broadcasts"`
	}
	e.sys.MustDo(200, "GET", "/messages/scheduled_broadcasts?end_time=2026-12-05T00:00:00Z", nil, &list)
	if len(list.ScheduledBroadcasts) != 1 || list.ScheduledBroadcasts[0]["schedule_type"] != "local_time_zones" ||
		list.ScheduledBroadcasts[0]["next_send_time"] != "2026-12-03T19:00:00Z" {
		t.Errorf("scheduled_broadcasts %v", list.ScheduledBroadcasts)
	}
	e.clock.Advance(9*time.Hour - time.Second)
	e.scRound()
	if n := len(e.scDispatch(sc.DispatchID)); n != 0 {
		t.Fatalf("%d deliveries a second before 09:00 in UTC+14, want 0", n)
	}

	e.clock.Advance(time.Second)
	ds := e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: sc.DispatchID}, 4)
	e.scWaitState(sc.ScheduleID, hookflow.ScheduleSent)
	want := map[string]time.Time{
		"akl":  time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC), // NZDT, UTC+13
		"par":  time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC),  // CET, UTC+1
		"none": time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC),  // no zone: UTC
		"la":   time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC), // PST, UTC−8
	}
	slDueAt(t, ds, want)

	// Each goes out at its own instant, in order, and none before.
	byUser := slByUser(ds)
	order := []string{"akl", "par", "none", "la"}
	for i, id := range order {
		e.clock.Advance(want[id].Sub(e.clock.Now()) - time.Second)
		e.slProbe()
		e.clock.Advance(time.Second)
		e.sys.WaitState(byUser[id].ID, hookflow.StateDelivered)
		e.slProbe()
		for _, later := range order[i+1:] {
			if d, _ := e.sys.WaitState(byUser[later].ID, hookflow.StatePending); d.Attempts != 0 {
				t.Errorf("at %v: %s has %d attempts before its time", e.clock.Now(), later, d.Attempts)
			}
		}
	}
	var users []string
	for _, r := range e.rcv.Requests() {
		if r.Path() == "/local" {
			var b struct{ User string }
			if err := json.Unmarshal(r.Body, &b); err != nil {
				t.Fatal(err)
			}
			users = append(users, b.User)
		}
	}
	scEqualJSON(t, users, order)
}

func TestScheduleInLocalTimeMessageSendsZonesPassedDuringAnOutage(t *testing.T) {
	e := apStart(t)
	e.slUsers()
	sc := e.scSchedule("/messages/schedule/create", map[string]any{
		"external_user_ids": []string{"akl", "par", "la", "none"},
		"messages":          map[string]any{"webhook": map[string]any{"url": e.rcv.URL() + "/first", "request_method": "POST"}},
		"schedule":          map[string]any{"time": "2026-12-04T23:00:00Z", "in_local_time": true},
	})
	// Replacing the messages keeps the schedule local.
	e.sys.MustDo(201, "POST", "/messages/schedule/update", map[string]any{
		"schedule_id": sc.ScheduleID,
		"messages":    map[string]any{"webhook": map[string]any{"url": e.rcv.URL() + "/second", "request_method": "POST"}},
	}, nil)

	// It was due at 09:00 UTC on the 4th, but runs (as after an outage)
	// at 10:30, when 23:00 in Auckland (10:00 UTC) has passed. Auckland's
	// time was still ahead when the schedule was made, so its delivery is
	// due at 10:00 and goes out at once rather than being lost; Paris, UTC
	// and Los Angeles are still to come.
	e.clock.Advance(24*time.Hour + 30*time.Minute)
	ds := e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: sc.DispatchID}, 4)
	e.scWaitState(sc.ScheduleID, hookflow.ScheduleSent)
	slDueAt(t, ds, map[string]time.Time{
		"akl":  time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		"par":  time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC),
		"none": time.Date(2026, 12, 4, 23, 0, 0, 0, time.UTC),
		"la":   time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC),
	})
	for _, d := range ds {
		if d.Origin != hookflow.OriginAPIMessage || (d.ExternalID != "akl" && d.State != hookflow.StatePending) {
			t.Errorf("delivery %s: origin %s state %s", d.ExternalID, d.Origin, d.State)
		}
	}
}

func TestScheduleInLocalTimeUpdates(t *testing.T) {
	e := apStart(t)
	e.slUsers()
	c := e.apAPICampaign("moved")
	rec := []any{map[string]any{"external_user_id": "la"}}
	sc := e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "recipients": rec, "schedule": scAt(time.Hour),
	})
	// From one UTC instant to 12:00 in each user's zone, and back.
	update := func(schedule map[string]any) {
		e.sys.MustDo(201, "POST", "/campaigns/trigger/schedule/update", map[string]any{
			"campaign_id": c, "schedule_id": sc.ScheduleID, "schedule": schedule,
		}, nil)
	}
	update(map[string]any{"time": "2026-12-04T12:00:00", "in_local_time": true})
	got, err := e.sys.Store.GetSchedule(t.Context(), sc.ScheduleID)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC); !got.DueAt.Equal(want) {
		t.Errorf("local schedule due %v, want %v", got.DueAt, want)
	}
	update(map[string]any{"time": "2026-12-03T12:00:00Z"})
	e.clock.Advance(2 * time.Hour)
	ds := e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: sc.DispatchID}, 1)
	slDueAt(t, ds, map[string]time.Time{"la": time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)})
}

func TestScheduleInLocalTimeErrors(t *testing.T) {
	e := apStart(t)
	e.slUsers()
	c := e.apAPICampaign("errs")
	rec := []any{map[string]any{"external_user_id": "la"}}
	passed := "schedule.time: has passed in every time zone (in_local_time reads it as each user's local time)"
	tests := []struct {
		name, path string
		body       map[string]any
		status     int
		message    string
	}{
		// At 10:00 UTC it is 22:00 on the 2nd in UTC−12, the last zone.
		{"passed everywhere", "/campaigns/trigger/schedule/create", map[string]any{"campaign_id": c, "recipients": rec,
			"schedule": map[string]any{"time": "2026-12-02T21:59:59", "in_local_time": true}}, 400, passed},
		{"passed everywhere, message", "/messages/schedule/create", map[string]any{"external_user_ids": []string{"la"},
			"messages": map[string]any{"webhook": map[string]any{"url": e.rcv.URL(), "request_method": "POST"}},
			"schedule": map[string]any{"time": "2026-12-01T09:00:00", "in_local_time": true}}, 400, passed},
		{"optimal time", "/campaigns/trigger/schedule/create", map[string]any{"campaign_id": c, "recipients": rec,
			"schedule": map[string]any{"time": "2026-12-04T09:00:00", "at_optimal_time": true}}, 400,
			"schedule.at_optimal_time: is not supported: Hookflow has no per-user optimal time; use time, with in_local_time for each user's zone"},
	}
	for _, tt := range tests {
		status, body := e.sys.Do("POST", tt.path, tt.body)
		apError(t, status, body, tt.status, tt.message)
	}

	// A second later it is still to come in UTC−12: accepted, and sent at
	// once to no one else (everyone's zone has passed it).
	var out scCreated
	e.sys.MustDo(http.StatusCreated, "POST", "/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "recipients": rec,
		"schedule": map[string]any{"time": "2026-12-02T22:00:00", "in_local_time": true},
	}, &out)
	e.scWaitState(out.ScheduleID, hookflow.ScheduleSent)
	if n := len(e.scDispatch(out.DispatchID)); n != 0 {
		t.Errorf("%d deliveries to users whose local time has passed, want 0", n)
	}
}

// A local-time schedule outlives the node that took it, and its held
// deliveries outlive the node that expanded it: each phase is a node that
// stops when its subtest ends, on one database file and one clock.
func TestScheduleInLocalTimeSurvivesRestarts(t *testing.T) {
	rcv, err := receiver.Start(receiver.Always(200))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	clock := hookflowtest.NewClock(apT0)
	path := filepath.Join(t.TempDir(), "hookflow.db")
	node := func(t *testing.T) *apEnv {
		sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock, Path: path})
		return &apEnv{t: t, sys: sys, rcv: rcv, clock: clock}
	}
	at := func(h, day int) { clock.Advance(time.Date(2026, 12, day, h, 0, 0, 0, time.UTC).Sub(clock.Now())) }
	var sc scCreated
	t.Run("creates", func(t *testing.T) {
		e := node(t)
		e.slUsers()
		c := e.apAPICampaign("restart")
		sc = e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
			"campaign_id": c, "recipients": []any{map[string]any{"external_user_id": "akl"}, map[string]any{"external_user_id": "la"}},
			"schedule": map[string]any{"time": "2026-12-04T09:00:00", "in_local_time": true},
		})
	})
	var ds []*hookflow.Delivery
	t.Run("expands", func(t *testing.T) {
		e := node(t)
		at(19, 3)
		ds = e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: sc.DispatchID}, 2)
		e.scWaitState(sc.ScheduleID, hookflow.ScheduleSent)
	})
	e := node(t)
	slDueAt(t, ds, map[string]time.Time{
		"akl": time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC),
		"la":  time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC),
	})
	at(20, 3)
	e.sys.WaitState(slByUser(ds)["akl"].ID, hookflow.StateDelivered)
	e.slProbe()
	e.sys.WaitState(slByUser(ds)["la"].ID, hookflow.StatePending)
	at(17, 4)
	e.sys.WaitState(slByUser(ds)["la"].ID, hookflow.StateDelivered)
}
