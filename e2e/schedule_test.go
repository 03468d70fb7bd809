package e2e

// Scheduled API sends: /campaigns/trigger/schedule/* and /messages/schedule/*
// on a manual clock. Helpers start with "sc".

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
)

// scCreated is the answer of a schedule create.
type scCreated struct {
	DispatchID string `json:"dispatch_id"`
	ScheduleID string `json:"schedule_id"`
	Message    string `json:"message"`
}

// scAt formats the manual clock's start shifted by d as schedule.time.
func scAt(d time.Duration) map[string]any {
	return map[string]any{"time": apT0.Add(d).Format(time.RFC3339)}
}

// scSchedule creates a schedule on path and returns its ids.
func (e *apEnv) scSchedule(path string, body map[string]any) scCreated {
	e.t.Helper()
	var out scCreated
	e.sys.MustDo(http.StatusCreated, "POST", path, body, &out)
	if out.Message != "success" || out.DispatchID == "" || len(out.ScheduleID) != len("sch_")+24 {
		e.t.Fatalf("create answered %+v", out)
	}
	return out
}

// scUsers creates users u1 and u2.
func (e *apEnv) scUsers() {
	e.t.Helper()
	e.sys.Track(map[string]any{"attributes": []any{
		map[string]any{"external_id": "u1", "plan": "pro"},
		map[string]any{"external_id": "u2", "plan": "free"},
	}})
}

// scRound proves the schedule loop ran a whole round at the clock's time
// now: it schedules a message due now to nobody and waits until it is sent.
// The loop runs every due schedule of a round, so any schedule due at now
// has run too, and any still scheduled was not due.
func (e *apEnv) scRound() {
	e.t.Helper()
	probe := e.scSchedule("/messages/schedule/create", map[string]any{
		"external_user_ids": []string{"nobody"},
		"messages":          map[string]any{"webhook": map[string]any{"url": e.rcv.URL() + "/probe", "request_method": "POST"}},
		"schedule":          map[string]any{"time": e.clock.Now().Format(time.RFC3339Nano)},
	})
	e.scWaitState(probe.ScheduleID, hookflow.ScheduleSent)
}

func (e *apEnv) scWaitState(id, state string) *hookflow.Schedule {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		sc, err := e.sys.Store.GetSchedule(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if sc.State == state {
			return sc
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("schedule %s: state %s, want %s", id, sc.State, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *apEnv) scDispatch(dispatchID string) []*hookflow.Delivery {
	e.t.Helper()
	return e.sys.Deliveries(hookflow.DeliveryFilter{DispatchID: dispatchID, Limit: 100})
}

func TestScheduleCampaignSendsWhenDue(t *testing.T) {
	e := apStart(t)
	e.scUsers()
	c := e.apAPICampaign("sched", "note", "{{api_trigger_properties.${note}}}")
	sc := e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "trigger_properties": map[string]any{"note": "hello"},
		"recipients": []any{map[string]any{"external_user_id": "u1"}, map[string]any{"external_user_id": "u2"}},
		"schedule":   scAt(time.Hour),
	})

	e.clock.Advance(time.Hour - time.Second)
	e.scRound()
	if got := len(e.scDispatch(sc.DispatchID)); got != 0 {
		t.Fatalf("%d deliveries a second before the schedule is due, want 0", got)
	}
	e.scWaitState(sc.ScheduleID, hookflow.ScheduleScheduled)

	e.clock.Advance(time.Second)
	ds := e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: sc.DispatchID}, 2)
	e.apDeliver(ds)
	bodies := e.apBodies(2)
	scEqualJSON(t, bodies, []map[string]any{{"user": "u1", "note": "hello"}, {"user": "u2", "note": "hello"}})
	for _, d := range ds {
		if d.CampaignID != c || d.DispatchID != sc.DispatchID {
			t.Errorf("delivery %s: campaign %s dispatch %s", d.ID, d.CampaignID, d.DispatchID)
		}
	}
	got := e.scWaitState(sc.ScheduleID, hookflow.ScheduleSent)
	if !got.SentAt.Equal(apT0.Add(time.Hour)) || got.Error != "" {
		t.Errorf("sent at %v with error %q, want %v and none", got.SentAt, got.Error, apT0.Add(time.Hour))
	}

	// Once sent, it cannot change, and it never sends again.
	status, body := e.sys.Do("POST", "/campaigns/trigger/schedule/update", map[string]any{
		"campaign_id": c, "schedule_id": sc.ScheduleID, "schedule": scAt(3 * time.Hour),
	})
	apError(t, status, body, 409, `schedule_id: schedule "`+sc.ScheduleID+`" was already sent at 2026-12-03T11:00:00Z`)
	status, body = e.sys.Do("POST", "/campaigns/trigger/schedule/delete", map[string]any{
		"campaign_id": c, "schedule_id": sc.ScheduleID,
	})
	apError(t, status, body, 409, `schedule_id: schedule "`+sc.ScheduleID+`" was already sent at 2026-12-03T11:00:00Z`)
	e.clock.Advance(time.Hour)
	e.scRound()
	if got := len(e.scDispatch(sc.DispatchID)); got != 2 {
		t.Errorf("%d deliveries after another round, want 2", got)
	}
}

func TestScheduleUpdateMovesAndDeleteCancels(t *testing.T) {
	e := apStart(t)
	e.scUsers()
	c := e.apAPICampaign("moved")
	body := map[string]any{
		"campaign_id": c, "recipients": []any{map[string]any{"external_user_id": "u1"}},
		"schedule": scAt(time.Hour),
	}
	moved := e.scSchedule("/campaigns/trigger/schedule/create", body)
	cancelled := e.scSchedule("/campaigns/trigger/schedule/create", body)

	var ok struct{ Message string }
	e.sys.MustDo(201, "POST", "/campaigns/trigger/schedule/update", map[string]any{
		"campaign_id": c, "schedule_id": moved.ScheduleID, "schedule": scAt(2 * time.Hour),
	}, &ok)
	e.sys.MustDo(201, "POST", "/campaigns/trigger/schedule/delete", map[string]any{
		"campaign_id": c, "schedule_id": cancelled.ScheduleID,
	}, &ok)
	if ok.Message != "success" {
		t.Errorf("message %q, want success", ok.Message)
	}

	e.clock.Advance(90 * time.Minute)
	e.scRound()
	for _, sc := range []scCreated{moved, cancelled} {
		if got := len(e.scDispatch(sc.DispatchID)); got != 0 {
			t.Errorf("schedule %s: %d deliveries at +90m, want 0", sc.ScheduleID, got)
		}
	}

	e.clock.Advance(30 * time.Minute)
	ds := e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: moved.DispatchID}, 1)
	e.apDeliver(ds)
	e.scRound()
	if got := len(e.scDispatch(cancelled.DispatchID)); got != 0 {
		t.Errorf("deleted schedule: %d deliveries, want 0", got)
	}
	e.scWaitState(cancelled.ScheduleID, hookflow.ScheduleCancelled)
	status, b := e.sys.Do("POST", "/campaigns/trigger/schedule/update", map[string]any{
		"campaign_id": c, "schedule_id": cancelled.ScheduleID, "schedule": scAt(3 * time.Hour),
	})
	apError(t, status, b, 409, `schedule_id: schedule "`+cancelled.ScheduleID+`" was deleted`)
}

func TestScheduleMessagesAndScheduledBroadcasts(t *testing.T) {
	e := apStart(t)
	e.scUsers()
	hook := func(path string) map[string]any {
		return map[string]any{"webhook": map[string]any{
			"url": e.rcv.URL() + path, "request_method": "POST", "body": map[string]any{"u": "{{${user_id}}}"},
		}}
	}
	msg := e.scSchedule("/messages/schedule/create", map[string]any{
		"external_user_ids": []string{"u1", "u2"}, "messages": hook("/first"), "schedule": scAt(2 * time.Hour),
	})
	c := e.apAPICampaign("listed")
	camp := e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "broadcast": true, "schedule": scAt(time.Hour),
	})
	e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "broadcast": true, "schedule": scAt(5 * time.Hour),
	})

	var list struct {
		ScheduledBroadcasts []map[string]any `json:"scheduled_broadcasts"`
		Message             string           `json:"message"`
	}
	e.sys.MustDo(200, "GET", "/messages/scheduled_broadcasts?end_time=2026-12-03T12:00:00Z", nil, &list)
	scEqualJSON(t, list.ScheduledBroadcasts, []map[string]any{
		{"name": "listed", "id": c, "type": "Campaign", "tags": []any{}, "next_send_time": "2026-12-03T11:00:00Z",
			"schedule_type": "UTC", "schedule_id": camp.ScheduleID, "dispatch_id": camp.DispatchID},
		{"name": "", "id": msg.ScheduleID, "type": "Message", "tags": []any{}, "next_send_time": "2026-12-03T12:00:00Z",
			"schedule_type": "UTC", "schedule_id": msg.ScheduleID, "dispatch_id": msg.DispatchID},
	})

	// Changing the messages keeps the recipients and the time.
	e.sys.MustDo(201, "POST", "/messages/schedule/update", map[string]any{
		"schedule_id": msg.ScheduleID, "messages": hook("/second"),
	}, nil)
	e.clock.Advance(2 * time.Hour)
	ds := e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: msg.DispatchID}, 2)
	e.apDeliver(ds)
	e.apDeliver(e.sys.WaitDeliveries(hookflow.DeliveryFilter{DispatchID: camp.DispatchID}, 2))
	for _, r := range e.rcv.Requests() {
		if r.Path() == "/first" {
			t.Errorf("a request went to the replaced webhook /first")
		}
	}
	if len(ds) != 2 || ds[0].Origin != hookflow.OriginAPIMessage {
		t.Errorf("message deliveries %+v", ds)
	}
}

func TestScheduleOfAPausedCampaignRecordsWhy(t *testing.T) {
	e := apStart(t)
	e.scUsers()
	c := e.apAPICampaign("paused")
	sc := e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "recipients": []any{map[string]any{"external_user_id": "u1"}}, "schedule": scAt(time.Minute),
	})
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+c+"/pause", nil, nil)

	e.clock.Advance(time.Minute)
	got := e.scWaitState(sc.ScheduleID, hookflow.ScheduleSent)
	if want := `campaign_id: campaign "` + c + `" is paused; resume it first`; got.Error != want {
		t.Errorf("error %q, want %q", got.Error, want)
	}
	if n := len(e.scDispatch(sc.DispatchID)); n != 0 {
		t.Errorf("%d deliveries, want 0", n)
	}
}

func TestScheduleErrors(t *testing.T) {
	e := apStart(t)
	e.scUsers()
	c := e.apAPICampaign("errs")
	rec := []any{map[string]any{"external_user_id": "u1"}}
	sent := e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "recipients": rec, "schedule": scAt(0),
	})
	e.scWaitState(sent.ScheduleID, hookflow.ScheduleSent)
	open := e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "recipients": rec, "schedule": scAt(time.Hour),
	})

	create := "/campaigns/trigger/schedule/create"
	tests := []struct {
		name, path string
		body       map[string]any
		status     int
		message    string
	}{
		{"no schedule", create, map[string]any{"campaign_id": c, "recipients": rec}, 400, "schedule: is required"},
		{"no time", create, map[string]any{"campaign_id": c, "recipients": rec, "schedule": map[string]any{}},
			400, "schedule.time: is required"},
		{"bad time", create, map[string]any{"campaign_id": c, "recipients": rec, "schedule": map[string]any{"time": "tomorrow"}},
			400, `schedule.time: "tomorrow" is not an ISO-8601 time such as 2026-03-01T12:00:00Z`},
		{"past", create, map[string]any{"campaign_id": c, "recipients": rec, "schedule": scAt(-time.Second)},
			400, "schedule.time: is in the past"},
		{"send validation", create, map[string]any{"campaign_id": c, "schedule": scAt(time.Hour)},
			400, "recipients: are required unless broadcast is true or an audience is given"},
		{"no campaign", create, map[string]any{"recipients": rec, "schedule": scAt(time.Hour)},
			400, "campaign_id: is required"},
		{"message webhook", "/messages/schedule/create", map[string]any{"broadcast": true, "schedule": scAt(time.Hour),
			"messages": map[string]any{"webhook": map[string]any{"url": "http://x.test"}}},
			400, "messages.webhook.request_method: is required (POST, GET, PUT or DELETE)"},
		{"unknown id", "/campaigns/trigger/schedule/update", map[string]any{"campaign_id": c, "schedule_id": "sch_nope",
			"schedule": scAt(time.Hour)}, 404, `schedule_id: no schedule "sch_nope"`},
		{"other campaign", "/campaigns/trigger/schedule/delete", map[string]any{"campaign_id": "other",
			"schedule_id": open.ScheduleID}, 404, `schedule_id: no schedule "` + open.ScheduleID + `" of campaign "other"`},
		{"message id as campaign", "/messages/schedule/delete", map[string]any{"schedule_id": open.ScheduleID},
			404, `schedule_id: no schedule "` + open.ScheduleID + `"`},
		{"update to the past", "/campaigns/trigger/schedule/update", map[string]any{"campaign_id": c,
			"schedule_id": open.ScheduleID, "schedule": scAt(-time.Hour)}, 400, "schedule.time: is in the past"},
		{"already sent", "/campaigns/trigger/schedule/delete", map[string]any{"campaign_id": c,
			"schedule_id": sent.ScheduleID}, 409, `schedule_id: schedule "` + sent.ScheduleID + `" was already sent at 2026-12-03T10:00:00Z`},
	}
	for _, tt := range tests {
		status, body := e.sys.Do("POST", tt.path, tt.body)
		if status != tt.status {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, status, tt.status, body)
			continue
		}
		apError(t, status, body, tt.status, tt.message)
	}
	status, body := e.sys.Do("GET", "/messages/scheduled_broadcasts", nil)
	apError(t, status, body, 400, "end_time: is required (an ISO-8601 time such as 2026-03-01T12:00:00Z)")
}

func TestScheduleScopes(t *testing.T) {
	e := apStart(t)
	key, secret := api.NewKey("sender", []string{hookflow.ScopeCampaignsTriggerSend, hookflow.ScopeMessagesSend}, e.clock.Now())
	if err := e.sys.Store.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, path, scope string }{
		{"POST", "/campaigns/trigger/schedule/create", "campaigns.trigger.schedule.create"},
		{"POST", "/campaigns/trigger/schedule/update", "campaigns.trigger.schedule.update"},
		{"POST", "/campaigns/trigger/schedule/delete", "campaigns.trigger.schedule.delete"},
		{"POST", "/messages/schedule/create", "messages.schedule.create"},
		{"POST", "/messages/schedule/update", "messages.schedule.update"},
		{"POST", "/messages/schedule/delete", "messages.schedule.delete"},
		{"GET", "/messages/scheduled_broadcasts", "messages.schedule_broadcasts"},
	} {
		status, body := e.sys.DoKey(secret, tt.method, tt.path, "{}")
		apError(t, status, body, 403, `API key "sender" lacks the `+tt.scope+` permission`)
	}
}

// scEqualJSON fails t unless got and want encode to the same JSON value.
func scEqualJSON(t *testing.T, got, want any) {
	t.Helper()
	norm := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var x any
		json.Unmarshal(b, &x)
		b, _ = json.Marshal(x)
		return string(b)
	}
	if g, w := norm(got), norm(want); g != w {
		t.Errorf("got  %s\nwant %s", g, w)
	}
}
