package e2e

import (
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
)

// apSent is the answer to an API send.
type apSent struct {
	DispatchID string           `json:"dispatch_id"`
	Message    string           `json:"message"`
	Errors     []map[string]any `json:"errors"`
}

func (e *apEnv) apTriggerSend(body any) apSent {
	e.t.Helper()
	var out apSent
	e.sys.MustDo(201, "POST", "/campaigns/trigger/send", body, &out)
	if out.Message != "success" || out.DispatchID == "" {
		e.t.Fatalf("send answered %+v", out)
	}
	return out
}

func TestAPITriggerSendRecipients(t *testing.T) {
	e := apStart(t)
	id := e.apAPICampaign("ship",
		"order", "{{api_trigger_properties.${order}}}",
		"carrier", "{{api_trigger_properties.${carrier} | default: 'post'}}",
		"nested", "{{api_trigger_properties.${box}.size}}",
		"send", "{{campaign.${send_id}}}",
		"dispatch", "{{campaign.${dispatch_id}}}",
		"plan", "{{custom_attribute.${plan}}}")
	e.sys.Track(`{"attributes":[{"external_id":"u1","plan":"pro"},{"external_id":"u2","plan":"free"},
		{"user_alias":{"alias_name":"a9","alias_label":"crm"},"plan":"alias"}]}`)

	sent := e.apTriggerSend(map[string]any{
		"campaign_id": id, "send_id": "blast-1",
		"trigger_properties": map[string]any{"order": "A-1", "carrier": "ups", "box": map[string]any{"size": "L"}},
		"recipients": []any{
			map[string]any{"external_user_id": "u1", "trigger_properties": map[string]any{"order": "B-2"}},
			map[string]any{"external_user_id": "u2"},
			map[string]any{"external_user_id": "u1", "trigger_properties": map[string]any{"order": "dup"}},
			map[string]any{"user_alias": map[string]any{"alias_name": "a9", "alias_label": "crm"}},
			map[string]any{"external_user_id": "nobody"},
			map[string]any{"external_user_id": "new", "send_to_existing_only": false,
				"attributes": map[string]any{"plan": "fresh", "visits": map[string]any{"inc": 1}}},
		},
	})
	if len(sent.Errors) != 0 {
		t.Errorf("errors %v", sent.Errors)
	}
	ds := e.sys.Deliveries(hookflow.DeliveryFilter{DispatchID: sent.DispatchID})
	if len(ds) != 4 {
		t.Fatalf("%d deliveries, want 4 (u1 once, u2, alias, new)", len(ds))
	}
	e.apDeliver(ds)
	d := sent.DispatchID
	apWant(t, "bodies", e.apBodies(4), `[`+
		`{"carrier":"ups","dispatch":"`+d+`","nested":"L","order":"A-1","plan":"alias","send":"blast-1","user":""},`+
		`{"carrier":"ups","dispatch":"`+d+`","nested":"L","order":"A-1","plan":"free","send":"blast-1","user":"u2"},`+
		`{"carrier":"ups","dispatch":"`+d+`","nested":"L","order":"A-1","plan":"fresh","send":"blast-1","user":"new"},`+
		`{"carrier":"ups","dispatch":"`+d+`","nested":"L","order":"B-2","plan":"pro","send":"blast-1","user":"u1"}]`)

	_, u := e.apUser("new")
	apWant(t, "created user", u.Attributes, `{"plan":"fresh","visits":1}`)
	if status, _ := e.apUser("nobody"); status != 404 {
		t.Errorf("send_to_existing_only default created a user: %d", status)
	}

	// The dispatch id filters the activity log.
	var log struct {
		Deliveries []struct {
			DispatchID string `json:"dispatch_id"`
			SendID     string `json:"send_id"`
			CampaignID string `json:"campaign_id"`
		} `json:"deliveries"`
	}
	e.sys.MustDo(200, "GET", "/v1/deliveries?dispatch_id="+d, nil, &log)
	if len(log.Deliveries) != 4 {
		t.Fatalf("log: %d deliveries", len(log.Deliveries))
	}
	for _, l := range log.Deliveries {
		if l.DispatchID != d || l.SendID != "blast-1" || l.CampaignID != id {
			t.Errorf("log entry %+v", l)
		}
	}
	e.sys.MustDo(200, "GET", "/v1/deliveries?dispatch_id=other", nil, &log)
	if len(log.Deliveries) != 0 {
		t.Errorf("unknown dispatch id listed %d", len(log.Deliveries))
	}
}

func TestAPITriggerSendBroadcastAndAudience(t *testing.T) {
	e := apStart(t)
	id := e.apAPICampaign("news", "tier", "{{custom_attribute.${tier}}}")
	e.sys.Track(`{"attributes":[{"external_id":"g1","tier":"gold"},{"external_id":"s1","tier":"silver"},
		{"external_id":"g2","tier":"gold"}]}`)

	all := e.apTriggerSend(map[string]any{"campaign_id": id, "broadcast": true})
	gold := e.apTriggerSend(map[string]any{"campaign_id": id, "audience": map[string]any{"custom_attribute": map[string]any{
		"custom_attribute_name": "tier", "comparison": "equals", "value": "gold"}}})
	silverListed := e.apTriggerSend(map[string]any{"campaign_id": id,
		"audience":   map[string]any{"custom_attribute": map[string]any{"custom_attribute_name": "tier", "comparison": "equals", "value": "silver"}},
		"recipients": []any{map[string]any{"external_user_id": "g1"}, map[string]any{"external_user_id": "s1"}}})

	users := func(dispatch string) string {
		var ids []string
		for _, d := range e.sys.Deliveries(hookflow.DeliveryFilter{DispatchID: dispatch}) {
			ids = append(ids, d.ExternalID)
		}
		return strings.Join(apSorted(ids), ",")
	}
	if got := users(all.DispatchID); got != "g1,g2,s1" {
		t.Errorf("broadcast reached %s", got)
	}
	if got := users(gold.DispatchID); got != "g1,g2" {
		t.Errorf("gold audience reached %s", got)
	}
	if got := users(silverListed.DispatchID); got != "s1" {
		t.Errorf("audience with recipients reached %s", got)
	}
}

func TestAPITriggerSendErrors(t *testing.T) {
	e := apStart(t)
	api := e.apAPICampaign("api")
	action := e.apActionCampaign("action", "ping", nil)
	paused := e.apAPICampaign("paused")
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+paused+"/pause", nil, nil)
	archived := e.apAPICampaign("archived")
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+archived+"/archive", nil, nil)
	e.sys.Track(`{"attributes":[{"external_id":"u1","plan":"pro"}]}`)
	before := e.apSnapshot()

	one := []any{map[string]any{"external_user_id": "u1"}}
	var many []any
	for i := range 51 {
		many = append(many, map[string]any{"external_user_id": "u" + string(rune('A'+i))})
	}
	big := map[string]any{"blob": strings.Repeat("x", 50<<10)}
	tests := []struct {
		name    string
		body    any
		status  int
		message string
	}{
		{"missing campaign_id", map[string]any{"recipients": one}, 400, "campaign_id: is required"},
		{"unknown campaign", map[string]any{"campaign_id": "cmp_nope", "recipients": one}, 404,
			`campaign_id: no campaign "cmp_nope"`},
		{"action based", map[string]any{"campaign_id": action, "recipients": one}, 400,
			`campaign_id: campaign "` + action + `" is action_based; only api_triggered campaigns can be sent through this endpoint`},
		{"paused", map[string]any{"campaign_id": paused, "recipients": one}, 400,
			`campaign_id: campaign "` + paused + `" is paused; resume it first`},
		{"archived", map[string]any{"campaign_id": archived, "recipients": one}, 400,
			`campaign_id: campaign "` + archived + `" is archived; archived campaigns cannot send`},
		{"51 recipients", map[string]any{"campaign_id": api, "recipients": many}, 400,
			"recipients: has 51 entries; at most 50 are allowed per request"},
		{"broadcast and recipients", map[string]any{"campaign_id": api, "broadcast": true, "recipients": one}, 400,
			"broadcast: cannot be true when recipients are given"},
		{"nobody", map[string]any{"campaign_id": api}, 400,
			"recipients: are required unless broadcast is true or an audience is given"},
		{"two identifiers", map[string]any{"campaign_id": api, "recipients": []any{
			map[string]any{"external_user_id": "u1"},
			map[string]any{"external_user_id": "u1", "email": "a@example.com"}}}, 400,
			"recipients[1]: must name the user by exactly one of external_user_id, user_alias or email"},
		{"no identifier", map[string]any{"campaign_id": api, "recipients": []any{map[string]any{}}}, 400,
			"recipients[0]: must name the user by exactly one of external_user_id, user_alias or email"},
		{"top trigger_properties too big", map[string]any{"campaign_id": api, "recipients": one, "trigger_properties": big}, 400,
			"trigger_properties: is 51211 bytes; at most 51200 are allowed"},
		{"recipient trigger_properties too big", map[string]any{"campaign_id": api, "recipients": []any{
			map[string]any{"external_user_id": "u1", "trigger_properties": big}}}, 400,
			"recipients[0].trigger_properties: is 51211 bytes; at most 51200 are allowed"},
		{"alias created", map[string]any{"campaign_id": api, "recipients": []any{
			map[string]any{"user_alias": map[string]any{"alias_name": "x", "alias_label": "y"}, "send_to_existing_only": false}}}, 400,
			"recipients[0].send_to_existing_only: can be false only with an external_user_id"},
		{"bad attributes", map[string]any{"campaign_id": api, "recipients": []any{
			map[string]any{"external_user_id": "u9", "send_to_existing_only": false, "attributes": map[string]any{"email": "nope"}}}}, 400,
			`recipients[0].attributes: 'email' is not a valid email address: "nope"`},
		{"bad audience", map[string]any{"campaign_id": api, "audience": map[string]any{"AND": []any{
			map[string]any{"custom_attribute": map[string]any{"custom_attribute_name": "x", "comparison": "bigger", "value": 1}}}}}, 400,
			`audience.AND[0].custom_attribute.comparison: unknown comparison "bigger"; want one of equals, not_equal, ` +
				"matches_regex, does_not_match_regex, includes_value, does_not_include_value, greater_than, " +
				"greater_than_or_equal_to, less_than, less_than_or_equal_to, less_than_x_days_ago, greater_than_x_days_ago, " +
				"less_than_x_days_in_the_future, greater_than_x_days_in_the_future, after, before, exists, does_not_exist"},
		{"unknown field", map[string]any{"campaign_id": api, "recipients": one, "recipient": one}, 400,
			`unknown field "recipient"`},
		{"long send_id", map[string]any{"campaign_id": api, "recipients": one, "send_id": strings.Repeat("s", 65)}, 400,
			"send_id: is longer than 64 characters"},
		{"not JSON", `{"campaign_id": }`, 400,
			"request body is not valid JSON: invalid character '}' looking for beginning of value (at byte 17)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.sys.Do("POST", "/campaigns/trigger/send", tt.body)
			apError(t, status, body, tt.status, tt.message)
			if after := e.apSnapshot(); after != before {
				t.Errorf("store changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func apSorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
