package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hookflow/hookflow/receiver"
)

// TestScheduleSurvivesKillAndRestart schedules two sends on a SQLite
// `hookflow serve`, SIGKILLs it before either is due and starts it again
// on the same data directory only after the first one's time has passed:
// the schedules are rows in the database, so the overdue one goes out at
// once, the other at its time, each once.
func TestScheduleSurvivesKillAndRestart(t *testing.T) {
	needBinary(t)
	t.Parallel()
	rcv := startReceiver(t, receiver.Always(http.StatusOK))

	dir := t.TempDir()
	p := startServe(t, dir)
	c := &client{t: t, base: p.base, key: createKey(t, dir)}
	campaign := createAPICampaign(c, rcv.URL()+"/scheduled")
	now := time.Now().UTC()
	overdue, later := now.Add(2*time.Second), now.Add(5*time.Second)
	for _, at := range []time.Time{overdue, later} {
		c.call(http.MethodPost, "/campaigns/trigger/schedule/create", map[string]any{
			"campaign_id": campaign,
			"recipients": []any{map[string]any{"external_user_id": "u-" + at.Format("150405.000"),
				"send_to_existing_only": false}},
			"schedule": map[string]any{"time": at.Format(time.RFC3339Nano)},
		}, nil)
	}
	p.kill()

	time.Sleep(time.Until(overdue.Add(500 * time.Millisecond)))
	if n := rcv.Count(); n != 0 {
		t.Fatalf("%d webhooks arrived while no node ran", n)
	}
	restarted := time.Now()
	startServe(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rcv.WaitFor(ctx, 2); err != nil {
		t.Fatalf("the scheduled sends did not both arrive after the restart: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // a repeat would come by now
	reqs := rcv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d webhooks arrived, want 2", len(reqs))
	}
	first, second := reqs[0].At, reqs[1].At
	t.Logf("overdue send arrived %s after the restart began; the later one %s after its time",
		first.Sub(restarted).Round(time.Millisecond), second.Sub(later).Round(time.Millisecond))
	if first.Sub(restarted) > 3*time.Second {
		t.Errorf("the overdue send came %s after the restart began, want within 3s", first.Sub(restarted))
	}
	if second.Before(later) || second.Sub(later) > 3*time.Second {
		t.Errorf("the later send came at %s, due %s: want within [due, due+3s]", second, later)
	}
}
