package main

// The Braze-compatible API driven by braze-api, a Node client for Braze's
// REST API that nobody here wrote (pinned in testdata/brazeclient), against
// a real `hookflow serve`: every call's answer as the client decoded it,
// and the webhooks that reach a loopback receiver. Helper names start "bc".

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/receiver"
)

// bcDir holds braze-api, pinned by its lock file, and client.cjs.
var bcDir = filepath.Join("testdata", "brazeclient")

// bcCampaignBody is the test campaign's raw JSON body: the trigger
// properties, the send id and a content block, as Braze templates them.
const bcCampaignBody = `{"user":"{{${user_id}}}","coupon":"{{api_trigger_properties.${coupon}}}",` +
	`"send":"{{campaign.${send_id}}}","footer":"{{content_blocks.${sig}}}"}`

// bcLine is one call the script made, as it printed it.
type bcLine struct {
	Call            string          `json:"call"`
	OK              bool            `json:"ok"`
	Status          int             `json:"status"`
	Err             string          `json:"err"`
	KnownDifference string          `json:"known_difference"`
	Response        json.RawMessage `json:"response"`
}

func TestBrazeClientEndToEnd(t *testing.T) {
	needBinary(t)
	bcNeedClient(t)
	t.Parallel()

	rcv := startReceiver(t, receiver.Always(http.StatusOK))
	dir := t.TempDir()
	p := startServe(t, dir)
	c := &client{t: t, base: p.base, key: createKey(t, dir)}
	campaign := bcCampaign(c, rcv.URL()+"/campaign")

	lines := bcRun(t, "calls", p.base, c.key, rcv.URL(), campaign)
	bcCheckLines(t, lines, bcChecks(campaign))
	bcCheckWebhooks(t, c, rcv, campaign, lines)

	// Every webhook has arrived: the data series count them all.
	lines = bcRun(t, "series", p.base, c.key, rcv.URL(), campaign)
	bcCheckLines(t, lines, []bcCheck{
		{"campaigns.data_series", bcCheckSeries(3, 2)},
		{"sends.data_series", bcCheckSeries(1, 1)},
	})
}

// bcCheckLines runs each check on the line of its call.
func bcCheckLines(t *testing.T, lines map[string]bcLine, checks []bcCheck) {
	t.Helper()
	for _, check := range checks {
		t.Run(check.call, func(t *testing.T) {
			line, ok := lines[check.call]
			if !ok {
				t.Fatalf("the script printed no line for %s", check.call)
			}
			if !line.OK {
				t.Fatalf("%s failed: status %d: %s", check.call, line.Status, line.Err)
			}
			check.check(t, bcDecode(t, line.Response))
		})
	}
	if len(lines) != len(checks) {
		t.Errorf("the script made %d calls, the test checks %d", len(lines), len(checks))
	}
}

// bcNeedClient skips the test when braze-api is not installed, unless
// HOOKFLOW_REQUIRE_ORACLE=1 makes that a failure.
func bcNeedClient(t *testing.T) {
	t.Helper()
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(bcDir, "node_modules", "braze-api"))
	if nodeErr == nil && modErr == nil {
		return
	}
	msg := "braze-api is not installed: run npm ci --prefix cmd/hookflow/testdata/brazeclient"
	if os.Getenv("HOOKFLOW_REQUIRE_ORACLE") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// bcCampaign creates the content block "sig" and an API-triggered campaign,
// sending every time, whose body includes it; it returns the campaign's id.
// The client cannot make campaigns: Braze makes them in its dashboard.
func bcCampaign(c *client, url string) string {
	c.t.Helper()
	c.call(http.MethodPost, "/content_blocks/create", map[string]any{
		"name": "sig", "content": "from {{campaign.${name}}}",
	}, nil)
	var out struct{ ID string }
	c.call(http.MethodPost, "/v1/campaigns", map[string]any{
		"name": "braze-api", "delivery_type": "api_triggered", "reeligibility_seconds": 0,
		"webhook": map[string]any{
			"method": "POST", "url": url, "body_type": "raw", "body_raw": bcCampaignBody,
			"headers": []map[string]string{{"name": "Content-Type", "value": "application/json"}},
		},
	}, &out)
	return out.ID
}

// bcRun runs client.cjs and returns its lines by call. A failed call that is
// not a known difference makes the script exit 1: the lines still say which.
func bcRun(t *testing.T, phase, base, key, rcvURL, campaign string) map[string]bcLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.cjs")
	cmd.Dir = bcDir
	cmd.Env = append(os.Environ(), "HOOKFLOW_URL="+base, "HOOKFLOW_KEY="+key,
		"RECEIVER_URL="+rcvURL, "CAMPAIGN_ID="+campaign, "PHASE="+phase)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()

	lines := map[string]bcLine{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l bcLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("script line %q: %v", sc.Text(), err)
		}
		t.Logf("%s: ok=%v status=%d err=%q known=%q", l.Call, l.OK, l.Status, l.Err, l.KnownDifference)
		lines[l.Call] = l
	}
	if err != nil {
		t.Errorf("node client.cjs: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.Bytes())
	}
	return lines
}

// bcDecode decodes a response as a generic JSON object.
func bcDecode(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("response %s: %v", raw, err)
	}
	return m
}

// bcCheck asserts one call's decoded response.
type bcCheck struct {
	call  string
	check func(t *testing.T, r map[string]any)
}

// bcChecks lists every call the script makes with what its answer must hold.
func bcChecks(campaign string) []bcCheck {
	return []bcCheck{
		{"users.track", bcFields(map[string]any{"message": "success", "attributes_processed": 3.0, "events_processed": 1.0})},
		{"users.alias.new", bcFields(map[string]any{"message": "success", "aliases_processed": 2.0})},
		{"users.identify", bcFields(map[string]any{"message": "success", "aliases_processed": 1.0})},
		{"users.export.ids", bcCheckExport},
		{"campaigns.list", bcCheckList(campaign)},
		{"campaigns.details", bcCheckDetails},
		{"sends.id.create", bcFields(map[string]any{"message": "success", "send_id": "bc-send-1"})},
		{"campaigns.trigger.send", bcPrefixed("dispatch_id", "dsp_")},
		{"campaigns.trigger.schedule.create", bcScheduleCreated},
		{"campaigns.trigger.schedule.create (later)", bcScheduleCreated},
		{"campaigns.trigger.schedule.create (in_local_time)", bcScheduleCreated},
		{"campaigns.trigger.schedule.update", bcFields(map[string]any{"message": "success"})},
		{"templates.content_blocks.create", bcCheckBlockSaved},
		{"templates.content_blocks.update", bcCheckBlockSaved},
		{"templates.content_blocks.list", bcCheckBlockList},
		{"templates.content_blocks.get", func(t *testing.T, r map[string]any) {
			bcFields(map[string]any{
				"message": "success", "name": "bc_note", "content": "v2 for {{${first_name}}}",
				"description": "made by braze-api", "content_type": "text",
				"inclusion_count": 0.0,
			})(t, r)
			if d, ok := r["inclusion_data"]; ok && len(d.([]any)) != 0 {
				t.Errorf("inclusion_data = %v, want none (only API messages include bc_note)", d)
			}
		}},
		{"messages.send", bcPrefixed("dispatch_id", "dsp_")},
		{"messages.schedule.create", bcScheduleCreated},
		{"messages.schedule.update", bcFields(map[string]any{"message": "success"})},
		{"messages.scheduled_broadcasts", bcCheckBroadcasts(campaign)},
		{"messages.scheduled_broadcasts (3 days)", bcCheckLocalBroadcast},
		{"campaigns.trigger.schedule.delete (in_local_time)", bcFields(map[string]any{"message": "success"})},
		{"messages.schedule.delete", bcFields(map[string]any{"message": "success"})},
		{"campaigns.trigger.schedule.delete", bcFields(map[string]any{"message": "success"})},
		{"transactional.v1.campaigns.send", func(t *testing.T, r map[string]any) {
			bcFields(map[string]any{"message": "success", "status": "queued"})(t, r)
			bcPrefixed("dispatch_id", "dsp_")(t, r)
		}},
		{"users.delete", bcFields(map[string]any{"message": "success", "deleted": 1.0})},
	}
}

// bcFields checks that the response holds each of want's fields (numbers
// decode as float64).
func bcFields(want map[string]any) func(*testing.T, map[string]any) {
	return func(t *testing.T, r map[string]any) {
		t.Helper()
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s = %#v, want %#v (response %v)", k, r[k], v, r)
			}
		}
	}
}

// bcPrefixed checks a success response whose field starts with prefix.
func bcPrefixed(field, prefix string) func(*testing.T, map[string]any) {
	return func(t *testing.T, r map[string]any) {
		t.Helper()
		bcFields(map[string]any{"message": "success"})(t, r)
		if s, _ := r[field].(string); !strings.HasPrefix(s, prefix) {
			t.Errorf("%s = %#v, want a string starting %q", field, r[field], prefix)
		}
	}
}

func bcScheduleCreated(t *testing.T, r map[string]any) {
	bcPrefixed("dispatch_id", "dsp_")(t, r)
	bcPrefixed("schedule_id", "sch_")(t, r)
}

// bcCheckExport: Ann with her attributes and event, Carl identified from
// the alias-only profile, Bob found by the alias he was given.
func bcCheckExport(t *testing.T, r map[string]any) {
	var out struct {
		Message string
		Users   []struct {
			ExternalID       string         `json:"external_id"`
			FirstName        string         `json:"first_name"`
			TimeZone         string         `json:"time_zone"`
			CustomAttributes map[string]any `json:"custom_attributes"`
			CustomEvents     []struct {
				Name  string
				Count int
			} `json:"custom_events"`
			UserAliases []map[string]string `json:"user_aliases"`
		}
	}
	bcRedecode(t, r, &out)
	if out.Message != "success" || len(out.Users) != 3 {
		t.Fatalf("message %q with %d users, want success with 3: %v", out.Message, len(out.Users), r)
	}
	byID := map[string]int{}
	for i, u := range out.Users {
		byID[u.ExternalID] = i
	}
	ann, carl, bob := out.Users[byID["bc_ann"]], out.Users[byID["bc_carl"]], out.Users[byID["bc_bob"]]
	if ann.ExternalID != "bc_ann" || ann.FirstName != "Ann" || ann.TimeZone != "Europe/Paris" ||
		ann.CustomAttributes["plan"] != "gold" || len(ann.CustomEvents) != 1 ||
		ann.CustomEvents[0].Name != "signed_up" || ann.CustomEvents[0].Count != 1 {
		t.Errorf("bc_ann exported as %+v", ann)
	}
	device := map[string]string{"alias_name": "anon-1", "alias_label": "device"}
	if carl.ExternalID != "bc_carl" || len(carl.UserAliases) != 1 || !maps.Equal(carl.UserAliases[0], device) {
		t.Errorf("bc_carl exported as %+v, want the identified alias anon-1/device", carl)
	}
	crm := map[string]string{"alias_name": "bob@crm", "alias_label": "crm"}
	if bob.ExternalID != "bc_bob" || bob.FirstName != "Bob" || len(bob.UserAliases) != 1 || !maps.Equal(bob.UserAliases[0], crm) {
		t.Errorf("bc_bob exported as %+v, want the alias bob@crm/crm", bob)
	}
}

func bcCheckList(campaign string) func(*testing.T, map[string]any) {
	return func(t *testing.T, r map[string]any) {
		var out struct {
			Message   string
			Campaigns []struct{ ID, Name string }
		}
		bcRedecode(t, r, &out)
		if out.Message != "success" || len(out.Campaigns) != 1 ||
			out.Campaigns[0].ID != campaign || out.Campaigns[0].Name != "braze-api" {
			t.Errorf("campaigns.list = %v, want the one campaign %s named braze-api", r, campaign)
		}
	}
}

func bcCheckDetails(t *testing.T, r map[string]any) {
	bcFields(map[string]any{
		"message": "success", "name": "braze-api", "archived": false, "draft": false,
		"enabled": true, "schedule_type": "api_triggered",
	})(t, r)
	var out struct {
		Channels []string
		Messages map[string]struct {
			Channel, Type, Body string
			RequestMethod       string `json:"request_method"`
		}
	}
	bcRedecode(t, r, &out)
	if !slices.Equal(out.Channels, []string{"webhook"}) || len(out.Messages) != 1 {
		t.Fatalf("channels %v with %d messages, want [webhook] with 1", out.Channels, len(out.Messages))
	}
	for _, m := range out.Messages {
		if m.Channel != "webhook" || m.Type != "raw_text" || m.RequestMethod != "POST" || m.Body != bcCampaignBody {
			t.Errorf("message = %+v, want the campaign's raw POST webhook", m)
		}
	}
}

func bcCheckBlockSaved(t *testing.T, r map[string]any) {
	bcFields(map[string]any{"message": "success", "liquid_tag": "{{content_blocks.${bc_note}}}"})(t, r)
	if id, _ := r["content_block_id"].(string); id == "" {
		t.Errorf("no content_block_id in %v", r)
	}
}

func bcCheckBlockList(t *testing.T, r map[string]any) {
	var out struct {
		Message       string
		Count         int
		ContentBlocks []struct {
			Name           string
			InclusionCount int `json:"inclusion_count"`
		} `json:"content_blocks"`
	}
	bcRedecode(t, r, &out)
	got := map[string]int{}
	for _, b := range out.ContentBlocks {
		got[b.Name] = b.InclusionCount
	}
	// sig is included by the campaign; bc_note only by API messages.
	if out.Message != "success" || out.Count != 2 || len(got) != 2 || got["sig"] != 1 || got["bc_note"] != 0 {
		t.Errorf("content_blocks.list = %v, want sig (included once) and bc_note", r)
	}
}

// bcCheckBroadcasts: the three schedules still to run, earliest first: the
// campaign's in two seconds, the message's moved to 90 minutes, the other
// campaign's moved to two hours.
func bcCheckBroadcasts(campaign string) func(*testing.T, map[string]any) {
	return func(t *testing.T, r map[string]any) {
		var out struct {
			Message    string
			Broadcasts []struct {
				ID, Type     string
				ScheduleType string `json:"schedule_type"`
				Next         string `json:"next_send_time"`
			} `json:"scheduled_broadcasts"`
		}
		bcRedecode(t, r, &out)
		if out.Message != "success" || len(out.Broadcasts) != 3 {
			t.Fatalf("scheduled_broadcasts = %v, want 3", r)
		}
		wantTypes := []string{"Campaign", "Message", "Campaign"}
		for i, b := range out.Broadcasts {
			if b.Type != wantTypes[i] || b.ScheduleType != "UTC" || (b.Type == "Campaign" && b.ID != campaign) {
				t.Errorf("broadcast %d = %+v, want a UTC %s", i, b, wantTypes[i])
			}
		}
		first, _ := time.Parse(time.RFC3339, out.Broadcasts[0].Next)
		last, _ := time.Parse(time.RFC3339, out.Broadcasts[2].Next)
		if d := last.Sub(first); d < 7100*time.Second || d > 7200*time.Second {
			t.Errorf("the later campaign schedule is %s after the first, want about 2h (moved by update)", d)
		}
	}
}

// bcCheckSeries: one day, today, with sent webhooks, no errors and
// recipients unique recipients.
func bcCheckSeries(sent, recipients int) func(*testing.T, map[string]any) {
	return func(t *testing.T, r map[string]any) {
		var out struct {
			Message string
			Data    []struct {
				Time     string
				Messages struct {
					Webhook []struct{ Sent, Errors int }
				}
				Unique int `json:"unique_recipients"`
			}
		}
		bcRedecode(t, r, &out)
		today := time.Now().UTC().Format(time.DateOnly)
		if out.Message != "success" || len(out.Data) != 1 || out.Data[0].Time != today ||
			len(out.Data[0].Messages.Webhook) != 1 || out.Data[0].Messages.Webhook[0].Sent != sent ||
			out.Data[0].Messages.Webhook[0].Errors != 0 || out.Data[0].Unique != recipients {
			t.Errorf("data series = %v, want one day %s with %d sent, no errors, %d unique recipients",
				r, today, sent, recipients)
		}
	}
}

// bcCheckLocalBroadcast: over three days, the three UTC schedules and the
// in_local_time one, listed as local_time_zones.
func bcCheckLocalBroadcast(t *testing.T, r map[string]any) {
	var out struct {
		Broadcasts []struct {
			ScheduleType string `json:"schedule_type"`
		} `json:"scheduled_broadcasts"`
	}
	bcRedecode(t, r, &out)
	local := 0
	for _, b := range out.Broadcasts {
		if b.ScheduleType == "local_time_zones" {
			local++
		}
	}
	if len(out.Broadcasts) != 4 || local != 1 {
		t.Errorf("scheduled_broadcasts over 3 days = %v, want 4 with one local_time_zones", r)
	}
}

// bcRedecode decodes the generic response r into out.
func bcRedecode(t *testing.T, r map[string]any, out any) {
	t.Helper()
	b, err := json.Marshal(r)
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		t.Fatalf("response %v: %v", r, err)
	}
}

// bcWebhook is the body a receiver request carried.
type bcWebhook struct {
	path string
	body map[string]string
	at   time.Time
}

// bcCheckWebhooks waits for the four webhooks the calls make, the one
// scheduled three seconds ahead included, and checks their bodies; then that
// the deleted schedules are gone.
func bcCheckWebhooks(t *testing.T, c *client, rcv *receiver.Receiver, campaign string, lines map[string]bcLine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rcv.WaitFor(ctx, 4); err != nil {
		t.Fatal(err)
	}
	got := map[string]bcWebhook{}
	for _, r := range rcv.Requests() {
		var body map[string]string
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("webhook body %q: %v", r.Body, err)
		}
		key := r.Path() + " " + body["user"] + " " + body["coupon"] + body["kind"]
		got[key] = bcWebhook{path: r.Path(), body: body, at: r.At}
	}

	footer := "from braze-api"
	want := map[string]map[string]string{
		"/campaign bc_ann NOW":       {"user": "bc_ann", "coupon": "NOW", "send": "bc-send-1", "footer": footer},
		"/campaign bc_bob SCHEDULED": {"user": "bc_bob", "coupon": "SCHEDULED", "send": "", "footer": footer},
		"/campaign bc_ann TX":        {"user": "bc_ann", "coupon": "TX", "send": "bc-tx-1", "footer": footer},
		"/message bc_ann message":    {"kind": "message", "user": "bc_ann", "note": "v2 for Ann"},
	}
	if len(got) != len(want) || rcv.Count() != len(want) {
		t.Errorf("%d webhooks arrived (%v), want %d", rcv.Count(), got, len(want))
	}
	for key, body := range want {
		w, ok := got[key]
		if !ok || !maps.Equal(w.body, body) {
			t.Errorf("webhook %s = %v, want body %v", key, w.body, body)
		}
	}
	bcCheckScheduledTime(t, got["/campaign bc_bob SCHEDULED"].at, lines)

	var left struct {
		ScheduledBroadcasts []any `json:"scheduled_broadcasts"`
	}
	c.call(http.MethodGet, "/messages/scheduled_broadcasts?end_time="+
		time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339), nil, &left)
	if len(left.ScheduledBroadcasts) != 0 {
		t.Errorf("scheduled broadcasts left after the deletes: %v", left.ScheduledBroadcasts)
	}
}

// bcCheckScheduledTime checks the scheduled webhook came no sooner than its
// time, as scheduled_broadcasts reported it.
func bcCheckScheduledTime(t *testing.T, at time.Time, lines map[string]bcLine) {
	t.Helper()
	var out struct {
		Broadcasts []struct {
			Next string `json:"next_send_time"`
		} `json:"scheduled_broadcasts"`
	}
	if err := json.Unmarshal(lines["messages.scheduled_broadcasts"].Response, &out); err != nil || len(out.Broadcasts) == 0 {
		t.Fatalf("scheduled_broadcasts response unusable: %v", err)
	}
	due, err := time.Parse(time.RFC3339, out.Broadcasts[0].Next)
	if err != nil {
		t.Fatal(err)
	}
	if at.Before(due) {
		t.Errorf("the scheduled webhook arrived at %s, before its time %s", at, due)
	}
}
