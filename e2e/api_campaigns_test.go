package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
)

func TestAPICampaignLifecycle(t *testing.T) {
	e := apStart(t)
	in := map[string]any{
		"name": "  welcome  ", "delivery_type": "action_based",
		"trigger":  map[string]any{"event": "signed_up", "delay_seconds": 60, "exception_events": []any{"left"}},
		"audience": map[string]any{"custom_attribute": map[string]any{"custom_attribute_name": "plan", "comparison": "exists"}},
		"webhook":  e.apHook("/w"),
	}
	var c hookflow.Campaign
	e.sys.MustDo(201, "POST", "/v1/campaigns", in, &c)
	if !strings.HasPrefix(c.ID, "cmp_") || c.Name != "welcome" || c.State != "active" || c.Version != 1 ||
		c.Reeligibility != nil || !c.CreatedAt.Equal(apT0) || c.Trigger.DelaySeconds != 60 {
		t.Errorf("created %+v", c)
	}
	var got hookflow.Campaign
	e.sys.MustDo(200, "GET", "/v1/campaigns/"+c.ID, nil, &got)
	if apJSON(got) != apJSON(c) {
		t.Errorf("read back\n%s\nwant\n%s", apJSON(got), apJSON(c))
	}

	// Update with the version read; a stale version is a conflict.
	in["name"], in["version"], in["reeligibility_seconds"] = "welcome v2", 1, 86400
	e.sys.MustDo(200, "PUT", "/v1/campaigns/"+c.ID, in, &got)
	if got.Version != 2 || got.Name != "welcome v2" || *got.Reeligibility != 86400 {
		t.Errorf("updated %+v", got)
	}
	status, body := e.sys.Do("PUT", "/v1/campaigns/"+c.ID, in)
	apError(t, status, body, 409, "campaign "+c.ID+" is at version 2, not 1: read it again and retry")
	in["state"] = "paused"
	delete(in, "version")
	status, body = e.sys.Do("PUT", "/v1/campaigns/"+c.ID, in)
	apError(t, status, body, 400, "state: cannot be changed by PUT; use /pause, /resume or /archive")

	// List, with the state filter.
	paused := e.apAPICampaign("other")
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+paused+"/pause", nil, nil)
	archived := e.apAPICampaign("old")
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+archived+"/archive", nil, nil)
	list := func(q string) string {
		var out struct{ Campaigns []hookflow.Campaign }
		e.sys.MustDo(200, "GET", "/v1/campaigns"+q, nil, &out)
		var names []string
		for _, c := range out.Campaigns {
			names = append(names, c.Name+":"+c.State)
		}
		return strings.Join(apSorted(names), ",")
	}
	for q, want := range map[string]string{
		"":                "old:archived,other:paused,welcome v2:active",
		"?state=active":   "welcome v2:active",
		"?state=paused":   "other:paused",
		"?state=archived": "old:archived",
	} {
		if got := list(q); got != want {
			t.Errorf("list%s = %s, want %s", q, got, want)
		}
	}
	status, body = e.sys.Do("GET", "/v1/campaigns?state=gone", nil)
	apError(t, status, body, 400, `state: must be active, paused or archived, not "gone"`)
	status, body = e.sys.Do("GET", "/v1/campaigns?status=paused", nil)
	apError(t, status, body, 400, "status: is not a parameter here; use state")

	// A new campaign may start paused.
	in["state"], in["name"] = "paused", "starts paused"
	e.sys.MustDo(201, "POST", "/v1/campaigns", in, &got)
	if got.State != "paused" {
		t.Errorf("state %s", got.State)
	}

	for _, path := range []string{"GET /v1/campaigns/cmp_x", "PUT /v1/campaigns/cmp_x", "POST /v1/campaigns/cmp_x/pause",
		"POST /v1/campaigns/cmp_x/resume", "POST /v1/campaigns/cmp_x/archive", "GET /v1/campaigns/cmp_x/stats"} {
		method, p, _ := strings.Cut(path, " ")
		var b any
		if method == "PUT" {
			b = in
		}
		status, body := e.sys.Do(method, p, b)
		apError(t, status, body, 404, `no campaign "cmp_x"`)
	}
}

func TestAPICampaignStats(t *testing.T) {
	e := apStart(t)
	id := e.apActionCampaign("s", "ping", map[string]any{
		"trigger_extra": map[string]any{"delay_seconds": 60, "exception_events": []any{"stop"}},
	})
	e.apEvent("u1", "ping", nil)
	e.apEvent("u2", "ping", nil)
	e.apEvent("u3", "ping", nil)
	e.apEvent("u3", "stop", nil)
	var st hookflow.CampaignStats
	e.sys.MustDo(200, "GET", "/v1/campaigns/"+id+"/stats", nil, &st)
	apWant(t, "before the delay", st, `{"sends":0,"delivered":0,"errors":0,"aborts":0,"pending":2,"cancelled":1,"unique_recipients":0}`)

	e.clock.Advance(61e9)
	e.apDeliver(e.sys.Deliveries(hookflow.DeliveryFilter{CampaignID: id, State: hookflow.StatePending}))
	e.apEvent("u1", "ping", nil) // pending again, 60 s away
	e.sys.MustDo(200, "GET", "/v1/campaigns/"+id+"/stats", nil, &st)
	apWant(t, "after", st, `{"sends":2,"delivered":2,"errors":0,"aborts":0,"pending":1,"cancelled":1,"unique_recipients":2}`)
}

func TestAPICampaignValidation(t *testing.T) {
	e := apStart(t)
	hook := e.apHook("/v")
	base := func(kv ...any) map[string]any {
		c := map[string]any{"name": "n", "delivery_type": "action_based",
			"trigger": map[string]any{"event": "e"}, "webhook": hook}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
				continue
			}
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	withHook := func(kv ...any) map[string]any {
		w := map[string]any{"method": "POST", "url": e.rcv.URL() + "/v", "body_type": "raw", "body_raw": "x"}
		for i := 0; i+1 < len(kv); i += 2 {
			w[kv[i].(string)] = kv[i+1]
		}
		return base("webhook", w)
	}
	tests := []struct {
		name    string
		body    any
		message string
	}{
		{"missing name", base("name", nil), "name: is required"},
		{"blank name", base("name", "   "), "name: is required"},
		{"long name", base("name", strings.Repeat("n", 201)), "name: is longer than 200 characters"},
		{"no webhook", base("webhook", nil), "webhook: is required"},
		{"no delivery type", base("delivery_type", nil), "delivery_type: is required: action_based or api_triggered"},
		{"bad delivery type", base("delivery_type", "scheduled"), `delivery_type: must be action_based or api_triggered, not "scheduled"`},
		{"action without trigger", base("trigger", nil), "trigger: is required for action_based campaigns"},
		{"api with trigger", base("delivery_type", "api_triggered"), "trigger: is only for action_based campaigns"},
		{"empty event", base("trigger", map[string]any{"event": " "}), "trigger.event: is required (or set purchase: true)"},
		{"event and purchase", base("trigger", map[string]any{"event": "e", "purchase": true}), "trigger: sets both event and purchase; choose one"},
		{"product without purchase", base("trigger", map[string]any{"event": "e", "product_id": "p"}), "trigger.product_id: needs purchase: true"},
		{"exceptions without delay", base("trigger", map[string]any{"event": "e", "exception_events": []any{"x"}}),
			"trigger.exception_events: need a delay: an exception can only cancel a send that is still waiting"},
		{"empty exception", base("trigger", map[string]any{"event": "e", "delay_seconds": 5, "exception_events": []any{"x", ""}}),
			"trigger.exception_events[1]: is empty"},
		{"delay too long", base("trigger", map[string]any{"event": "e", "delay_seconds": 30*86400 + 1}),
			"trigger.delay_seconds: must be between 0 and 2592000 (30 days)"},
		{"bad filter op", base("trigger", map[string]any{"event": "e", "filters": []any{
			map[string]any{"property": "a", "op": "exists"}, map[string]any{"property": "b", "op": "between", "value": 1}}}),
			`trigger.filters[1].op: unknown op "between"; want one of equals, not_equals, greater_than, less_than, exists, does_not_exist, contains`},
		{"bad filter value", base("trigger", map[string]any{"event": "e", "filters": []any{
			map[string]any{"property": "a", "op": "greater_than", "value": true}}}),
			"trigger.filters[0].value: must be a number or a time string for op greater_than"},
		{"bad audience path", base("audience", map[string]any{"OR": []any{
			map[string]any{"custom_attribute": map[string]any{"custom_attribute_name": "a", "comparison": "exists"}},
			map[string]any{"custom_attribute": map[string]any{"custom_attribute_name": "b", "comparison": "equals", "value": []any{1}}}}}),
			"audience.OR[1].custom_attribute.value: must be a string, number or boolean (comparison equals)"},
		{"audience unknown key", base("audience", map[string]any{"AND": []any{map[string]any{"segment": "x"}}}),
			"audience.AND[0].segment: unknown filter; want one of AND, OR, custom_attribute, email_subscription_status, push_subscription_status, last_used_app"},
		{"reeligibility negative", base("reeligibility_seconds", -1),
			"reeligibility_seconds: must be between 0 and 62208000 (720 days), or null for once per user"},
		{"template error with line", withHook("body_raw", "line one\n{{ ${first_name} | }}\n"),
			`webhook.body_raw: line 2: syntax error in "${first_name} |" in {{ ${first_name} |}}`},
		{"unclosed tag", withHook("body_raw", "a\nb\n{% if x %}"),
			`webhook.body_raw: line 3: unterminated "if" block in {% if x %}`},
		{"bad method", withHook("method", "PATCH"), `webhook.method: must be POST, GET, PUT or DELETE, not "PATCH"`},
		{"bad body type", withHook("body_type", "xml"), `webhook.body_type: must be json, raw or none, not "xml"`},
		{"bad header name", withHook("headers", []any{map[string]any{"name": "X Bad", "value": "v"}}), `webhook.headers[0].name: "X Bad" is not a valid header name`},
		{"unknown field", base("delay", 5), `unknown field "delay"`},
		{"unknown trigger field", base("trigger", map[string]any{"event": "e", "delay": 5}), `trigger: unknown field "delay"`},
		{"wrong type", base("name", 5), "name: expected string, got JSON number"},
		{"bad state", base("state", "archived"), `state: must be active or paused, not "archived"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.sys.Do("POST", "/v1/campaigns", tt.body)
			apError(t, status, body, 400, tt.message)
		})
	}
	var out struct{ Campaigns []json.RawMessage }
	e.sys.MustDo(200, "GET", "/v1/campaigns", nil, &out)
	if len(out.Campaigns) != 0 {
		t.Errorf("%d campaigns stored by refused requests", len(out.Campaigns))
	}
}
