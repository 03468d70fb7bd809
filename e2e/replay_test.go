package e2e

// Replay (issue 3): failed deliveries stay queryable and can be sent again,
// one or in bulk, with the same delivery id and a dry-run count first.
// Helpers are prefixed "rp".

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// rpFixable answers status until fixed is set, then 200.
func rpFixable(status int, fixed *atomic.Bool) receiver.Script {
	return func(*receiver.Request, int) receiver.Response {
		if fixed.Load() {
			return receiver.Response{Status: http.StatusOK}
		}
		return receiver.Response{Status: status}
	}
}

// rpReplayed is the answer of both replay endpoints.
type rpReplayed struct {
	Matched int  `json:"matched"`
	DryRun  bool `json:"dry_run"`
}

// rpReplay posts a bulk replay and fails the test unless it answers 200.
func rpReplay(t *testing.T, sys *hookflowtest.System, body map[string]any) rpReplayed {
	t.Helper()
	var out rpReplayed
	sys.MustDo(http.StatusOK, "POST", "/v1/deliveries/replay", body, &out)
	return out
}

// rpWaitAll waits until every delivery of campaign id is in state and
// returns them oldest first.
func rpWaitAll(t *testing.T, sys *hookflowtest.System, id, state string, n int) []*hookflow.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ds := sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id})
		if len(ds) == n && !slices.ContainsFunc(ds, func(d *hookflow.Delivery) bool { return d.State != state }) {
			slices.Reverse(ds)
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s: want %d deliveries %s; have %d: %v", id, n, state, len(ds), rpStates(ds))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func rpStates(ds []*hookflow.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.State)
	}
	return out
}

// rpStatuses lists the statuses of a delivery's attempt log as the API
// shows it, with their numbers.
func rpStatuses(sys *hookflowtest.System, id string) [][2]int {
	var out [][2]int
	for _, a := range frGet(sys, id).AttemptLog {
		out = append(out, [2]int{a.Number, a.Status})
	}
	return out
}

func TestReplayOneFailedDeliveryAfterTheReceiverIsFixed(t *testing.T) {
	var fixed atomic.Bool
	rcv := frReceiver(t, rpFixable(http.StatusForbidden, &fixed))
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: hookflowtest.NewClock(frT0)})
	id := frAPICampaign(sys, "crm", frPairs(rcv.URL()+"/crm", "user", "{{${user_id}}}"))
	frUser(sys, "ann", nil)
	frTrigger(sys, id, "ann")
	d := frOnly(t, sys, id)
	sys.WaitState(d.ID, hookflow.StateFailed)

	// A failed delivery stays in the log, found by its state.
	var list struct {
		Deliveries []struct {
			ID         string `json:"id"`
			LastStatus int    `json:"last_status"`
		} `json:"deliveries"`
	}
	sys.MustDo(http.StatusOK, "GET", "/v1/deliveries?state=failed", nil, &list)
	if len(list.Deliveries) != 1 || list.Deliveries[0].ID != d.ID || list.Deliveries[0].LastStatus != 403 {
		t.Fatalf("failed deliveries: %+v; want %s with last status 403", list.Deliveries, d.ID)
	}

	fixed.Store(true)
	var out rpReplayed
	sys.MustDo(http.StatusOK, "POST", "/v1/deliveries/"+d.ID+"/replay", nil, &out)
	if out != (rpReplayed{Matched: 1}) {
		t.Errorf("replay answered %+v; want matched 1, not a dry run", out)
	}
	sys.WaitState(d.ID, hookflow.StateDelivered)

	if got, want := rpStatuses(sys, d.ID), [][2]int{{1, 403}, {2, 200}}; !slices.Equal(got, want) {
		t.Errorf("attempt log (number, status) = %v; want %v", got, want)
	}
	reqs := rcv.ByID()[d.ID]
	if len(reqs) != 2 || !bytes.Equal(reqs[0].Body, reqs[1].Body) {
		t.Fatalf("receiver got %d requests with webhook-id %s; want 2 with the same body", len(reqs), d.ID)
	}

	// A delivered delivery may be sent once more, by its id.
	sys.MustDo(http.StatusOK, "POST", "/v1/deliveries/"+d.ID+"/replay", nil, &out)
	sys.WaitState(d.ID, hookflow.StateDelivered)
	frWaitCount(t, rcv, 3)
	if got := rcv.IDs()[d.ID]; got != 3 {
		t.Errorf("receiver saw webhook-id %s %d times; want 3", d.ID, got)
	}
}

func TestReplayInBulkCountsFirstThenResendsSpacedApart(t *testing.T) {
	var fixed atomic.Bool
	rcvA := frReceiver(t, rpFixable(http.StatusForbidden, &fixed))
	rcvB := frReceiver(t, rpFixable(http.StatusUnprocessableEntity, &fixed))
	clock := hookflowtest.NewClock(frT0)
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock})
	campA := frAPICampaign(sys, "a", frPairs(rcvA.URL()+"/a", "user", "{{${user_id}}}"))
	campB := frAPICampaign(sys, "b", frPairs(rcvB.URL()+"/b", "user", "{{${user_id}}}"))
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		frUser(sys, u, nil)
	}

	// Three to A and two to B at T0, one to A and two to B an hour later.
	frTrigger(sys, campA, "u1", "u2", "u3")
	frTrigger(sys, campB, "u1", "u2")
	rpWaitAll(t, sys, campA, hookflow.StateFailed, 3)
	rpWaitAll(t, sys, campB, hookflow.StateFailed, 2)
	clock.Advance(time.Hour)
	frTrigger(sys, campA, "u4")
	frTrigger(sys, campB, "u3", "u4")
	as := rpWaitAll(t, sys, campA, hookflow.StateFailed, 4)
	rpWaitAll(t, sys, campB, hookflow.StateFailed, 4)

	hostA := strings.TrimPrefix(rcvA.URL(), "http://")
	half := frT0.Add(30 * time.Minute).Format(time.RFC3339)
	dryRuns := []struct {
		name string
		body map[string]any
		want int
	}{
		{"campaign", map[string]any{"campaign_id": campA}, 4},
		{"host and port", map[string]any{"host": hostA}, 4},
		{"host, any port", map[string]any{"host": "127.0.0.1"}, 8},
		{"status", map[string]any{"status": 422}, 4},
		{"status no delivery ended with", map[string]any{"status": 500}, 0},
		{"since", map[string]any{"since": half}, 3},
		{"until", map[string]any{"until": half}, 5},
		{"host and since", map[string]any{"host": hostA, "since": half}, 1},
		{"all", map[string]any{"all": true}, 8},
	}
	for _, tt := range dryRuns {
		tt.body["dry_run"] = true
		if got := rpReplay(t, sys, tt.body); got != (rpReplayed{Matched: tt.want, DryRun: true}) {
			t.Errorf("%s: dry run %v answered %+v; want matched %d", tt.name, tt.body, got, tt.want)
		}
	}
	if n := len(sys.Deliveries(hookflow.DeliveryFilter{State: hookflow.StateFailed})); n != 8 {
		t.Fatalf("after the dry runs %d deliveries are failed; want all 8 still failed", n)
	}

	// Replay A's at 4 a second: due 250ms apart from now, oldest first.
	// The clock stands still, so only the first is due and sent.
	fixed.Store(true)
	now := clock.Now()
	if got := rpReplay(t, sys, map[string]any{"host": hostA, "rate_per_second": 4}); got.Matched != 4 || got.DryRun {
		t.Fatalf("replay answered %+v; want matched 4", got)
	}
	sys.WaitState(as[0].ID, hookflow.StateDelivered)
	for i, d := range as {
		got, _, err := sys.Store.GetDelivery(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := now.Add(time.Duration(i) * 250 * time.Millisecond)
		if !got.DueAt.Equal(want) || got.ID != d.ID {
			t.Errorf("replayed delivery %d (%s) due %v; want %v", i, d.ID, got.DueAt, want)
		}
		if i > 0 && got.State != hookflow.StatePending {
			t.Errorf("replayed delivery %d is %s before its due time; want pending", i, got.State)
		}
	}
	if n := len(sys.Deliveries(hookflow.DeliveryFilter{CampaignID: campB, State: hookflow.StateFailed})); n != 4 {
		t.Errorf("B has %d failed deliveries after replaying A's host; want 4 untouched", n)
	}

	clock.Advance(750 * time.Millisecond)
	for _, d := range rpWaitAll(t, sys, campA, hookflow.StateDelivered, 4) {
		if got, want := rpStatuses(sys, d.ID), [][2]int{{1, 403}, {2, 200}}; !slices.Equal(got, want) {
			t.Errorf("%s attempt log = %v; want %v", d.ID, got, want)
		}
	}

	// The rest by status, at the default rate.
	if got := rpReplay(t, sys, map[string]any{"status": 422}); got.Matched != 4 {
		t.Fatalf("replay of status 422 answered %+v; want matched 4", got)
	}
	clock.Advance(time.Second)
	rpWaitAll(t, sys, campB, hookflow.StateDelivered, 4)
	if ids := rcvB.IDs(); len(ids) != 4 {
		t.Errorf("B saw %d delivery ids; want the same 4 again", len(ids))
	}
}

func TestReplayRefusals(t *testing.T) {
	rcv := frReceiver(t, receiver.Always(http.StatusInternalServerError))
	clock := hookflowtest.NewClock(frT0)
	sys := hookflowtest.Start(t, hookflowtest.Options{Clock: clock})
	id := frAPICampaign(sys, "flaky", frPairs(rcv.URL()+"/x", "user", "{{${user_id}}}"))
	frUser(sys, "ann", nil)
	frTrigger(sys, id, "ann")
	d := frOnly(t, sys, id)
	// The 500 is retried later; the clock stands still, so it waits.
	frWaitFor(t, sys, d.ID, "a retry scheduled", func(d *hookflow.Delivery) bool {
		return d.State == hookflow.StatePending && d.Attempts == 1
	})

	status, body := sys.Do("POST", "/v1/deliveries/"+d.ID+"/replay", nil)
	apError(t, status, body, http.StatusConflict, `delivery "`+d.ID+
		`" is pending (it has not ended yet); only failed or delivered deliveries can be replayed`)
	status, body = sys.Do("POST", "/v1/deliveries/nope/replay", nil)
	apError(t, status, body, http.StatusNotFound, `no delivery "nope"`)

	tests := []struct {
		body any
		want string
	}{
		{map[string]any{}, `give at least one of campaign_id, host, status, since, until, or "all": true to replay every failed delivery`},
		{map[string]any{"dry_run": true}, `give at least one of campaign_id, host, status, since, until, or "all": true to replay every failed delivery`},
		{map[string]any{"all": true, "rate_per_second": 0}, "rate_per_second: must be from 1 to 1000 deliveries a second, not 0"},
		{map[string]any{"all": true, "rate_per_second": 1001}, "rate_per_second: must be from 1 to 1000 deliveries a second, not 1001"},
		{map[string]any{"host": "https://api.example.com/hook"}, `host: must be a host name or address with an optional port, such as api.example.com or api.example.com:8443, not "https://api.example.com/hook"`},
		{map[string]any{"status": 99}, "status: must be an HTTP status from 100 to 599, not 99"},
		{map[string]any{"since": "yesterday"}, `since: must be an RFC 3339 time such as 2026-12-03T18:00:00Z, not "yesterday"`},
		{map[string]any{"since": "2026-12-03T10:00:00Z", "until": "2026-12-03T09:00:00Z"}, "until: must be after since"},
		{map[string]any{"campaign": id}, `unknown field "campaign"`},
		{map[string]any{"status": "403"}, "status: expected whole number, got JSON string"},
	}
	for _, tt := range tests {
		status, body := sys.Do("POST", "/v1/deliveries/replay", tt.body)
		apError(t, status, body, http.StatusBadRequest, tt.want)
	}

	// Replaying needs its own scope: reading the log is not enough.
	key, secret := api.NewKey("reader", []string{hookflow.ScopeDeliveriesRead}, clock.Now())
	if err := sys.Store.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/deliveries/" + d.ID + "/replay", "/v1/deliveries/replay"} {
		status, body := sys.DoKey(secret, "POST", path, map[string]any{"all": true})
		if status != http.StatusForbidden {
			t.Errorf("POST %s with a read-only key: %d %s; want 403", path, status, body)
		}
	}
	if got, _, _ := sys.Store.GetDelivery(context.Background(), d.ID); got.State != hookflow.StatePending || got.Attempts != 1 {
		t.Errorf("after refused replays the delivery is %s; want it untouched", frDescribe(got))
	}
}
