package e2e

// Helpers of the api_*_test.go files. Every name starts with "ap" so these
// files can share the package with other end-to-end tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// apT0 is where every manual clock starts.
var apT0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// apEnv is a running Hookflow on a manual clock with one receiver.
type apEnv struct {
	t     *testing.T
	sys   *hookflowtest.System
	rcv   *receiver.Receiver
	clock *hookflowtest.Clock
}

// apStart starts a Hookflow with a manual clock at apT0 and a receiver
// answering 200.
func apStart(t *testing.T) *apEnv {
	t.Helper()
	return apStartWith(t, hookflowtest.Options{})
}

func apStartWith(t *testing.T, o hookflowtest.Options) *apEnv {
	t.Helper()
	rcv, err := receiver.Start(receiver.Always(200))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	clock := hookflowtest.NewClock(apT0)
	o.Clock = clock
	return &apEnv{t: t, sys: hookflowtest.Start(t, o), rcv: rcv, clock: clock}
}

// apHook is a webhook to the receiver whose JSON body reports the user and
// whatever the given body pairs read.
func (e *apEnv) apHook(path string, pairs ...string) map[string]any {
	body := []map[string]string{{"key": "user", "value": "{{${user_id}}}"}}
	for i := 0; i+1 < len(pairs); i += 2 {
		body = append(body, map[string]string{"key": pairs[i], "value": pairs[i+1]})
	}
	return map[string]any{
		"method": "POST", "url": e.rcv.URL() + path,
		"body_type": "json", "body_pairs": body,
	}
}

// apActionCampaign creates an active action-based campaign on event with
// re-eligibility 0 unless extra says otherwise; extra adds or replaces keys
// (a "trigger_extra" map is merged into the trigger).
func (e *apEnv) apActionCampaign(name, event string, extra map[string]any) string {
	e.t.Helper()
	trig := map[string]any{"event": event}
	c := map[string]any{
		"name": name, "delivery_type": "action_based", "trigger": trig,
		"reeligibility_seconds": 0, "webhook": e.apHook("/" + name),
	}
	for k, v := range extra {
		if k == "trigger_extra" {
			for tk, tv := range v.(map[string]any) {
				trig[tk] = tv
			}
			continue
		}
		c[k] = v
	}
	return e.sys.CreateCampaign(c)
}

// apAPICampaign creates an active api_triggered campaign.
func (e *apEnv) apAPICampaign(name string, pairs ...string) string {
	e.t.Helper()
	return e.sys.CreateCampaign(map[string]any{
		"name": name, "delivery_type": "api_triggered", "reeligibility_seconds": 0,
		"webhook": e.apHook("/"+name, pairs...),
	})
}

// apEvent posts one event for external id uid.
func (e *apEnv) apEvent(uid, name string, props map[string]any) {
	e.t.Helper()
	ev := map[string]any{"external_id": uid, "name": name, "time": "2026-12-03T09:00:00Z"}
	if props != nil {
		ev["properties"] = props
	}
	e.sys.Track(map[string]any{"events": []any{ev}})
}

// apDeliveries lists the deliveries of a campaign, newest first.
func (e *apEnv) apDeliveries(campaignID string) []*hookflow.Delivery {
	e.t.Helper()
	return e.sys.Deliveries(hookflow.DeliveryFilter{CampaignID: campaignID, Limit: 1000})
}

// apBodies waits for n requests at the receiver and returns their JSON
// bodies sorted by their "user" key, then by the whole body.
func (e *apEnv) apBodies(n int) []map[string]any {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.rcv.WaitFor(ctx, n); err != nil {
		e.t.Fatalf("waiting for %d requests, have %d: %v", n, e.rcv.Count(), err)
	}
	var out []map[string]any
	for _, r := range e.rcv.Requests() {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			e.t.Fatalf("body %q: %v", r.Body, err)
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// apDeliver waits until every delivery listed is delivered.
func (e *apEnv) apDeliver(ds []*hookflow.Delivery) {
	e.t.Helper()
	for _, d := range ds {
		e.sys.WaitState(d.ID, hookflow.StateDelivered)
	}
}

// apSnapshot describes everything stored about users, events and
// deliveries, so a refused request can be shown to have changed nothing.
func (e *apEnv) apSnapshot() string {
	e.t.Helper()
	ctx := context.Background()
	var users []*hookflow.User
	err := e.sys.Store.Update(ctx, func(tx hookflow.Tx) error {
		return tx.EachUser(func(u *hookflow.User) error {
			users = append(users, u)
			return nil
		})
	})
	if err != nil {
		e.t.Fatalf("listing users: %v", err)
	}
	var b strings.Builder
	for _, u := range users {
		attrs, _ := json.Marshal(u.Attributes)
		evs, err := e.sys.Store.ListEvents(ctx, u.ID, 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "user %s %q %v %s events=%d\n", u.ID, u.ExternalID, u.Aliases, attrs, len(evs))
	}
	ds := e.sys.Deliveries(hookflow.DeliveryFilter{Limit: 1000})
	fmt.Fprintf(&b, "deliveries=%d\n", len(ds))
	return b.String()
}

// apError checks a refused request: its status and exact message.
func apError(t *testing.T, status int, body []byte, wantStatus int, wantMessage string) {
	t.Helper()
	var out struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if status != wantStatus || out.Message != wantMessage {
		t.Errorf("got %d %q\nwant %d %q", status, out.Message, wantStatus, wantMessage)
	}
}

// apRefusal is a request body that must be refused with 400 and message.
type apRefusal struct {
	name    string
	body    any
	message string
}

// apRefused POSTs each case to path, checks its 400 and message, and then
// that none of them changed the store: a refused request changes nothing.
func (e *apEnv) apRefused(t *testing.T, path string, cases []apRefusal) {
	t.Helper()
	before := e.apSnapshot()
	for _, tc := range cases {
		status, body := e.sys.Do("POST", path, tc.body)
		t.Run(tc.name, func(t *testing.T) { apError(t, status, body, 400, tc.message) })
	}
	if after := e.apSnapshot(); after != before {
		t.Errorf("refused requests changed the store:\n%s\nwant\n%s", after, before)
	}
}

// apUser reads a user through GET /v1/users/{id}.
type apUserView struct {
	BrazeID    string           `json:"braze_id"`
	ExternalID string           `json:"external_id"`
	Aliases    []hookflow.Alias `json:"user_aliases"`
	Attributes map[string]any   `json:"attributes"`
	Events     []struct {
		Name       string             `json:"name"`
		Time       time.Time          `json:"time"`
		Properties map[string]any     `json:"properties"`
		Purchase   *hookflow.Purchase `json:"purchase"`
	} `json:"recent_events"`
}

func (e *apEnv) apUser(id string) (int, apUserView) {
	e.t.Helper()
	status, data := e.sys.Do("GET", "/v1/users/"+url.PathEscape(id), nil)
	var u apUserView
	if status == 200 {
		if err := json.Unmarshal(data, &u); err != nil {
			e.t.Fatalf("user %s: %v", data, err)
		}
	}
	return status, u
}

// apJSON re-encodes v compactly, for comparing decoded JSON by value.
func apJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// apBodyOf decodes a JSON request body.
func (e *apEnv) apBodyOf(body []byte) map[string]any {
	e.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		e.t.Fatalf("body %q: %v", body, err)
	}
	return m
}
