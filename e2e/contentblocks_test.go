package e2e

// Content blocks through the Braze-shaped API: a campaign that includes a
// block sends it rendered for each user, and an edit reaches the next send.
// Helper names start with "cb".

import (
	"encoding/json"
	"testing"
)

// cbCreate creates a block and returns its id.
func cbCreate(t *testing.T, e *apEnv, body string) string {
	t.Helper()
	status, data := e.sys.Do("POST", "/content_blocks/create", body)
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil || status != 201 {
		t.Fatalf("create: %d %s", status, data)
	}
	id, _ := raw["content_block_id"].(string)
	if raw["message"] != "success" || raw["created_at"] == "" || id == "" {
		t.Fatalf("create answered %s", data)
	}
	return id
}

// cbSend triggers campaign id for external user uid and returns the body
// of the n-th request at the receiver, the one this send causes.
func cbSend(t *testing.T, e *apEnv, id, uid string, n int) map[string]any {
	t.Helper()
	status, data := e.sys.Do("POST", "/campaigns/trigger/send",
		`{"campaign_id": "`+id+`", "recipients": [{"external_user_id": "`+uid+`"}]}`)
	if status != 201 {
		t.Fatalf("trigger send: %d %s", status, data)
	}
	e.apBodies(n)
	return e.apBodyOf(e.rcv.Requests()[n-1].Body)
}

func TestContentBlockInCampaignFollowsEdits(t *testing.T) {
	e := apStart(t)
	e.sys.Track(map[string]any{"attributes": []any{
		map[string]any{"external_id": "u1", "first_name": "Ann"},
	}})
	blockID := cbCreate(t, e, `{"name": "footer", "description": "sign-off",
		"content": "Bye {{${first_name}}}{% if tone %} ({{tone}}){% endif %}", "tags": ["legal"]}`)

	campaign := e.apAPICampaign("cb", "text", `{% assign tone = "warm" %}Hi. {{content_blocks.${footer}}}`)
	first := cbSend(t, e, campaign, "u1", 1)
	if first["text"] != "Hi. Bye Ann (warm)" {
		t.Errorf("first body text = %q, want %q", first["text"], "Hi. Bye Ann (warm)")
	}

	status, data := e.sys.Do("POST", "/content_blocks/update",
		`{"content_block_id": "`+blockID+`", "content": "See you, {{${first_name}}}"}`)
	if status != 201 {
		t.Fatalf("update: %d %s", status, data)
	}
	second := cbSend(t, e, campaign, "u1", 2)
	if second["text"] != "Hi. See you, Ann" {
		t.Errorf("body after the edit = %q, want %q", second["text"], "Hi. See you, Ann")
	}

	status, data = e.sys.Do("GET", "/content_blocks/info?content_block_id="+blockID+"&include_inclusion_data=true", nil)
	var info map[string]any
	if err := json.Unmarshal(data, &info); err != nil || status != 200 {
		t.Fatalf("info: %d %s", status, data)
	}
	want := map[string]any{
		"content_block_id": blockID, "name": "footer", "content": "See you, {{${first_name}}}",
		"description": "sign-off", "content_type": "text", "tags": []any{"legal"},
		"inclusion_count": float64(1), "inclusion_data": []any{map[string]any{"campaign_id": campaign}},
		"message": "success",
	}
	for k, v := range want {
		if apJSON(info[k]) != apJSON(v) {
			t.Errorf("info[%s] = %s, want %s", k, apJSON(info[k]), apJSON(v))
		}
	}

	status, data = e.sys.Do("GET", "/content_blocks/list?limit=10", nil)
	var list struct {
		Count  int `json:"count"`
		Blocks []struct {
			ID        string `json:"content_block_id"`
			Name      string `json:"name"`
			LiquidTag string `json:"liquid_tag"`
			Inclusion int    `json:"inclusion_count"`
		} `json:"content_blocks"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &list); err != nil || status != 200 {
		t.Fatalf("list: %d %s", status, data)
	}
	if list.Count != 1 || len(list.Blocks) != 1 || list.Blocks[0].ID != blockID ||
		list.Blocks[0].LiquidTag != "{{content_blocks.${footer}}}" || list.Blocks[0].Inclusion != 1 ||
		list.Message != "success" {
		t.Errorf("list = %s", data)
	}

	// A block no campaign includes lists no includers, as [], and only
	// when asked.
	status, data = e.sys.Do("POST", "/content_blocks/create", `{"name": "unused", "content": "x"}`)
	var unused struct {
		ID string `json:"content_block_id"`
	}
	if err := json.Unmarshal(data, &unused); err != nil || status != 201 {
		t.Fatalf("create unused: %d %s", status, data)
	}
	for query, want := range map[string]string{"&include_inclusion_data=true": "[]", "": "null"} {
		status, data = e.sys.Do("GET", "/content_blocks/info?content_block_id="+unused.ID+query, nil)
		var got map[string]any
		if err := json.Unmarshal(data, &got); err != nil || status != 200 {
			t.Fatalf("info of unused: %d %s", status, data)
		}
		if apJSON(got["inclusion_data"]) != want {
			t.Errorf("info%s: inclusion_data = %s, want %s", query, apJSON(got["inclusion_data"]), want)
		}
	}
}

func TestContentBlockErrors(t *testing.T) {
	e := apStart(t)
	cbCreate(t, e, `{"name": "footer", "content": "x"}`)
	hook := apJSON(e.apHook("/cb", "text", "{{content_blocks.${nope}}}"))
	tests := []struct {
		name, method, path, body string
		status                   int
		message                  string
	}{
		{"duplicate name", "POST", "/content_blocks/create", `{"name": "footer", "content": "y"}`,
			400, `name: a content block named "footer" already exists`},
		{"bad name", "POST", "/content_blocks/create", `{"name": "foot er", "content": "y"}`,
			400, `name: "foot er" must be letters, digits, hyphens and underscores`},
		{"missing content", "POST", "/content_blocks/create", `{"name": "a"}`,
			400, `content: is required`},
		{"bad state", "POST", "/content_blocks/create", `{"name": "a", "content": "y", "state": "live"}`,
			400, `state: must be active or draft, not "live"`},
		{"bad liquid", "POST", "/content_blocks/create", `{"name": "a", "content": "{% if %}"}`,
			400, `content: line 1: unterminated "if" block in {% if %}`},
		{"block includes unknown block", "POST", "/content_blocks/create", `{"name": "a", "content": "{{content_blocks.${zz}}}"}`,
			400, `content: includes content block "zz", which does not exist`},
		{"unknown id on update", "POST", "/content_blocks/update", `{"content_block_id": "nope", "content": "z"}`,
			400, `content_block_id: no content block has id "nope"`},
		{"unknown id on info", "GET", "/content_blocks/info?content_block_id=nope", "",
			400, `content_block_id: no content block has id "nope"`},
		{"info without id", "GET", "/content_blocks/info", "",
			400, `content_block_id: is required`},
		{"limit too big", "GET", "/content_blocks/list?limit=1001", "",
			400, `limit: must be a whole number from 1 to 1000, not "1001"`},
		{"bad modified_after", "GET", "/content_blocks/list?modified_after=yesterday", "",
			400, `modified_after: "yesterday" is not an ISO-8601 time such as 2026-03-01T12:00:00Z`},
		{"unknown block in a campaign", "POST", "/v1/campaigns",
			`{"name": "c", "delivery_type": "api_triggered", "webhook": ` + hook + `}`,
			400, `webhook: includes content block "nope", which does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			status, data := e.sys.Do(tc.method, tc.path, body)
			apError(t, status, data, tc.status, tc.message)
		})
	}
}
