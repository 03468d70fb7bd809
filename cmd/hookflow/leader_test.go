package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/receiver"
)

// scheduleBound is the documented bound on how late a scheduled send goes
// out when the leader dies before it is due: postgres.LeaderInterval (1 s)
// for another node to take the lock, plus the schedule loop's 1 s poll,
// plus a second of margin for connecting and a loaded machine.
const scheduleBound = 3 * time.Second

// TestLeaderHandOverSendsScheduleOnTime runs two nodes on one PostgreSQL
// schema, schedules a send 4 s ahead, SIGKILLs the node that leads (and so
// runs schedules) just before it is due, and checks that the other node
// sends it, once, no later than due + scheduleBound.
func TestLeaderHandOverSendsScheduleOnTime(t *testing.T) {
	needBinary(t)
	dbURL := schemaURL(t, "hf_leader_")
	rcv := startReceiver(t, receiver.Always(http.StatusOK))

	// The URL in the environment outranks --data-dir: every command below
	// uses the one PostgreSQL schema.
	t.Setenv("HOOKFLOW_DATABASE_URL", dbURL)
	dir := t.TempDir()
	key := createKey(t, dir)
	nodes := []*proc{startServe(t, dir), startServe(t, dir)}
	var leader int
	waitFor(t, 15*time.Second, "a node leads", func() (bool, error) {
		for i, p := range nodes {
			if strings.Contains(p.log.String(), `"msg":"leading"`) {
				leader = i
				return true, nil
			}
		}
		return false, nil
	})
	survivor := nodes[1-leader]
	c := &client{t: t, base: survivor.base, key: key}

	campaign := createAPICampaign(c, rcv.URL()+"/scheduled")
	due := time.Now().Add(4 * time.Second).UTC().Truncate(time.Millisecond)
	var created struct {
		DispatchID string `json:"dispatch_id"`
		ScheduleID string `json:"schedule_id"`
	}
	c.call(http.MethodPost, "/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": campaign,
		"recipients": []any{map[string]any{
			"external_user_id": "u1", "send_to_existing_only": false,
			"attributes": map[string]any{"first_name": "Ada"},
		}},
		"schedule": map[string]any{"time": due.Format(time.RFC3339Nano)},
	}, &created)
	// Killed 50 ms before the send is due, the leader cannot have sent it,
	// and the survivor, which tries for the lock once a second, almost
	// always takes over after the due time: the send is late by however
	// long the hand-over takes, which is what the bound is about.
	time.Sleep(time.Until(due.Add(-50 * time.Millisecond)))
	nodes[leader].kill()

	ctx, cancel := context.WithTimeout(context.Background(), due.Add(20*time.Second).Sub(time.Now()))
	defer cancel()
	if err := rcv.WaitFor(ctx, 1); err != nil {
		t.Fatalf("the scheduled send never arrived: %v", err)
	}
	arrived := rcv.Requests()[0].At
	late := arrived.Sub(due)
	t.Logf("scheduled send arrived %s after it was due (bound %s)", late, scheduleBound)
	if arrived.Before(due) || late > scheduleBound {
		t.Errorf("arrived at %s, due %s: want within [due, due+%s]", arrived.Format(time.RFC3339Nano),
			due.Format(time.RFC3339Nano), scheduleBound)
	}
	if !strings.Contains(survivor.log.String(), `"msg":"leading"`) {
		t.Errorf("the surviving node never logged that it leads")
	}

	// Exactly once: one delivery under the schedule's dispatch id, sent
	// once, and the receiver saw one request.
	var out struct{ Deliveries []delivery }
	waitFor(t, 15*time.Second, "the delivery is recorded delivered", func() (bool, error) {
		err := c.try(http.MethodGet, "/v1/deliveries?dispatch_id="+created.DispatchID, nil, &out)
		return len(out.Deliveries) > 0 && out.Deliveries[0].State == "delivered", err
	})
	if len(out.Deliveries) != 1 || out.Deliveries[0].Attempts != 1 || rcv.Count() != 1 {
		t.Errorf("%d deliveries (%+v) and %d requests; want one of each", len(out.Deliveries), out.Deliveries, rcv.Count())
	}
}
