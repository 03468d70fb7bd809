// Package e2e holds Hookflow's end-to-end tests: a whole Hookflow in-process
// (hookflowtest) sending to real receivers on loopback.
package e2e

import (
	"encoding/json"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

func TestEventToWebhook(t *testing.T) {
	rcv, err := receiver.Start(receiver.Always(200))
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	sys := hookflowtest.Start(t, hookflowtest.Options{})

	id := sys.CreateCampaign(map[string]any{
		"name": "level up", "delivery_type": "action_based",
		"trigger": map[string]any{"event": "level_up"},
		"webhook": map[string]any{
			"method": "POST", "url": rcv.URL() + "/players/{{${user_id}}}?src=hf",
			"headers":   []map[string]string{{"name": "X-Plan", "value": "{{custom_attribute.${plan}}}"}},
			"body_type": "json",
			"body_pairs": []map[string]string{
				{"key": "name", "value": "{{${first_name}}}"},
				{"key": "level", "value": "{{event_properties.${level}}}"},
			},
		},
	})
	sys.Track(map[string]any{
		"attributes": []any{map[string]any{"external_id": "u1", "first_name": "Ana", "plan": "pro"}},
		"events": []any{map[string]any{"external_id": "u1", "name": "level_up",
			"time": "2026-12-03T10:00:00Z", "properties": map[string]any{"level": 7}}},
	})

	ds := sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id}, 1)
	d, attempts := sys.WaitState(ds[0].ID, hookflow.StateDelivered)
	if len(attempts) != 1 || attempts[0].Status != 200 {
		t.Fatalf("attempts = %+v", attempts)
	}
	got := rcv.Requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests", len(got))
	}
	r := got[0]
	if r.Method != "POST" || r.RawPath != "/players/u1?src=hf" {
		t.Errorf("request line = %s %s", r.Method, r.RawPath)
	}
	if r.Header.Get("X-Plan") != "pro" || r.Header.Get("Webhook-Id") != d.ID ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != hookflow.UserAgent() {
		t.Errorf("headers = %v", r.Header)
	}
	var body map[string]string
	if err := json.Unmarshal(r.Body, &body); err != nil || body["name"] != "Ana" || body["level"] != "7" {
		t.Errorf("body = %s (%v)", r.Body, err)
	}
}
