package e2e

// Validation of the Braze-compatible endpoints that the per-family tests
// leave out: each case is one refused request with its exact status and
// message, and a refused request changes nothing.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
)

func TestBrazeValidationMoreErrors(t *testing.T) {
	e := apStart(t)
	e.scUsers()
	c := e.apAPICampaign("v")
	act := e.apActionCampaign("act", "ping", nil)
	archived := e.apAPICampaign("old")
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+archived+"/archive", nil, nil)
	open := e.scSchedule("/campaigns/trigger/schedule/create", map[string]any{
		"campaign_id": c, "recipients": []any{map[string]any{"external_user_id": "u1"}}, "schedule": scAt(time.Hour),
	})
	block := cbCreate(t, e, `{"name": "footer", "content": "x"}`)
	msg := e.scSchedule("/messages/schedule/create", map[string]any{
		"external_user_ids": []any{"u1"}, "schedule": scAt(time.Hour),
		"messages": map[string]any{"webhook": map[string]any{"url": e.rcv.URL() + "/m", "request_method": "POST"}},
	})
	hook := map[string]any{"webhook": map[string]any{"url": e.rcv.URL() + "/m", "request_method": "POST"}}
	var many []any
	for i := range 51 {
		many = append(many, map[string]any{"external_user_id": fmt.Sprint("u", i)})
	}
	before := e.apSnapshot()

	tests := []struct {
		name, method, path string
		body               any
		status             int
		message            string
	}{
		{"block without name", "POST", "/content_blocks/create", `{"content": "y"}`, 400, "name: is required"},
		{"update without id", "POST", "/content_blocks/update", `{"content": "y"}`, 400, "content_block_id: is required"},
		{"update to a bad state", "POST", "/content_blocks/update", `{"content_block_id": "` + block + `", "state": "gone"}`,
			400, `state: must be active or draft, not "gone"`},
		{"list with a bad offset", "GET", "/content_blocks/list?offset=-1", nil,
			400, `offset: must be a whole number from 0 to 2147483647, not "-1"`},
		{"schedule of an unknown campaign", "POST", "/campaigns/trigger/schedule/create",
			map[string]any{"campaign_id": "cmp_nope", "recipients": []any{map[string]any{"external_user_id": "u1"}}, "schedule": scAt(time.Hour)},
			404, `campaign_id: no campaign "cmp_nope"`},
		{"schedule of an action-based campaign", "POST", "/campaigns/trigger/schedule/create",
			map[string]any{"campaign_id": act, "recipients": []any{map[string]any{"external_user_id": "u1"}}, "schedule": scAt(time.Hour)},
			400, `campaign_id: campaign "` + act + `" is action_based; only api_triggered campaigns can be sent through this endpoint`},
		{"schedule of an archived campaign", "POST", "/campaigns/trigger/schedule/create",
			map[string]any{"campaign_id": archived, "recipients": []any{map[string]any{"external_user_id": "u1"}}, "schedule": scAt(time.Hour)},
			400, `campaign_id: campaign "` + archived + `" is archived; archived campaigns cannot send`},
		{"schedule of 51 recipients", "POST", "/campaigns/trigger/schedule/create",
			map[string]any{"campaign_id": c, "recipients": many, "schedule": scAt(time.Hour)},
			400, "recipients: has 51 entries; at most 50 are allowed per request"},
		{"campaign schedule update without schedule_id", "POST", "/campaigns/trigger/schedule/update",
			map[string]any{"campaign_id": c, "schedule": scAt(time.Hour)}, 400, "schedule_id: is required"},
		{"campaign schedule update with a bad time", "POST", "/campaigns/trigger/schedule/update",
			map[string]any{"campaign_id": c, "schedule_id": open.ScheduleID, "schedule": map[string]any{"time": "noon"}},
			400, `schedule.time: "noon" is not an ISO-8601 time such as 2026-03-01T12:00:00Z`},
		{"message schedule with a bad time", "POST", "/messages/schedule/create",
			map[string]any{"broadcast": true, "messages": hook, "schedule": map[string]any{"time": "2026-13-01T00:00:00Z"}},
			400, `schedule.time: "2026-13-01T00:00:00Z" is not an ISO-8601 time such as 2026-03-01T12:00:00Z`},
		{"message schedule in the past", "POST", "/messages/schedule/create",
			map[string]any{"broadcast": true, "messages": hook, "schedule": scAt(-time.Minute)}, 400, "schedule.time: is in the past"},
		{"message schedule of 51 users", "POST", "/messages/schedule/create",
			map[string]any{"external_user_ids": make([]string, 51), "messages": hook, "schedule": scAt(time.Hour)},
			400, "external_user_ids: and user_aliases name 51 users; at most 50 are allowed per request"},
		{"message schedule update without schedule_id", "POST", "/messages/schedule/update",
			map[string]any{"schedule": scAt(time.Hour)}, 400, "schedule_id: is required"},
		{"message schedule update of an unknown id", "POST", "/messages/schedule/update",
			map[string]any{"schedule_id": "sch_nope", "schedule": scAt(time.Hour)}, 404, `schedule_id: no schedule "sch_nope"`},
		{"message schedule update with a bad time", "POST", "/messages/schedule/update",
			map[string]any{"schedule_id": msg.ScheduleID, "schedule": map[string]any{"time": "later"}},
			400, `schedule.time: "later" is not an ISO-8601 time such as 2026-03-01T12:00:00Z`},
		{"message schedule update with nothing", "POST", "/messages/schedule/update",
			map[string]any{"schedule_id": msg.ScheduleID}, 400, "schedule: is required unless messages is given"},
		{"message schedule delete without id", "POST", "/messages/schedule/delete", `{}`, 400, "schedule_id: is required"},
		{"broadcasts with a bad end_time", "GET", "/messages/scheduled_broadcasts?end_time=tomorrow", nil,
			400, `end_time: "tomorrow" is not an ISO-8601 time such as 2026-03-01T12:00:00Z`},
		{"data series of an unknown campaign", "GET", "/campaigns/data_series?campaign_id=cmp_nope&length=1", nil,
			404, `campaign_id: no campaign "cmp_nope"`},
		{"data series without campaign", "GET", "/campaigns/data_series?length=1", nil, 400, "campaign_id: is required"},
		{"send series of an unknown campaign", "GET", "/sends/data_series?campaign_id=cmp_nope&send_id=s&length=1", nil,
			404, `campaign_id: no campaign "cmp_nope"`},
		{"send series with a bad length", "GET", "/sends/data_series?campaign_id=" + c + "&send_id=s&length=0", nil,
			400, `length: must be a whole number from 1 to 100, not "0"`},
		{"transactional without recipient", "POST", "/transactional/v1/campaigns/" + c + "/send", `{"trigger_properties": {}}`,
			400, "recipient.external_user_id: is required"},
		{"export with too many", "POST", "/users/export/ids", map[string]any{"external_ids": make([]string, 51)},
			400, "51 users named; at most 50 are allowed per request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.sys.Do(tt.method, tt.path, tt.body)
			apError(t, status, body, tt.status, tt.message)
		})
	}
	if after := e.apSnapshot(); after != before {
		t.Errorf("refused requests changed the store:\n%s\nwant\n%s", after, before)
	}
}

func TestBrazeScopesOfEveryOtherEndpoint(t *testing.T) {
	e := apStart(t)
	key, secret := api.NewKey("reader", []string{hookflow.ScopeCampaignsRead}, e.clock.Now())
	if err := e.sys.Store.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, path, scope string }{
		{"POST", "/users/track", "users.track"},
		{"GET", "/campaigns/list", "campaigns.list"},
		{"POST", "/content_blocks/create", "content_blocks.create"},
		{"POST", "/content_blocks/update", "content_blocks.update"},
		{"GET", "/content_blocks/list", "content_blocks.list"},
		{"GET", "/content_blocks/info?content_block_id=x", "content_blocks.info"},
	} {
		status, body := e.sys.DoKey(secret, tt.method, tt.path, "{}")
		apError(t, status, body, 403, `API key "reader" lacks the `+tt.scope+` permission`)
	}
}

// Every call of a valid key is counted and says so in its X-RateLimit-*
// headers, whatever it answers; a call from outside the key's allow-list
// and a call without a valid key carry none.
func TestBrazeRateLimitHeadersOnEveryResponse(t *testing.T) {
	e := apStart(t)
	lister := bcKey(t, e.sys.Store, "lister", nil, hookflow.ScopeCampaignsList)
	fenced := bcKey(t, e.sys.Store, "fenced", []string{"10.0.0.0/8"}, hookflow.ScopeAll)
	reset := fmt.Sprint(apT0.Add(time.Hour).Unix())

	for _, tt := range []struct {
		key, method, path, body string
		status                  int
		want                    string
	}{
		{lister, "GET", "/campaigns/list", "", 200, "249999"},
		{lister, "GET", "/campaigns/details?campaign_id=x", "", 403, "249998"},
		{lister, "POST", "/email/status", "{}", 501, "249997"},
		{e.sys.Key, "GET", "/campaigns/details?campaign_id=nope", "", 404, "249999"},
		{e.sys.Key, "POST", "/users/track", `{}`, 400, "249998"},
		{e.sys.Key, "POST", "/users/track", `{"attributes":[{"external_id":"u1"}]}`, 201, "249997"},
		{e.sys.Key, "POST", "/canvas/trigger/send", "{}", 501, "249996"},
	} {
		status, h, body := bcDo(t, e.sys.URL, tt.key, tt.method, tt.path, tt.body)
		if status != tt.status || h.Get("X-RateLimit-Limit") != "250000" ||
			h.Get("X-RateLimit-Remaining") != tt.want || h.Get("X-RateLimit-Reset") != reset {
			t.Errorf("%s %s: %d %s with limit %q remaining %q reset %q; want %d with 250000 %s %s",
				tt.method, tt.path, status, body, h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"),
				h.Get("X-RateLimit-Reset"), tt.status, tt.want, reset)
		}
	}

	for _, key := range []string{fenced, "", "hf_unknown"} {
		status, h, _ := bcDo(t, e.sys.URL, key, "GET", "/campaigns/list", "")
		if status != 403 && status != 401 || h.Get("X-RateLimit-Remaining") != "" {
			t.Errorf("key %q: %d with remaining %q; want 401 or 403 without rate-limit headers",
				key, status, h.Get("X-RateLimit-Remaining"))
		}
	}
}
