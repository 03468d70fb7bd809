package e2e

// Helpers of the fieldreport_*_test.go files, which run the field reports
// (/work/shared/cases/field-reports.md) through the whole system. Every name
// starts with "fr" so these files can share the package with other tests.

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// frT0 is where manual clocks start: whole seconds, so HTTP dates and
// Retry-After arithmetic come out exact.
var frT0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// frReceiver starts a receiver answering with script until the test ends.
func frReceiver(t *testing.T, script receiver.Script) *receiver.Receiver {
	t.Helper()
	rcv, err := receiver.Start(script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	return rcv
}

// frCanary starts a canary until the test ends.
func frCanary(t *testing.T) *receiver.Canary {
	t.Helper()
	c, err := receiver.StartCanary()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// frPairs is a JSON key/value webhook POSTing to url.
func frPairs(url string, kv ...string) map[string]any {
	var pairs []map[string]string
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, map[string]string{"key": kv[i], "value": kv[i+1]})
	}
	return map[string]any{"method": "POST", "url": url, "body_type": "json", "body_pairs": pairs}
}

// frRaw is a raw-body webhook POSTing body to url with a JSON Content-Type.
func frRaw(url, body string) map[string]any {
	return map[string]any{
		"method": "POST", "url": url, "body_type": "raw", "body_raw": body,
		"headers": []map[string]string{{"name": "Content-Type", "value": "application/json"}},
	}
}

// frAPICampaign creates an API-triggered campaign sending webhook, every
// time it is triggered.
func frAPICampaign(sys *hookflowtest.System, name string, webhook map[string]any) string {
	return sys.CreateCampaign(map[string]any{
		"name": name, "delivery_type": "api_triggered",
		"reeligibility_seconds": 0, "webhook": webhook,
	})
}

// frEventCampaign creates an action-based campaign on event, re-eligible
// at once.
func frEventCampaign(sys *hookflowtest.System, name, event string, webhook map[string]any) string {
	return sys.CreateCampaign(map[string]any{
		"name": name, "delivery_type": "action_based", "trigger": map[string]any{"event": event},
		"reeligibility_seconds": 0, "webhook": webhook,
	})
}

// frUser creates or updates a user with attrs.
func frUser(sys *hookflowtest.System, externalID string, attrs map[string]any) {
	obj := map[string]any{"external_id": externalID}
	for k, v := range attrs {
		obj[k] = v
	}
	sys.Track(map[string]any{"attributes": []any{obj}})
}

// frEvent tracks event for the user, at the system's current time.
func frEvent(sys *hookflowtest.System, externalID, event string, props map[string]any) {
	ev := map[string]any{
		"external_id": externalID, "name": event,
		"time": sys.Clock.Now().Format(time.RFC3339),
	}
	if props != nil {
		ev["properties"] = props
	}
	sys.Track(map[string]any{"events": []any{ev}})
}

// frTrigger sends API-triggered campaign id to the users, who must exist,
// and returns the dispatch id.
func frTrigger(sys *hookflowtest.System, id string, externalIDs ...string) string {
	var rs []map[string]any
	for _, x := range externalIDs {
		rs = append(rs, map[string]any{"external_user_id": x})
	}
	var out struct {
		DispatchID string `json:"dispatch_id"`
	}
	sys.MustDo(http.StatusCreated, "POST", "/campaigns/trigger/send",
		map[string]any{"campaign_id": id, "recipients": rs}, &out)
	return out.DispatchID
}

// frOnly waits for the one delivery of campaign id.
func frOnly(t *testing.T, sys *hookflowtest.System, id string) *hookflow.Delivery {
	t.Helper()
	ds := sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id}, 1)
	if len(ds) != 1 {
		t.Fatalf("campaign %s has %d deliveries, want 1", id, len(ds))
	}
	return ds[0]
}

// frView is a delivery as GET /v1/deliveries/{id} shows it.
type frView struct {
	ID            string     `json:"id"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastStatus    int        `json:"last_status"`
	LastError     string     `json:"last_error"`
	AbortReason   string     `json:"abort_reason"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	AttemptLog    []struct {
		Number          int         `json:"number"`
		StartedAt       time.Time   `json:"started_at"`
		DurationMS      float64     `json:"duration_ms"`
		Status          int         `json:"status"`
		Error           string      `json:"error"`
		ErrorKind       string      `json:"error_kind"`
		ResponseBody    string      `json:"response_body"`
		Truncated       bool        `json:"truncated"`
		ResponseHeaders http.Header `json:"response_headers"`
	} `json:"attempt_log"`
}

// frGet reads delivery id through the API.
func frGet(sys *hookflowtest.System, id string) frView {
	var v frView
	sys.MustDo(http.StatusOK, "GET", "/v1/deliveries/"+id, nil, &v)
	return v
}

// frWaitFor polls the store until cond holds for delivery id, and fails
// the test after 15 seconds.
func frWaitFor(t *testing.T, sys *hookflowtest.System, id, what string, cond func(*hookflow.Delivery) bool) *hookflow.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, _, err := sys.Store.GetDelivery(context.Background(), id)
		if err == nil && cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s: waited for %s; have %s", id, what, frDescribe(d))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func frDescribe(d *hookflow.Delivery) string {
	if d == nil {
		return "no delivery"
	}
	return fmt.Sprintf("state %s, attempts %d, last status %d, last error %q",
		d.State, d.Attempts, d.LastStatus, d.LastError)
}

// frQuiet gives the sender several poll intervals to do something it must
// not do. It proves nothing on its own; tests use it only before asserting
// that a count has not moved.
func frQuiet() { time.Sleep(150 * time.Millisecond) }

// frWaitCount waits until rcv has n requests.
func frWaitCount(t *testing.T, rcv *receiver.Receiver, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := rcv.WaitFor(ctx, n); err != nil {
		t.Fatal(err)
	}
}
