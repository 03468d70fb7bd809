package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// apTrack posts a raw /users/track body and returns the status and the
// response decoded as generic JSON.
func (e *apEnv) apTrack(body string) (int, map[string]any) {
	e.t.Helper()
	status, data := e.sys.Do("POST", "/users/track", body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		e.t.Fatalf("response %q: %v", data, err)
	}
	return status, out
}

func apWant(t *testing.T, what string, got any, want string) {
	t.Helper()
	if g := apJSON(got); g != want {
		t.Errorf("%s:\n got %s\nwant %s", what, g, want)
	}
}

func TestAPITrackResponseShape(t *testing.T) {
	e := apStart(t)
	status, out := e.apTrack(`{"attributes":[{"external_id":"u1","first_name":"Ana"}],
		"events":[{"external_id":"u1","name":"signed_in","time":"2026-12-03T09:00:00Z"}]}`)
	if status != 201 {
		t.Fatalf("status %d", status)
	}
	apWant(t, "response", out, `{"attributes_processed":1,"events_processed":1,"message":"success"}`)

	// Only the arrays present are counted.
	status, out = e.apTrack(`{"purchases":[{"external_id":"u1","product_id":"p1","currency":"eur","price":9.5,"time":"2026-12-03T09:00:00Z"}]}`)
	if status != 201 {
		t.Fatalf("status %d", status)
	}
	apWant(t, "purchase response", out, `{"message":"success","purchases_processed":1}`)
}

func TestAPITrackItemErrorsKeepValidItems(t *testing.T) {
	e := apStart(t)
	status, out := e.apTrack(`{"attributes":[
		{"external_id":"u1","plan":"pro"},
		{"plan":"nobody"},
		{"external_id":"u2","email":"not-an-address"}],
	"events":[
		{"external_id":"u1","name":"","time":"2026-12-03T09:00:00Z"},
		{"external_id":"u1","name":"ok","time":"2026-12-03T09:00:00Z"}]}`)
	if status != 201 {
		t.Fatalf("status %d: %v", status, out)
	}
	apWant(t, "response", out, `{"attributes_processed":1,"errors":[`+
		`{"index":1,"input_array":"attributes","type":"'external_id', 'braze_id', 'user_alias' or 'email' is required"},`+
		`{"index":2,"input_array":"attributes","type":"'email' is not a valid email address: \"not-an-address\""},`+
		`{"index":0,"input_array":"events","type":"'name' must not be empty"}],`+
		`"events_processed":1,"message":"success"}`)

	status, u := e.apUser("u1")
	if status != 200 || apJSON(u.Attributes) != `{"plan":"pro"}` || len(u.Events) != 1 || u.Events[0].Name != "ok" {
		t.Errorf("u1 = %d %+v", status, u)
	}
	if status, _ := e.apUser("u2"); status != 404 {
		t.Errorf("u2 stored despite a bad email: %d", status)
	}

	// When no object is usable the request is refused with the reasons.
	status, out = e.apTrack(`{"events":[{"external_id":"u1","name":"x"}]}`)
	if status != 400 {
		t.Fatalf("status %d", status)
	}
	apWant(t, "all invalid", out, `{"errors":[{"index":0,"input_array":"events","type":"'time' is required"}],`+
		`"events_processed":0,"message":"no valid objects: see errors"}`)
}

func TestAPITrackWholeRequestErrorsStoreNothing(t *testing.T) {
	e := apStart(t)
	e.apActionCampaign("any", "go", nil)
	e.sys.Track(map[string]any{
		"attributes": []any{map[string]any{"external_id": "u1", "plan": "pro"}},
		"events":     []any{map[string]any{"external_id": "u1", "name": "go", "time": "2026-12-03T09:00:00Z"}},
	})
	before := e.apSnapshot()

	var many []string
	for range 76 {
		many = append(many, `{"external_id":"u1","name":"go","time":"2026-12-03T09:00:00Z"}`)
	}
	tests := []struct {
		name, body string
		status     int
		message    string
	}{
		{"bad JSON", `{"attributes": [{"external_id": "u1",}]}`, 400,
			"request body is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 38)"},
		{"truncated JSON", `{"attributes": [`, 400,
			"request body is not valid JSON: unexpected end of JSON input"},
		{"76 events", `{"events":[` + strings.Join(many, ",") + `]}`, 400,
			"events: has 76 objects; at most 75 are allowed"},
		{"array", `[{"external_id":"u1"}]`, 400, "request body must be a JSON object, not an array"},
		{"string", `"hello"`, 400, "request body must be a JSON object, not a string"},
		{"null", `null`, 400, "request body must be a JSON object, not null"},
		{"empty object", `{}`, 400, "'attributes', 'events' or 'purchases' must hold at least one object"},
		{"empty arrays", `{"attributes":[],"events":[]}`, 400,
			"'attributes', 'events' or 'purchases' must hold at least one object"},
		{"empty body", ``, 400, "request body is not valid JSON: unexpected end of JSON input"},
		{"array not array", `{"events":{"name":"x"}}`, 400, "events: must be an array, not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.sys.Do("POST", "/users/track", tt.body)
			apError(t, status, body, tt.status, tt.message)
			if after := e.apSnapshot(); after != before {
				t.Errorf("store changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func TestAPITrackAttributeOperations(t *testing.T) {
	e := apStart(t)
	e.sys.Track(`{"attributes":[{"external_id":"u1","first_name":"Ana","coins":5,"tags":["a","b","a"],"gone":"x","plan":"pro"}]}`)
	e.sys.Track(`{"attributes":[{"external_id":"u1","coins":{"inc":3},"fresh":{"inc":2},"ratio":{"inc":0.5},
		"tags":{"remove":["a"]},"list":{"add":["x",1]},"gone":null}]}`)
	e.sys.Track(`{"attributes":[{"external_id":"u1","list":{"add":["x"]}}]}`)

	u, err := e.sys.Store.GetUser(context.Background(), hookflow.UserRef{ExternalID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	apWant(t, "attributes", u.Attributes,
		`{"coins":8,"first_name":"Ana","fresh":2,"list":["x",1,"x"],"plan":"pro","ratio":0.5,"tags":["b"]}`)

	// An operation that clashes with the profile refuses the whole object.
	status, out := e.apTrack(`{"attributes":[{"external_id":"u1","coins":{"inc":1},"plan":{"inc":1}}]}`)
	if status != 400 {
		t.Fatalf("status %d", status)
	}
	apWant(t, "clash", out, `{"attributes_processed":0,"errors":[{"index":0,"input_array":"attributes",`+
		`"type":"attribute \"plan\": cannot increment a string"}],"message":"no valid objects: see errors"}`)
	// A standard attribute takes no operator.
	status, out = e.apTrack(`{"attributes":[{"external_id":"u1","first_name":{"inc":1}}]}`)
	if status != 400 {
		t.Fatalf("status %d", status)
	}
	apWant(t, "standard inc", out["errors"], `[{"index":0,"input_array":"attributes",`+
		`"type":"'inc' on \"first_name\": standard attributes take only a value or null"}]`)

	_, v := e.apUser("u1")
	if v.Attributes["coins"] != 8.0 {
		t.Errorf("coins = %v after refused updates, want 8", v.Attributes["coins"])
	}
}

func TestAPITrackUpdateExistingOnly(t *testing.T) {
	e := apStart(t)
	status, out := e.apTrack(`{"attributes":[{"external_id":"ghost","_update_existing_only":true,"plan":"pro"}],
		"events":[{"external_id":"ghost2","_update_existing_only":true,"name":"x","time":"2026-12-03T09:00:00Z"},
		          {"external_id":"real","name":"x","time":"2026-12-03T09:00:00Z"}]}`)
	if status != 201 {
		t.Fatalf("status %d: %v", status, out)
	}
	apWant(t, "response", out, `{"attributes_processed":0,"errors":[`+
		`{"index":0,"input_array":"attributes","type":"no user with external_id ghost (_update_existing_only is true)"},`+
		`{"index":0,"input_array":"events","type":"no user with external_id ghost2 (_update_existing_only is true)"}],`+
		`"events_processed":1,"message":"success"}`)
	for _, id := range []string{"ghost", "ghost2"} {
		if status, _ := e.apUser(id); status != 404 {
			t.Errorf("%s: status %d, want 404", id, status)
		}
	}
	if status, _ := e.apUser("real"); status != 200 {
		t.Errorf("real: status %d", status)
	}
}

func TestAPITrackAliasAndEmailProfiles(t *testing.T) {
	e := apStart(t)
	ctx := context.Background()
	alias := hookflow.Alias{Name: "anon-7", Label: "device"}
	e.sys.Track(`{"attributes":[{"user_alias":{"alias_name":"anon-7","alias_label":"device"},"color":"red","visits":{"inc":1}}]}`)
	e.sys.Track(`{"attributes":[{"user_alias":{"alias_name":"anon-7","alias_label":"device"},"visits":{"inc":1}}],
		"events":[{"user_alias":{"alias_name":"anon-7","alias_label":"device"},"name":"opened","time":"2026-12-03T09:00:00Z"}]}`)
	u, err := e.sys.Store.GetUser(ctx, hookflow.UserRef{Alias: &alias})
	if err != nil {
		t.Fatal(err)
	}
	if u.ExternalID != "" || len(u.Aliases) != 1 || u.Aliases[0] != alias {
		t.Errorf("alias user = %+v", u)
	}
	apWant(t, "alias attributes", u.Attributes, `{"color":"red","visits":2}`)
	status, v := e.apUser(u.ID)
	if status != 200 || len(v.Events) != 1 || v.Events[0].Name != "opened" {
		t.Errorf("GET by braze_id: %d %+v", status, v)
	}

	e.sys.Track(`{"attributes":[{"email":"ana@example.com","first_name":"Ana"}]}`)
	u, err = e.sys.Store.GetUser(ctx, hookflow.UserRef{Email: "ana@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ExternalID != "" || len(u.Aliases) != 0 {
		t.Errorf("email user = %+v", u)
	}
	apWant(t, "email attributes", u.Attributes, `{"email":"ana@example.com","first_name":"Ana"}`)
	if n := strings.Count(e.apSnapshot(), "user "); n != 2 {
		t.Errorf("%d users, want 2:\n%s", n, e.apSnapshot())
	}
}

func TestAPITrackEventTimes(t *testing.T) {
	e := apStart(t)
	status, out := e.apTrack(`{"events":[
		{"external_id":"u1","name":"offset","time":"2026-12-01T10:00:00+01:00"},
		{"external_id":"u1","name":"fraction","time":"2026-12-01T10:00:00.250Z"},
		{"external_id":"u1","name":"compact","time":"2026-12-01T10:00:00-0230"},
		{"external_id":"u1","name":"nozone","time":"2026-12-01T10:00:00"},
		{"external_id":"u1","name":"future","time":"2030-01-01T00:00:00Z"},
		{"external_id":"u1","name":"words","time":"yesterday"},
		{"external_id":"u1","name":"number","time":1764583200}]}`)
	if status != 201 {
		t.Fatalf("status %d", status)
	}
	apWant(t, "errors", out["errors"], `[`+
		`{"index":5,"input_array":"events","type":"'time' is not a valid ISO-8601 time: \"yesterday\""},`+
		`{"index":6,"input_array":"events","type":"'time' must be a string, not a number"}]`)

	_, v := e.apUser("u1")
	got := map[string]time.Time{}
	for _, ev := range v.Events {
		got[ev.Name] = ev.Time.UTC()
	}
	want := map[string]time.Time{
		"offset":   time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		"fraction": time.Date(2026, 12, 1, 10, 0, 0, 250e6, time.UTC),
		"compact":  time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC),
		"nozone":   time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		"future":   apT0, // clamped to the time of receipt
	}
	if len(got) != len(want) {
		t.Errorf("events = %v", got)
	}
	for name, w := range want {
		if !got[name].Equal(w) {
			t.Errorf("%s: time %v, want %v", name, got[name], w)
		}
	}
}

func TestAPITrackPropertyLimits(t *testing.T) {
	e := apStart(t)
	long, ok := strings.Repeat("é", 256), strings.Repeat("é", 255)
	body := map[string]any{"events": []any{
		map[string]any{"external_id": "u1", "name": "long", "time": "2026-12-03T09:00:00Z", "properties": map[string]any{"note": long}},
		map[string]any{"external_id": "u1", "name": "ok", "time": "2026-12-03T09:00:00Z", "properties": map[string]any{"note": ok, "nested": map[string]any{"deep": long}}},
		map[string]any{"external_id": "u1", "name": "dollar", "time": "2026-12-03T09:00:00Z", "properties": map[string]any{"$x": 1}},
		map[string]any{"external_id": "u1", "name": "reserved", "time": "2026-12-03T09:00:00Z", "properties": map[string]any{"time": 1}},
		map[string]any{"external_id": "u1", "name": "big", "time": "2026-12-03T09:00:00Z", "properties": map[string]any{"blob": map[string]any{"s": strings.Repeat("x", 100<<10)}}},
	}}
	status, data := e.sys.Do("POST", "/users/track", body)
	var out map[string]any
	json.Unmarshal(data, &out)
	if status != 201 {
		t.Fatalf("status %d: %s", status, data)
	}
	apWant(t, "errors", out["errors"], `[`+
		`{"index":0,"input_array":"events","type":"property \"note\" is longer than 255 characters"},`+
		`{"index":2,"input_array":"events","type":"property key \"$x\" must not start with '$'"},`+
		`{"index":3,"input_array":"events","type":"property key \"time\" is reserved"},`+
		`{"index":4,"input_array":"events","type":"'properties' is 102417 bytes of JSON; at most 102400 are allowed"}]`)
	if out["events_processed"] != 1.0 {
		t.Errorf("events_processed = %v", out["events_processed"])
	}
	_, v := e.apUser("u1")
	if len(v.Events) != 1 || v.Events[0].Properties["note"] != ok {
		t.Errorf("stored events = %+v", v.Events)
	}
}

// Concurrent /users/track calls share write transactions on SQLite (group
// commit) yet each must behave as if it ran alone, one after another:
// increments of one new user all count, that user is created once, every
// accepted event is stored once with its delivery, and one call's item
// errors do not touch the others.
func TestAPITrackConcurrentCallsActAsSerial(t *testing.T) {
	e := apStart(t)
	e.apActionCampaign("each", "go", nil)
	const calls = 24

	statuses := make([]int, calls)
	outs := make([]map[string]any, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			statuses[i], outs[i] = e.apTrack(fmt.Sprintf(`{
				"attributes":[{"external_id":"shared","coins":{"inc":1}},
				              {"external_id":"ghost","_update_existing_only":true,"plan":"x"}],
				"events":[{"external_id":"shared","name":"go","time":"2026-12-03T09:00:00Z"},
				          {"external_id":"own-%d","name":"go","time":"2026-12-03T09:00:00Z"},
				          {"external_id":"shared","name":"quiet","time":"2026-12-03T09:00:00Z"}]}`, i))
		})
	}
	wg.Wait()

	for i := range calls {
		if statuses[i] != 201 {
			t.Fatalf("call %d: status %d: %v", i, statuses[i], outs[i])
		}
		apWant(t, fmt.Sprintf("call %d", i), outs[i], `{"attributes_processed":1,"errors":[`+
			`{"index":1,"input_array":"attributes","type":"no user with external_id ghost (_update_existing_only is true)"}],`+
			`"events_processed":3,"message":"success"}`)
	}

	status, shared := e.apUser("shared")
	if status != 200 || apJSON(shared.Attributes) != fmt.Sprintf(`{"coins":%d}`, calls) {
		t.Errorf("shared = %d %s, want coins %d", status, apJSON(shared.Attributes), calls)
	}
	evs, err := e.sys.Store.ListEvents(context.Background(), shared.BrazeID, 1000)
	if err != nil || len(evs) != 2*calls {
		t.Errorf("shared has %d events (%v), want %d", len(evs), err, 2*calls)
	}
	for i := range calls {
		status, own := e.apUser(fmt.Sprintf("own-%d", i))
		if status != 200 || len(own.Events) != 1 || own.Events[0].Name != "go" {
			t.Errorf("own-%d = %d %+v", i, status, own)
		}
	}
	if status, _ := e.apUser("ghost"); status != 404 {
		t.Errorf("ghost: status %d, want 404", status)
	}
	ds := e.sys.Deliveries(hookflow.DeliveryFilter{Limit: 1000})
	if len(ds) != 2*calls {
		t.Errorf("%d deliveries, want %d (one per go event)", len(ds), 2*calls)
	}
}

// One /users/track call whose events depend on the deliveries its earlier
// events enqueued: a second trigger within the re-eligibility window sends
// nothing, and an exception event cancels the delayed send an earlier
// event of the same call made.
func TestAPITrackEventsSeeDeliveriesOfTheSameCall(t *testing.T) {
	e := apStart(t)
	once := e.apActionCampaign("once", "ping", map[string]any{"reeligibility_seconds": 3600})
	delayed := e.apActionCampaign("delayed", "ping", map[string]any{
		"trigger_extra": map[string]any{"delay_seconds": 60, "exception_events": []any{"stop"}},
	})
	status, out := e.apTrack(`{"events":[
		{"external_id":"u1","name":"ping","time":"2026-12-03T09:00:00Z"},
		{"external_id":"u1","name":"ping","time":"2026-12-03T09:00:01Z"},
		{"external_id":"u2","name":"ping","time":"2026-12-03T09:00:02Z"},
		{"external_id":"u1","name":"stop","time":"2026-12-03T09:00:03Z"}]}`)
	if status != 201 {
		t.Fatalf("status %d: %v", status, out)
	}

	count := func(campaign, state string) int {
		return len(e.sys.Deliveries(hookflow.DeliveryFilter{CampaignID: campaign, State: state, Limit: 100}))
	}
	if n := count(once, ""); n != 2 {
		t.Errorf("once: %d deliveries, want 2 (u1 once, u2)", n)
	}
	// u1's two pings each made a delayed send; its stop cancelled both.
	if n, c := count(delayed, hookflow.StatePending), count(delayed, hookflow.StateCancelled); n != 1 || c != 2 {
		t.Errorf("delayed: %d pending, %d cancelled; want 1 (u2) and 2 (u1)", n, c)
	}
}
