package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func TestAPITriggerEventNameAndPropertyFilters(t *testing.T) {
	e := apStart(t)
	filters := []struct {
		name   string
		filter map[string]any
	}{
		{"eq", map[string]any{"property": "plan", "op": "equals", "value": "pro"}},
		{"ne", map[string]any{"property": "plan", "op": "not_equals", "value": "free"}},
		{"gt", map[string]any{"property": "cart.total", "op": "greater_than", "value": 100}},
		{"lt", map[string]any{"property": "cart.total", "op": "less_than", "value": 200}},
		{"ex", map[string]any{"property": "coupon", "op": "exists"}},
		{"dne", map[string]any{"property": "refund", "op": "does_not_exist"}},
		{"con", map[string]any{"property": "tags", "op": "contains", "value": "vip"}},
		{"sub", map[string]any{"property": "plan", "op": "contains", "value": "r"}},
	}
	ids := map[string]string{}
	for _, f := range filters {
		ids[f.name] = e.apActionCampaign(f.name, "checkout", map[string]any{
			"trigger_extra": map[string]any{"filters": []any{f.filter}},
		})
	}
	other := e.apActionCampaign("other", "browse", nil)

	tests := []struct {
		props map[string]any
		want  []string // campaigns that fire
	}{
		{map[string]any{"plan": "pro", "cart": map[string]any{"total": 150}, "coupon": "X", "tags": []any{"vip", "new"}},
			[]string{"eq", "ne", "gt", "lt", "ex", "dne", "con", "sub"}},
		{map[string]any{"plan": "free", "cart": map[string]any{"total": 250}, "refund": true, "tags": []any{"new"}},
			[]string{"gt", "sub"}},
		{map[string]any{"plan": "basic", "cart": map[string]any{"total": 50.5}, "coupon": nil, "tags": "vip"},
			[]string{"ne", "lt", "dne", "con"}},
		{map[string]any{"cart": map[string]any{"total": "150"}},
			[]string{"ne", "dne"}},
	}
	for i, tt := range tests {
		uid := "u" + string(rune('a'+i))
		e.apEvent(uid, "checkout", tt.props)
		for _, f := range filters {
			want := 0
			for _, w := range tt.want {
				if w == f.name {
					want = 1
				}
			}
			got := len(e.sys.Deliveries(hookflow.DeliveryFilter{CampaignID: ids[f.name], UserID: uid}))
			if got != want {
				t.Errorf("props %v, filter %s: %d deliveries, want %d", tt.props, f.name, got, want)
			}
		}
	}
	if n := len(e.apDeliveries(other)); n != 0 {
		t.Errorf("campaign on another event fired %d times", n)
	}
}

func TestAPITriggerPurchase(t *testing.T) {
	e := apStart(t)
	anyID := e.sys.CreateCampaign(map[string]any{
		"name": "any purchase", "delivery_type": "action_based", "reeligibility_seconds": 0,
		"trigger": map[string]any{"purchase": true},
		"webhook": e.apHook("/any", "product", "{{event_properties.${product_id}}}",
			"price", "{{event_properties.${price}}}", "currency", "{{event_properties.${currency}}}",
			"qty", "{{event_properties.${quantity}}}", "color", "{{event_properties.${color}}}"),
	})
	shoes := e.sys.CreateCampaign(map[string]any{
		"name": "shoes", "delivery_type": "action_based", "reeligibility_seconds": 0,
		"trigger": map[string]any{"purchase": true, "product_id": "shoes",
			"filters": []any{map[string]any{"property": "price", "op": "greater_than", "value": 50}}},
		"webhook": e.apHook("/shoes"),
	})
	event := e.apActionCampaign("event", "shoes", nil) // a custom event of the same name

	e.sys.Track(`{"purchases":[
		{"external_id":"u1","product_id":"shoes","currency":"eur","price":79.5,"quantity":2,"time":"2026-12-03T09:00:00Z","properties":{"color":"red"}},
		{"external_id":"u2","product_id":"hat","currency":"USD","price":20,"time":"2026-12-03T09:00:00Z"},
		{"external_id":"u3","product_id":"shoes","currency":"USD","price":30,"time":"2026-12-03T09:00:00Z"}]}`)

	if n := len(e.apDeliveries(anyID)); n != 3 {
		t.Errorf("any purchase: %d deliveries, want 3", n)
	}
	ds := e.apDeliveries(shoes)
	if len(ds) != 1 || ds[0].ExternalID != "u1" {
		t.Errorf("shoes over 50: %d deliveries", len(ds))
	}
	if n := len(e.apDeliveries(event)); n != 0 {
		t.Errorf("custom-event campaign fired on a purchase %d times", n)
	}
	e.apDeliver(e.apDeliveries(anyID))
	e.apDeliver(ds)
	var u1 map[string]any
	for _, r := range e.rcv.Requests() {
		if r.Path() == "/any" {
			b := e.apBodyOf(r.Body)
			if b["user"] == "u1" {
				u1 = b
			}
		}
	}
	apWant(t, "u1 purchase body", u1,
		`{"color":"red","currency":"EUR","price":"79.5","product":"shoes","qty":"2","user":"u1"}`)
}

func TestAPITriggerDelayAndExceptionEvent(t *testing.T) {
	e := apStart(t)
	id := e.apActionCampaign("cart", "cart_abandoned", map[string]any{
		"trigger_extra": map[string]any{"delay_seconds": 3600, "exception_events": []any{"purchased"}},
	})

	// u1 does not purchase: the send waits for the clock, then goes.
	e.apEvent("u1", "cart_abandoned", nil)
	ds := e.apDeliveries(id)
	if len(ds) != 1 || ds[0].State != hookflow.StatePending || !ds[0].DueAt.Equal(apT0.Add(time.Hour)) {
		t.Fatalf("after the event: %+v", ds)
	}

	// u2 purchases during the delay: cancelled, and eligible again.
	e.apEvent("u2", "cart_abandoned", nil)
	e.clock.Advance(30 * time.Minute)
	e.apEvent("u2", "purchased", nil)
	u2 := e.sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id, UserID: "u2"})
	if len(u2) != 1 || u2[0].State != hookflow.StateCancelled || u2[0].AbortReason != `cancelled by exception event "purchased"` {
		t.Fatalf("u2 after the exception: %+v", u2[0])
	}
	if got := e.sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id, UserID: "u1"}); got[0].State != hookflow.StatePending {
		t.Errorf("u1's send was touched by u2's exception: %s", got[0].State)
	}
	if e.rcv.Count() != 0 {
		t.Fatalf("receiver got %d requests before the delay passed", e.rcv.Count())
	}

	e.clock.Advance(31 * time.Minute)
	e.sys.WaitState(ds[0].ID, hookflow.StateDelivered)
	bodies := e.apBodies(1)
	apWant(t, "bodies", bodies, `[{"user":"u1"}]`)

	// Campaign re-eligibility is 0 and the cancelled send does not count:
	// u2 gets the next one.
	e.apEvent("u2", "cart_abandoned", nil)
	u2 = e.sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id, UserID: "u2"})
	if len(u2) != 2 || u2[0].State != hookflow.StatePending {
		t.Fatalf("u2 after a new event: %d deliveries", len(u2))
	}
	e.clock.Advance(time.Hour)
	e.sys.WaitState(u2[0].ID, hookflow.StateDelivered)
	if e.rcv.Count() != 2 {
		t.Errorf("receiver got %d requests, want 2", e.rcv.Count())
	}
}

func TestAPITriggerExceptionKeepsOnceOnlyUserEligible(t *testing.T) {
	e := apStart(t)
	id := e.apActionCampaign("once", "cart_abandoned", map[string]any{
		"reeligibility_seconds": nil,
		"trigger_extra":         map[string]any{"delay_seconds": 60, "exception_events": []any{"purchased"}},
	})
	e.apEvent("u1", "cart_abandoned", nil)
	e.apEvent("u1", "purchased", nil)
	e.apEvent("u1", "cart_abandoned", nil)
	ds := e.apDeliveries(id)
	if len(ds) != 2 || ds[0].State != hookflow.StatePending || ds[1].State != hookflow.StateCancelled {
		t.Fatalf("deliveries: %d", len(ds))
	}
	// Once sent, a once-only campaign does not send again.
	e.clock.Advance(time.Minute)
	e.sys.WaitState(ds[0].ID, hookflow.StateDelivered)
	e.apEvent("u1", "cart_abandoned", nil)
	if n := len(e.apDeliveries(id)); n != 2 {
		t.Errorf("%d deliveries after a send, want 2", n)
	}
}

func TestAPITriggerAudienceSeesSameRequestAttributes(t *testing.T) {
	e := apStart(t)
	id := e.apActionCampaign("third", "flight_booked", map[string]any{
		"audience": map[string]any{"custom_attribute": map[string]any{
			"custom_attribute_name": "flights", "comparison": "equals", "value": 3}},
	})
	for i := range 4 {
		// The event precedes the attributes in the body; Braze applies
		// attributes first, so the third booking sees flights == 3.
		e.sys.Track(`{"events":[{"external_id":"u1","name":"flight_booked","time":"2026-12-03T09:00:00Z"}],
			"attributes":[{"external_id":"u1","flights":{"inc":1}}]}`)
		want := 0
		if i >= 2 {
			want = 1
		}
		if n := len(e.apDeliveries(id)); n != want {
			t.Errorf("after booking %d: %d deliveries, want %d", i+1, n, want)
		}
	}
}

func TestAPITriggerReeligibility(t *testing.T) {
	e := apStart(t)
	off := e.apActionCampaign("off", "ping", map[string]any{"reeligibility_seconds": nil})
	window := e.apActionCampaign("window", "ping", map[string]any{"reeligibility_seconds": 600})
	every := e.apActionCampaign("every", "ping", nil)

	counts := func() [3]int {
		return [3]int{len(e.apDeliveries(off)), len(e.apDeliveries(window)), len(e.apDeliveries(every))}
	}
	steps := []struct {
		advance time.Duration
		want    [3]int
	}{
		{0, [3]int{1, 1, 1}},
		{0, [3]int{1, 1, 2}},
		{599 * time.Second, [3]int{1, 1, 3}},
		{time.Second, [3]int{1, 2, 4}}, // exactly 600 s after the first send
		{time.Second, [3]int{1, 2, 5}},
		{24 * time.Hour, [3]int{1, 3, 6}},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		e.apEvent("u1", "ping", nil)
		if got := counts(); got != s.want {
			t.Errorf("event %d: deliveries (off, 600s, 0) = %v, want %v", i+1, got, s.want)
		}
	}
}

func TestAPITriggerPauseResumeArchive(t *testing.T) {
	e := apStart(t)
	id := e.apActionCampaign("p", "ping", nil)
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+id+"/pause", nil, nil)
	e.apEvent("u1", "ping", nil)
	if n := len(e.apDeliveries(id)); n != 0 {
		t.Fatalf("paused campaign sent %d", n)
	}
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+id+"/resume", nil, nil)
	e.apEvent("u1", "ping", nil)
	if n := len(e.apDeliveries(id)); n != 1 {
		t.Fatalf("resumed campaign: %d deliveries, want 1", n)
	}

	var c hookflow.Campaign
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+id+"/archive", nil, &c)
	if c.State != hookflow.CampaignArchived {
		t.Errorf("state %s after archive", c.State)
	}
	e.apEvent("u1", "ping", nil)
	if n := len(e.apDeliveries(id)); n != 1 {
		t.Errorf("archived campaign sent: %d deliveries", n)
	}
	status, body := e.sys.Do("POST", "/v1/campaigns/"+id+"/resume", nil)
	apError(t, status, body, 409, "campaign "+id+" is archived; archived campaigns cannot be resumed")
	status, body = e.sys.Do("POST", "/v1/campaigns/"+id+"/pause", nil)
	apError(t, status, body, 409, "campaign "+id+" is archived; archived campaigns cannot be paused")

	var before, after hookflow.Campaign
	e.sys.MustDo(200, "GET", "/v1/campaigns/"+id, nil, &before)
	status, body = e.sys.Do("PUT", "/v1/campaigns/"+id, map[string]any{
		"name": "edited", "delivery_type": "action_based", "trigger": map[string]any{"event": "ping"},
		"webhook": e.apHook("/edited"),
	})
	apError(t, status, body, 409, "campaign "+id+" is archived; archived campaigns cannot be edited (create a new campaign instead)")
	e.sys.MustDo(200, "GET", "/v1/campaigns/"+id, nil, &after)
	if before.Name == "" || after.Name != before.Name || after.Version != before.Version {
		t.Errorf("a refused edit changed the archived campaign: %+v, was %+v", after, before)
	}
}

func TestAPITriggerOneEventTwoCampaigns(t *testing.T) {
	e := apStart(t)
	a := e.apActionCampaign("a", "signed_up", nil)
	b := e.apActionCampaign("b", "signed_up", nil)
	e.sys.Track(`{"attributes":[{"external_id":"u1","coins":12}],
		"events":[{"external_id":"u1","name":"signed_up","time":"2026-12-03T09:00:00Z"}]}`)
	da, db := e.apDeliveries(a), e.apDeliveries(b)
	if len(da) != 1 || len(db) != 1 {
		t.Fatalf("deliveries %d and %d, want 1 each", len(da), len(db))
	}
	if da[0].DispatchID == "" || da[0].DispatchID != db[0].DispatchID {
		t.Errorf("dispatch ids %q and %q, want one", da[0].DispatchID, db[0].DispatchID)
	}
	e.apDeliver(append(da, db...))
	paths := map[string]int{}
	for _, r := range e.rcv.Requests() {
		paths[r.Path()]++
	}
	apWant(t, "paths", paths, `{"/a":1,"/b":1}`)

	// A second event is a new dispatch.
	e.apEvent("u1", "signed_up", nil)
	if d := e.apDeliveries(a); d[0].DispatchID == da[0].DispatchID {
		t.Errorf("second event reused dispatch %s", d[0].DispatchID)
	}
}

func TestAPITriggerRendersWholeNumbersWhole(t *testing.T) {
	e := apStart(t)
	id := e.sys.CreateCampaign(map[string]any{
		"name": "n", "delivery_type": "action_based", "reeligibility_seconds": 0,
		"trigger": map[string]any{"event": "ping"},
		"webhook": e.apHook("/n", "coins", "{{custom_attribute.${coins}}}", "level", "{{event_properties.${level}}}"),
	})
	e.sys.Track(`{"attributes":[{"external_id":"u1","coins":{"inc":5}}]}`)
	e.apEvent("u1", "ping", map[string]any{"level": 7})
	e.apDeliver(e.apDeliveries(id))
	apWant(t, "body", e.apBodies(1), `[{"coins":"5","level":"7","user":"u1"}]`)
}

// TestAPIStoreKeepsIntegersExact: stores keep whole numbers whole, so
// integers above 2^53 keep their last digits (9007199254740993 is not sent
// as ...992).
func TestAPIStoreKeepsIntegersExact(t *testing.T) {
	e := apStart(t)
	id := e.sys.CreateCampaign(map[string]any{
		"name": "n", "delivery_type": "action_based", "reeligibility_seconds": 0,
		"trigger": map[string]any{"event": "ping"},
		"webhook": e.apHook("/n", "big", "{{custom_attribute.${big}}}", "prop", "{{event_properties.${id}}}"),
	})
	e.sys.Track(`{"attributes":[{"external_id":"u1","big":9007199254740993}]}`)
	e.apEvent("u1", "ping", map[string]any{"id": int64(9007199254740995)})
	e.apDeliver(e.apDeliveries(id))
	apWant(t, "body", e.apBodies(1), `[{"big":"9007199254740993","prop":"9007199254740995","user":"u1"}]`)

	u, err := e.sys.Store.GetUser(context.Background(), hookflow.UserRef{ExternalID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := u.Attributes["big"].(int64); !ok || v != 9007199254740993 {
		t.Errorf("stored big = %T %v, want int64 9007199254740993", u.Attributes["big"], u.Attributes["big"])
	}
}

// TestAPITriggerExceptionOnPausedCampaign: a send already waiting out its
// delay still goes when its campaign is paused (the API's rule), so an
// exception event must still cancel it.
func TestAPITriggerExceptionOnPausedCampaign(t *testing.T) {
	e := apStart(t)
	id := e.apActionCampaign("cart", "cart_abandoned", map[string]any{
		"trigger_extra": map[string]any{"delay_seconds": 60, "exception_events": []any{"purchased"}},
	})
	e.apEvent("u1", "cart_abandoned", nil)
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+id+"/pause", nil, nil)
	e.apEvent("u1", "purchased", nil)
	ds := e.apDeliveries(id)
	if len(ds) != 1 || ds[0].State != hookflow.StateCancelled {
		t.Errorf("delivery state %s after the exception, want cancelled", ds[0].State)
	}
}
