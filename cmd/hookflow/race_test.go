package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow/receiver"
)

// The race test sends, through two `hookflow serve` nodes on one PostgreSQL
// schema, several requests at once that each create the same new user. On
// PostgreSQL those requests really run in parallel: every one must be
// accepted (the losers of the insert used to fail with 409 duplicate key),
// there must be one profile per user, and no request's attributes or events
// may be lost to another's write (they were: each wrote back the profile
// it had read). Then sends naming the same users in opposite orders, which
// lock them, must neither deadlock nor fail.

const (
	raceUsers = 12
	// raceWriters is how many requests name each new user at once.
	raceWriters = 8
)

func TestRaceConcurrentWritesCreateOneUser(t *testing.T) {
	needBinary(t)
	dbURL := schemaURL(t, "hf_race_")
	rcv := startReceiver(t, receiver.Always(http.StatusOK))

	key := createKeyArgs(t, "--database-url", dbURL)
	var clients []*client
	for range 2 {
		p := startServeArgs(t, append([]string{"--database-url", dbURL}, clusterFlags...)...)
		clients = append(clients, &client{t: t, base: p.base, key: key})
	}
	createEventCampaign(clients[0], rcv.URL()+"/event", "joined")
	api := createAPICampaign(clients[0], rcv.URL()+"/api")

	// /users/track: each writer sets its own attribute and adds one event.
	raceAll(t, "POST /users/track", func(user string, w int) (string, any) {
		return "/users/track", map[string]any{
			"attributes": []any{map[string]any{"external_id": user, fmt.Sprint("w", w): w}},
			"events": []any{map[string]any{"external_id": user, "name": "joined",
				"time": time.Now().UTC().Format(time.RFC3339)}},
		}
	}, clients, "t", `{"message":"success","attributes_processed":1,"events_processed":1}`)
	// /campaigns/trigger/send: each writer creates the recipient with its
	// own attribute, then sends to it.
	raceAll(t, "POST /campaigns/trigger/send", func(user string, w int) (string, any) {
		return "/campaigns/trigger/send", map[string]any{
			"campaign_id": api,
			"recipients": []any{map[string]any{"external_user_id": user, "send_to_existing_only": false,
				"attributes": map[string]any{fmt.Sprint("w", w): w}}},
		}
	}, clients, "s", "")

	// Sends naming the same existing users in opposite orders: each locks
	// the profiles it names, in braze id order whatever the request's. The
	// calls a node groups in one transaction lock in turn, so two nodes'
	// groups can still meet in a cycle; PostgreSQL then fails one call,
	// which rolls back alone and is run again: none may fail.
	raceAll(t, "POST /campaigns/trigger/send (crossed)", func(user string, w int) (string, any) {
		var rs []any
		for i := range raceUsers {
			if w%2 == 1 {
				i = raceUsers - 1 - i
			}
			rs = append(rs, map[string]any{"external_user_id": fmt.Sprintf("t%02d", i)})
		}
		return "/campaigns/trigger/send", map[string]any{"campaign_id": api, "recipients": rs}
	}, clients, "x", "")

	want := raceWriters * raceUsers
	crossed := raceUsers * raceWriters * raceUsers
	waitFor(t, 60*time.Second, "every delivery arrives", func() (bool, error) {
		return rcv.Count() >= 2*want+crossed, nil
	})
	profiles := raceProfiles(t, dbURL)
	if len(profiles) != 2*raceUsers {
		t.Errorf("%d profiles, want %d: %v", len(profiles), 2*raceUsers, profiles)
	}
	for user, p := range profiles {
		wantEvents := raceWriters
		if user[0] == 's' {
			wantEvents = 0
		}
		if p.attrs != raceWriters || p.events != wantEvents {
			t.Errorf("user %s has %d of the %d writers' attributes and %d events, want %d",
				user, p.attrs, raceWriters, p.events, wantEvents)
		}
	}
	if n := rcv.Count(); n != 2*want+crossed {
		t.Errorf("%d webhooks arrived, want %d (one per request and recipient)", n, 2*want+crossed)
	}
	t.Logf("%d users × %d writers at once, twice, then %d crossed sends, through 2 nodes: %d profiles, %d webhooks",
		raceUsers, raceWriters, raceUsers*raceWriters, len(profiles), rcv.Count())
}

// raceAll makes raceWriters requests at once for each of raceUsers new
// users named prefix+n, spread over the clients, and checks each answer:
// 201, and the body wantBody when it is given.
func raceAll(t *testing.T, what string, req func(user string, w int) (string, any),
	clients []*client, prefix, wantBody string) {
	t.Helper()
	type answer struct {
		user   string
		status int
		body   string
	}
	var answers []answer
	var mu sync.Mutex
	for u := range raceUsers {
		user := fmt.Sprintf("%s%02d", prefix, u)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range raceWriters {
			c := clients[w%len(clients)]
			path, body := req(user, w)
			wg.Go(func() {
				<-start
				status, data, err := racePost(c, path, body)
				if err != nil {
					status, data = -1, err.Error()
				}
				mu.Lock()
				answers = append(answers, answer{user, status, data})
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
	}

	bad := 0
	for _, a := range answers {
		if a.status != http.StatusCreated || (wantBody != "" && a.body != wantBody) {
			bad++
			if bad <= 5 {
				t.Errorf("%s for %s: %d %s", what, a.user, a.status, a.body)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d concurrent requests failed", what, bad, len(answers))
	}
}

// racePost posts body with c's key and returns the status and the body as
// compact JSON (or as sent when it is not JSON).
func racePost(c *client, path string, body any) (int, string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, "", err
	}
	r, err := http.NewRequest(http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	r.Header.Set("Authorization", "Bearer "+c.key)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var compact bytes.Buffer
	if json.Compact(&compact, data) != nil {
		return resp.StatusCode, string(data), nil
	}
	return resp.StatusCode, compact.String(), nil
}

// raceProfile is what the store holds of one user: how many of the
// writers' attributes (w0, w1, …) and how many events.
type raceProfile struct{ attrs, events int }

func raceProfiles(t *testing.T, dbURL string) map[string]raceProfile {
	t.Helper()
	out := map[string]raceProfile{}
	err := pgRows(dbURL, `SELECT u.external_id, u.attributes,
		(SELECT count(*) FROM events e WHERE e.user_id = u.id) FROM users u`, func(rows pgx.Rows) error {
		var ext, attrs string
		var events int
		if err := rows.Scan(&ext, &attrs, &events); err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(attrs), &m); err != nil {
			return fmt.Errorf("attributes of %s: %w", ext, err)
		}
		n := 0
		for w := range raceWriters {
			if _, ok := m[fmt.Sprint("w", w)]; ok {
				n++
			}
		}
		if _, dup := out[ext]; dup {
			return fmt.Errorf("two profiles with external_id %q", ext)
		}
		out[ext] = raceProfile{attrs: n, events: events}
		return nil
	})
	if err != nil {
		t.Fatalf("reading profiles: %v", err)
	}
	return out
}

// TestRaceIdentifyBesideTrack merges alias-only profiles into known users
// through /users/identify while other requests write the same known users
// through /users/track, on two nodes at once. The merge reads the known
// profile and writes it back with the anonymous profile's attributes, so
// without the user locks it used to erase what the concurrent writers set.
func TestRaceIdentifyBesideTrack(t *testing.T) {
	needBinary(t)
	dbURL := schemaURL(t, "hf_race_identify_")
	key := createKeyArgs(t, "--database-url", dbURL)
	var clients []*client
	for range 2 {
		p := startServeArgs(t, append([]string{"--database-url", dbURL}, clusterFlags...)...)
		clients = append(clients, &client{t: t, base: p.base, key: key})
	}

	// Each known user k00… has an alias-only twin that set "anon".
	var attrs []any
	for u := range raceUsers {
		user := fmt.Sprintf("k%02d", u)
		attrs = append(attrs,
			map[string]any{"external_id": user, "known": true},
			map[string]any{"user_alias": map[string]any{"alias_name": "anon-" + user, "alias_label": "device"},
				"_update_existing_only": false, "anon": true})
	}
	if status, body, err := racePost(clients[0], "/users/track", map[string]any{"attributes": attrs}); err != nil || status != 201 {
		t.Fatalf("setting up users: %d %s %v", status, body, err)
	}

	// Writer 0 identifies the twin; the others each set their attribute.
	raceAll(t, "POST /users/identify beside /users/track", func(user string, w int) (string, any) {
		if w == 0 {
			return "/users/identify", map[string]any{"aliases_to_identify": []any{map[string]any{
				"external_id": user,
				"user_alias":  map[string]any{"alias_name": "anon-" + user, "alias_label": "device"}}}}
		}
		return "/users/track", map[string]any{
			"attributes": []any{map[string]any{"external_id": user, fmt.Sprint("w", w): w}}}
	}, clients, "k", "")

	var profiles, merged int
	err := pgRows(dbURL, `SELECT coalesce(u.external_id, ''), u.attributes FROM users u`, func(rows pgx.Rows) error {
		var ext, raw string
		if err := rows.Scan(&ext, &raw); err != nil {
			return err
		}
		profiles++
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return fmt.Errorf("attributes of %q: %w", ext, err)
		}
		missing := []string{}
		for _, k := range []string{"known", "anon"} {
			if m[k] != true {
				missing = append(missing, k)
			}
		}
		for w := 1; w < raceWriters; w++ {
			if _, ok := m[fmt.Sprint("w", w)]; !ok {
				missing = append(missing, fmt.Sprint("w", w))
			}
		}
		if len(missing) > 0 {
			t.Errorf("user %q lacks %v after the merge: %s", ext, missing, raw)
		} else {
			merged++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading profiles: %v", err)
	}
	if profiles != raceUsers || merged != raceUsers {
		t.Errorf("%d profiles, %d of them whole; want %d, every twin merged", profiles, merged, raceUsers)
	}
	t.Logf("%d identifies beside %d writes each, through 2 nodes: %d whole profiles", raceUsers, raceWriters-1, merged)
}
