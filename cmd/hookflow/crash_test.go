package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/receiver"
	"github.com/hookflow/hookflow/sqlite"
)

// The crash tests run a real `hookflow serve`, SIGKILL it with work under
// way, start it again on the same data directory and check, against a
// recording receiver, that every delivery arrives with its one id.

// Each recipient of the in-flight test takes one path kind, which decides
// how the receiver answers it (see crashScript).
var kinds = []string{"ok", "fail", "slow", "ok"}

// wantArrivals is how many requests a delivery of each kind needs when no
// attempt is repeated: "fail" is refused once, "slow" is never answered the
// first time (the kill or the request timeout cuts it).
var wantArrivals = map[string]int{"ok": 1, "fail": 2, "slow": 2}

// crashScript answers 200 at once, except the first request on a /fail/
// path (503: a retry is scheduled) and on a /slow/ path (held until the
// sender goes away: an attempt in flight when the kill comes).
func crashScript(r *receiver.Request, n int) receiver.Response {
	switch {
	case n == 1 && kindOf(r) == "fail":
		return receiver.Response{Status: http.StatusServiceUnavailable}
	case n == 1 && kindOf(r) == "slow":
		return receiver.Response{Delay: time.Hour}
	}
	return receiver.Response{Status: http.StatusOK}
}

func kindOf(r *receiver.Request) string {
	kind, _, _ := strings.Cut(strings.TrimPrefix(r.Path(), "/"), "/")
	return kind
}

func TestCrashInFlightAndPendingRetries(t *testing.T) {
	needBinary(t)
	t.Parallel()
	const users, batch = 200, 50

	rcv := startReceiver(t, crashScript)
	dir := t.TempDir()
	p := startServe(t, dir)
	c := &client{t: t, base: p.base, key: createKey(t, dir)}

	campaign := createAPICampaign(c, rcv.URL()+"/{{api_trigger_properties.${kind}}}/{{${user_id}}}")
	for first := 0; first < users-batch; first += batch {
		sendBatch(c, campaign, first, batch, kinds)
	}

	// Wait until every slow request hangs at the receiver and every refused
	// one has its retry scheduled: attempts in flight and retries pending.
	waitFor(t, 30*time.Second, "slow requests in flight and retries pending", func() (bool, error) {
		return killReady(c, rcv, campaign, users-batch)
	})

	// Then send a last batch, all answered at once, and kill in the midst
	// of it, so some answers may come back that the process never records.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := rcv.Count()
	sendBatch(c, campaign, users-batch, batch, []string{"ok"})
	if err := rcv.WaitFor(ctx, seen+batch/5); err != nil {
		t.Fatal(err)
	}
	p.kill()
	atKill := snapshot(t, dir, campaign)
	restart := time.Now()

	p = startServe(t, dir)
	c.base = p.base
	waitFor(t, 45*time.Second, "every delivery is delivered", func() (bool, error) {
		ds, err := c.deliveries(campaign, hookflow.StateDelivered)
		return len(ds) == users, err
	})

	final, err := c.deliveries(campaign, "")
	if err != nil || len(final) != users {
		t.Fatalf("%d deliveries (%v), want %d", len(final), err, users)
	}
	checkArrivals(t, rcv.ByID(), final, atKill, restart)
}

// killReady reports whether the slow requests of the first users hang at
// the receiver and their refused deliveries wait, on disk, for a retry.
func killReady(c *client, rcv *receiver.Receiver, campaign string, users int) (bool, error) {
	slow := 0
	for _, r := range rcv.Requests() {
		if kindOf(&r) == "slow" {
			slow++
		}
	}
	pending, err := c.deliveries(campaign, hookflow.StatePending)
	retries := 0
	for _, d := range pending {
		if d.Attempts == 1 && d.LastStatus == http.StatusServiceUnavailable {
			retries++
		}
	}
	return slow >= countKind(users, "slow") && retries >= countKind(users, "fail"), err
}

// countKind returns how many of the first n users have path kind k.
func countKind(n int, k string) int {
	count := 0
	for i := range n {
		if kinds[i%len(kinds)] == k {
			count++
		}
	}
	return count
}

// checkArrivals asserts what the receiver got against the deliveries' state
// at the kill: a delivery recorded as delivered is never sent again; one
// waiting for a (re)try gets exactly the requests it needs; only one the
// killed process was sending may arrive once more than needed, because its
// answer may have come back without being recorded. Every arrival carries
// the stored body bytes.
func checkArrivals(t *testing.T, byID map[string][]receiver.Request, final []delivery,
	atKill map[string]*hookflow.Delivery, restart time.Time) {
	t.Helper()
	arrivals, dups, states := 0, 0, map[string]int{}
	for _, d := range final {
		reqs := byID[d.ID]
		delete(byID, d.ID)
		arrivals += len(reqs)
		if d.State != hookflow.StateDelivered {
			t.Errorf("delivery %s ended %s, want delivered", d.ID, d.State)
		}
		if len(reqs) == 0 {
			t.Errorf("delivery %s never reached the receiver", d.ID)
			continue
		}
		checkBodies(t, d, reqs)

		before := atKill[d.ID]
		states[stateLabel(before)]++
		want, got := wantArrivals[kindOf(&reqs[0])], len(reqs)
		switch before.State {
		case hookflow.StateDelivered:
			if after := countSince(reqs, restart); got != want || after != 0 {
				t.Errorf("delivery %s was delivered before the kill, yet arrived %d times "+
					"(%d after the restart), want %d", d.ID, got, after, want)
			}
		case hookflow.StatePending:
			if got != want {
				t.Errorf("delivery %s was pending at the kill and arrived %d times, want %d", d.ID, got, want)
			}
		case hookflow.StateSending:
			if got == want+1 {
				dups++
			} else if got != want {
				t.Errorf("delivery %s was in flight at the kill and arrived %d times, want %d or %d",
					d.ID, got, want, want+1)
			}
		default:
			t.Errorf("delivery %s was %s at the kill", d.ID, before.State)
		}
	}
	for id, reqs := range byID {
		t.Errorf("the receiver got %d requests with webhook-id %s, which is no delivery", len(reqs), id)
	}

	t.Logf("deliveries %d, arrivals %d, duplicates %d; state at the kill: %v",
		len(final), arrivals, dups, states)
	if states["sending"] == 0 || states["pending, retry"] == 0 {
		t.Errorf("the kill caught %v: want attempts in flight and retries pending", states)
	}
}

// stateLabel names a delivery's state at the kill, telling pending retries
// from deliveries never tried.
func stateLabel(d *hookflow.Delivery) string {
	if d.State == hookflow.StatePending && d.Attempts > 0 {
		return "pending, retry"
	}
	return d.State
}

// checkBodies asserts every arrival of d carries the body stored for it.
func checkBodies(t *testing.T, d delivery, reqs []receiver.Request) {
	t.Helper()
	if d.Request == nil {
		t.Errorf("delivery %s has no stored request", d.ID)
		return
	}
	for i, r := range reqs {
		if !bytes.Equal(r.Body, []byte(d.Request.Body)) {
			t.Errorf("delivery %s arrival %d body = %q, want the stored %q", d.ID, i+1, r.Body, d.Request.Body)
		}
	}
}

func countSince(reqs []receiver.Request, at time.Time) int {
	n := 0
	for _, r := range reqs {
		if !r.At.Before(at) {
			n++
		}
	}
	return n
}

func TestCrashRetryPendingSurvivesRestart(t *testing.T) {
	needBinary(t)
	t.Parallel()

	// Field report T4: the receiver is down (its port reserved, then
	// closed), so the first attempt fails to connect.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	p := startServe(t, dir)
	c := &client{t: t, base: p.base, key: createKey(t, dir)}
	campaign := createEventCampaign(c, "http://"+addr+"/t4", "ping")
	c.call(http.MethodPost, "/users/track", map[string]any{
		"attributes": []any{map[string]any{"external_id": "t4", "first_name": "Tess"}},
		"events": []any{map[string]any{"external_id": "t4", "name": "ping",
			"time": time.Now().UTC().Format(time.RFC3339)}},
	}, nil)

	var first delivery
	waitFor(t, 20*time.Second, "the first attempt fails and a retry is pending", func() (bool, error) {
		ds, err := c.deliveries(campaign, "")
		if len(ds) == 1 {
			first = ds[0]
		}
		return len(ds) == 1 && first.Attempts == 1 && first.State == hookflow.StatePending, err
	})
	t.Logf("first attempt: %s", first.LastError)
	if first.LastStatus != 0 || first.LastError == "" {
		t.Fatalf("first attempt got status %d, error %q: want a connection error",
			first.LastStatus, first.LastError)
	}

	p.kill()
	d := snapshot(t, dir, campaign)[first.ID]
	if d == nil || d.State != hookflow.StatePending || d.Attempts != 1 {
		t.Fatalf("on disk after the kill: %+v, want pending after 1 attempt", d)
	}

	rcv, err := receiver.StartOn(addr, receiver.Always(http.StatusOK))
	if err != nil {
		t.Fatalf("bringing the receiver up: %v", err)
	}
	t.Cleanup(func() { rcv.Close() })
	p = startServe(t, dir)
	c.base = p.base

	var last delivery
	waitFor(t, 30*time.Second, "the retry is delivered", func() (bool, error) {
		ds, err := c.deliveries(campaign, "")
		if len(ds) == 1 {
			last = ds[0]
		}
		return len(ds) == 1 && hookflow.Final(last.State), err
	})
	if last.ID != first.ID || last.State != hookflow.StateDelivered ||
		last.Attempts != 2 || last.LastStatus != http.StatusOK {
		t.Errorf("delivery = %s %s after %d attempts (status %d), want %s delivered after 2 (status 200)",
			last.ID, last.State, last.Attempts, last.LastStatus, first.ID)
	}
	if got := rcv.IDs(); rcv.Count() != 1 || got[first.ID] != 1 {
		t.Errorf("receiver got %d requests, by webhook-id %v; want one, with id %s", rcv.Count(), got, first.ID)
	}
}

// createAPICampaign creates an API-triggered campaign posting to url.
func createAPICampaign(c *client, url string) string {
	c.t.Helper()
	return createCampaign(c, map[string]any{"delivery_type": hookflow.APITriggered}, url)
}

// createEventCampaign creates an action-based campaign on event posting to url.
func createEventCampaign(c *client, url, event string) string {
	c.t.Helper()
	return createCampaign(c, map[string]any{
		"delivery_type": hookflow.ActionBased,
		"trigger":       map[string]any{"event": event},
	}, url)
}

func createCampaign(c *client, fields map[string]any, url string) string {
	c.t.Helper()
	fields["name"] = "crash test"
	fields["reeligibility_seconds"] = 0
	fields["webhook"] = map[string]any{
		"method": "POST", "url": url, "body_type": "json",
		"body_pairs": []map[string]string{
			{"key": "user", "value": "{{${user_id}}}"},
			{"key": "name", "value": "{{${first_name}}}"},
		},
	}
	var out struct{ ID string }
	c.call(http.MethodPost, "/v1/campaigns", fields, &out)
	return out.ID
}

// sendBatch sends campaign to n new users, numbered from first, giving them
// the path kinds ks in turn.
func sendBatch(c *client, campaign string, first, n int, ks []string) {
	c.t.Helper()
	var rs []any
	for i := first; i < first+n; i++ {
		rs = append(rs, map[string]any{
			"external_user_id":      fmt.Sprintf("u%03d", i),
			"send_to_existing_only": false,
			"attributes":            map[string]any{"first_name": fmt.Sprintf("User %d", i)},
			"trigger_properties":    map[string]any{"kind": ks[i%len(ks)]},
		})
	}
	c.call(http.MethodPost, "/campaigns/trigger/send", map[string]any{
		"campaign_id": campaign, "recipients": rs,
	}, nil)
}

// snapshot reads a campaign's deliveries from the data directory of a
// killed process: what it had written when it died.
func snapshot(t *testing.T, dir, campaign string) map[string]*hookflow.Delivery {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, dir+"/hookflow.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	ds, err := store.ListDeliveries(ctx, hookflow.DeliveryFilter{CampaignID: campaign, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*hookflow.Delivery, len(ds))
	for _, d := range ds {
		out[d.ID] = d
	}
	return out
}
