package e2e

// Braze's campaign export, send id, transactional and rate-limit behaviour.
// Every helper here starts with "bc".

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/sqlite"
	"github.com/hookflow/hookflow/trigger"
)

// bcDo does an authorized request with key and returns status, headers
// and body.
func bcDo(t *testing.T, base, key, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	return bcDoAuth(t, base, "Bearer "+key, method, path, body)
}

// bcDoAuth is bcDo with the Authorization header as given.
func bcDoAuth(t *testing.T, base, authorization, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

// bcJSON compares a response body with the wanted JSON, both normalised.
func bcJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: body %s: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want %s: %v", what, want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

// bcKey stores a key with scopes (and an allow-list) and returns its secret.
func bcKey(t *testing.T, s hookflow.Store, name string, ips []string, scopes ...string) string {
	t.Helper()
	key, secret := api.NewKey(name, scopes, apT0)
	key.AllowedIPs = ips
	if err := s.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestBrazeCampaignsListAndDetails(t *testing.T) {
	e := apStart(t)
	api1 := e.apAPICampaign("ship", "order", "{{api_trigger_properties.${order}}}")
	e.clock.Advance(time.Minute)
	act := e.apActionCampaign("welcome", "signup", nil)
	e.clock.Advance(time.Minute)
	old := e.apAPICampaign("old")
	e.sys.MustDo(200, "POST", "/v1/campaigns/"+old+"/archive", nil, nil)
	// Archiving stamps updated_at with the store's clock, not the API's.
	var archived struct {
		UpdatedAt time.Time `json:"updated_at"`
	}
	e.sys.MustDo(200, "GET", "/v1/campaigns/"+old, nil, &archived)
	oldEdited := archived.UpdatedAt.UTC().Format("2006-01-02T15:04:05+00:00")

	_, _, body := bcDo(t, e.sys.URL, e.sys.Key, "GET", "/campaigns/list", "")
	bcJSON(t, "list", body, `{"message":"success","campaigns":[
		{"id":"`+api1+`","last_edited":"2026-12-03T10:00:00+00:00","name":"ship","is_api_campaign":false,"tags":[]},
		{"id":"`+act+`","last_edited":"2026-12-03T10:01:00+00:00","name":"welcome","is_api_campaign":false,"tags":[]}]}`)

	_, _, body = bcDo(t, e.sys.URL, e.sys.Key, "GET", "/campaigns/list?include_archived=true&sort_direction=desc&last_edit.time[gt]=2026-12-03T10:00:00Z", "")
	bcJSON(t, "list desc archived edited after 10:00", body, `{"message":"success","campaigns":[
		{"id":"`+old+`","last_edited":"`+oldEdited+`","name":"old","is_api_campaign":false,"tags":[]},
		{"id":"`+act+`","last_edited":"2026-12-03T10:01:00+00:00","name":"welcome","is_api_campaign":false,"tags":[]}]}`)

	_, _, body = bcDo(t, e.sys.URL, e.sys.Key, "GET", "/campaigns/list?page=1", "")
	bcJSON(t, "page 1", body, `{"message":"success","campaigns":[]}`)

	status, _, body := bcDo(t, e.sys.URL, e.sys.Key, "GET", "/campaigns/details?campaign_id="+api1, "")
	if status != 200 {
		t.Fatalf("details: %d %s", status, body)
	}
	bcJSON(t, "details", body, `{"message":"success",
		"created_at":"2026-12-03T10:00:00+00:00","updated_at":"2026-12-03T10:00:00+00:00",
		"archived":false,"draft":false,"enabled":true,"has_post_launch_draft":false,
		"name":"ship","description":"","schedule_type":"api_triggered","channels":["webhook"],
		"first_sent":null,"last_sent":null,"tags":[],"teams":[],"conversion_behaviors":[],
		"messages":{"variation_`+api1+`":{"channel":"webhook","name":"ship","url":"`+e.rcv.URL()+`/ship",
			"request_method":"POST","headers":{},"type":"key_value_pairs",
			"body":{"user":"{{${user_id}}}","order":"{{api_trigger_properties.${order}}}"}}}}`)

	tests := []struct {
		path, message string
		status        int
	}{
		{"/campaigns/details", "campaign_id: is required", 400},
		{"/campaigns/details?campaign_id=nope", `campaign_id: no campaign "nope"`, 404},
		{"/campaigns/list?sort_direction=up", `sort_direction: must be asc or desc, not "up"`, 400},
		{"/campaigns/list?page=-1", `page: must be a whole number from 0 to 1073741824, not "-1"`, 400},
		{"/campaigns/list?include_archived=yes", `include_archived: must be true or false, not "yes"`, 400},
		{"/campaigns/list?last_edit.time[gt]=yesterday", `last_edit.time[gt]: "yesterday" is not an ISO-8601 time such as 2026-12-03T10:00:00Z`, 400},
	}
	for _, tt := range tests {
		status, _, body := bcDo(t, e.sys.URL, e.sys.Key, "GET", tt.path, "")
		apError(t, status, body, tt.status, tt.message)
	}
}

func TestBrazeSendIDsAndDataSeries(t *testing.T) {
	e := apStart(t)
	id := e.apAPICampaign("ship")
	e.sys.Track(`{"attributes":[{"external_id":"u1"},{"external_id":"u2"}]}`)

	status, _, body := bcDo(t, e.sys.URL, e.sys.Key, "POST", "/sends/id/create", `{"campaign_id":"`+id+`","send_id":"blast-1"}`)
	if status != 201 {
		t.Fatalf("sends/id/create: %d %s", status, body)
	}
	bcJSON(t, "send id", body, `{"send_id":"blast-1","message":"success"}`)
	status, _, body = bcDo(t, e.sys.URL, e.sys.Key, "POST", "/sends/id/create", `{"campaign_id":"`+id+`"}`)
	var made struct {
		SendID string `json:"send_id"`
	}
	json.Unmarshal(body, &made)
	if status != 201 || !strings.HasPrefix(made.SendID, "snd_") || len(made.SendID) != 28 {
		t.Errorf("generated send id: %d %s", status, body)
	}

	sent := e.apTriggerSend(map[string]any{"campaign_id": id, "send_id": "blast-1",
		"recipients": []any{map[string]any{"external_user_id": "u1"}, map[string]any{"external_user_id": "u2"}}})
	e.apDeliver(e.sys.Deliveries(hookflow.DeliveryFilter{DispatchID: sent.DispatchID}))
	other := e.apTriggerSend(map[string]any{"campaign_id": id,
		"recipients": []any{map[string]any{"external_user_id": "u1"}}})
	e.apDeliver(e.sys.Deliveries(hookflow.DeliveryFilter{DispatchID: other.DispatchID}))

	_, _, body = bcDo(t, e.sys.URL, e.sys.Key, "GET", "/campaigns/data_series?campaign_id="+id+"&length=2&ending_at=2026-12-03T23:00:00Z", "")
	bcJSON(t, "campaign series", body, `{"message":"success","data":[
		{"time":"2026-12-02","messages":{"webhook":[{"sent":0,"errors":0}]},"conversions":0,"unique_recipients":0},
		{"time":"2026-12-03","messages":{"webhook":[{"sent":3,"errors":0}]},"conversions":0,"unique_recipients":2}]}`)

	_, _, body = bcDo(t, e.sys.URL, e.sys.Key, "GET", "/sends/data_series?campaign_id="+id+"&send_id=blast-1&length=1", "")
	bcJSON(t, "send series", body, `{"message":"success","data":[
		{"time":"2026-12-03","messages":{"webhook":[{"variation_api_id":"variation_`+id+`","sent":2,"errors":0}]},"conversions":0,"unique_recipients":2}]}`)

	tests := []struct {
		method, path, body, message string
		status                      int
	}{
		{"POST", "/sends/id/create", `{}`, "campaign_id: is required", 400},
		{"POST", "/sends/id/create", `{"campaign_id":"nope"}`, `campaign_id: no campaign "nope"`, 404},
		{"POST", "/sends/id/create", `{"campaign_id":"` + id + `","send_id":"` + strings.Repeat("x", 65) + `"}`, "send_id: is longer than 64 characters", 400},
		{"POST", "/sends/id/create", `{"campaign_id":"` + id + `","send_id":"café"}`, "send_id: must be printable ASCII", 400},
		{"GET", "/sends/data_series?campaign_id=" + id + "&length=1", "", "send_id: is required", 400},
		{"GET", "/campaigns/data_series?campaign_id=" + id, "", "length: is required (1 to 100 days)", 400},
		{"GET", "/campaigns/data_series?campaign_id=" + id + "&length=101", "", `length: must be a whole number from 1 to 100, not "101"`, 400},
		{"GET", "/campaigns/data_series?campaign_id=" + id + "&length=1&ending_at=soon", "", `ending_at: "soon" is not an ISO-8601 time such as 2026-12-03T10:00:00Z`, 400},
	}
	for _, tt := range tests {
		status, _, body := bcDo(t, e.sys.URL, e.sys.Key, tt.method, tt.path, tt.body)
		apError(t, status, body, tt.status, tt.message)
	}

	// Two were made above; 98 more fill the day, the next is refused.
	for range 98 {
		if status, _, body := bcDo(t, e.sys.URL, e.sys.Key, "POST", "/sends/id/create", `{"campaign_id":"`+id+`"}`); status != 201 {
			t.Fatalf("sends/id/create within the quota: %d %s", status, body)
		}
	}
	status, _, body = bcDo(t, e.sys.URL, e.sys.Key, "POST", "/sends/id/create", `{"campaign_id":"`+id+`"}`)
	apError(t, status, body, 429, "at most 100 send ids can be created per day")
	e.clock.Advance(14 * time.Hour)
	if status, _, body := bcDo(t, e.sys.URL, e.sys.Key, "POST", "/sends/id/create", `{"campaign_id":"`+id+`"}`); status != 201 {
		t.Errorf("sends/id/create the next day: %d %s", status, body)
	}
}

func TestBrazeTransactionalSend(t *testing.T) {
	e := apStart(t)
	id := e.apAPICampaign("reset", "token", "{{api_trigger_properties.${token}}}", "plan", "{{custom_attribute.${plan}}}")
	act := e.apActionCampaign("welcome", "signup", nil)

	status, _, body := bcDo(t, e.sys.URL, e.sys.Key, "POST", "/transactional/v1/campaigns/"+id+"/send",
		`{"external_send_id":"order-7","trigger_properties":{"token":"T-1"},
		  "recipient":{"external_user_id":"u9","send_to_existing_only":false,"attributes":{"plan":"pro"}}}`)
	var out struct {
		DispatchID string `json:"dispatch_id"`
		Status     string `json:"status"`
		Message    string `json:"message"`
	}
	json.Unmarshal(body, &out)
	if status != 201 || out.Status != "queued" || out.Message != "success" || out.DispatchID == "" {
		t.Fatalf("transactional send: %d %s", status, body)
	}
	ds := e.sys.Deliveries(hookflow.DeliveryFilter{DispatchID: out.DispatchID})
	if len(ds) != 1 || ds[0].SendID != "order-7" || ds[0].ExternalID != "u9" {
		t.Fatalf("deliveries %+v", ds)
	}
	got := e.apBodies(1)
	bcJSON(t, "webhook", mustJSON(t, got[0]), `{"user":"u9","token":"T-1","plan":"pro"}`)

	tests := []struct {
		path, body, message string
		status              int
	}{
		{"/transactional/v1/campaigns/" + id + "/send", `{}`, "recipient.external_user_id: is required", 400},
		{"/transactional/v1/campaigns/" + id + "/send", `{"recipient":{"external_user_id":"nobody"}}`, "", 201},
		{"/transactional/v1/campaigns/nope/send", `{"recipient":{"external_user_id":"u9"}}`, `campaign_id: no campaign "nope"`, 404},
		{"/transactional/v1/campaigns/" + act + "/send", `{"recipient":{"external_user_id":"u9"}}`,
			`campaign_id: campaign "` + act + `" is action_based; only api_triggered campaigns can be sent through this endpoint`, 400},
		{"/transactional/v1/campaigns/" + id + "/send", `{"external_send_id":"` + strings.Repeat("x", 65) + `","recipient":{"external_user_id":"u9"}}`,
			"external_send_id: is longer than 64 characters", 400},
	}
	for _, tt := range tests {
		status, _, body := bcDo(t, e.sys.URL, e.sys.Key, "POST", tt.path, tt.body)
		if tt.status == 201 {
			if status != 201 {
				t.Errorf("%s %s: %d %s", tt.path, tt.body, status, body)
			}
			continue
		}
		apError(t, status, body, tt.status, tt.message)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBrazeUnsupportedFamilies(t *testing.T) {
	e := apStart(t)
	tests := []struct {
		method, path, body, message string
		status                      int
	}{
		{"POST", "/email/status", `{}`, "Hookflow sends webhooks only: /email/... is not supported", 501},
		{"GET", "/email/hard_bounces", "", "Hookflow sends webhooks only: /email/... is not supported", 501},
		{"POST", "/sms/invalid_phone_numbers/remove", `{}`, "Hookflow sends webhooks only: /sms/... is not supported", 501},
		{"POST", "/push_tokens/add", `{}`, "Hookflow sends webhooks only: /push_tokens/... is not supported", 501},
		{"POST", "/canvas/trigger/send", `{}`, "Canvas is not supported yet: /canvas/... has no endpoint in Hookflow", 501},
		{"POST", "/messages/send", `{"broadcast":true,"messages":{"email":{"app_id":"x","subject":"hi"}}}`,
			"messages.email: is not supported: Hookflow sends webhooks only", 400},
		{"POST", "/messages/send", `{"broadcast":true,"messages":{"apple_push":{"alert":"hi"},"webhook":{"url":"https://example.com","request_method":"POST"}}}`,
			"messages.apple_push: is not supported: Hookflow sends webhooks only", 400},
	}
	before := e.apSnapshot()
	for _, tt := range tests {
		status, _, body := bcDo(t, e.sys.URL, e.sys.Key, tt.method, tt.path, tt.body)
		apError(t, status, body, tt.status, tt.message)
	}
	if after := e.apSnapshot(); after != before {
		t.Errorf("refused calls changed the store:\n%s\n%s", before, after)
	}
}

func TestBrazeRateLimitHeadersAndScopes(t *testing.T) {
	e := apStart(t)
	reset := strconv.FormatInt(apT0.Add(time.Hour).Unix(), 10)
	for i, want := range []string{"249999", "249998"} {
		_, h, _ := bcDo(t, e.sys.URL, e.sys.Key, "GET", "/campaigns/list", "")
		if h.Get("X-RateLimit-Limit") != "250000" || h.Get("X-RateLimit-Remaining") != want || h.Get("X-RateLimit-Reset") != reset {
			t.Errorf("request %d headers: limit %q remaining %q reset %q; want 250000 %s %s", i,
				h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), h.Get("X-RateLimit-Reset"), want, reset)
		}
	}
	// Refused for a bad request, the call still counts and says so.
	_, h, _ := bcDo(t, e.sys.URL, e.sys.Key, "GET", "/campaigns/details", "")
	if h.Get("X-RateLimit-Remaining") != "249997" {
		t.Errorf("remaining after a 400 = %q, want 249997", h.Get("X-RateLimit-Remaining"))
	}

	listOnly := bcKey(t, e.sys.Store, "lister", nil, hookflow.ScopeCampaignsList)
	status, _, body := bcDo(t, e.sys.URL, listOnly, "GET", "/campaigns/list", "")
	if status != 200 {
		t.Errorf("list with campaigns.list: %d %s", status, body)
	}
	for path, scope := range map[string]string{
		"/campaigns/details?campaign_id=x":                    hookflow.ScopeCampaignsDetails,
		"/campaigns/data_series?campaign_id=x&length=1":       hookflow.ScopeCampaignsDataSeries,
		"/sends/data_series?campaign_id=x&send_id=y&length=1": hookflow.ScopeSendsDataSeries,
	} {
		status, _, body := bcDo(t, e.sys.URL, listOnly, "GET", path, "")
		apError(t, status, body, 403, `API key "lister" lacks the `+scope+` permission`)
	}
	for path, scope := range map[string]string{
		"/sends/id/create":                   hookflow.ScopeSendsIDCreate,
		"/transactional/v1/campaigns/x/send": hookflow.ScopeTransactionalSend,
	} {
		status, _, body := bcDo(t, e.sys.URL, listOnly, "POST", path, "{}")
		apError(t, status, body, 403, `API key "lister" lacks the `+scope+` permission`)
	}

	fenced := bcKey(t, e.sys.Store, "fenced", []string{"10.0.0.0/8"}, hookflow.ScopeAll)
	status, _, body = bcDo(t, e.sys.URL, fenced, "GET", "/campaigns/list", "")
	apError(t, status, body, 403, `API key "fenced" does not allow calls from IP 127.0.0.1`)
	open := bcKey(t, e.sys.Store, "local", []string{"10.0.0.0/8", "127.0.0.0/8"}, hookflow.ScopeAll)
	if status, _, body := bcDo(t, e.sys.URL, open, "GET", "/campaigns/list", ""); status != 200 {
		t.Errorf("key allowing loopback: %d %s", status, body)
	}
}

// TestBrazeRateLimitRefuses runs a server with a limit of 2 requests per
// hour per key on a manual clock.
func TestBrazeRateLimitRefuses(t *testing.T) {
	clock := hookflowtest.NewClock(apT0.Add(30 * time.Minute))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	srv := api.New(api.Config{Store: store, Enqueue: trigger.New(clock), Clock: clock, Log: log, RateLimitPerHour: 2})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	a := bcKey(t, store, "a", nil, hookflow.ScopeAll)
	b := bcKey(t, store, "b", nil, hookflow.ScopeAll)

	for i := range 2 {
		if status, _, body := bcDo(t, hs.URL, a, "GET", "/campaigns/list", ""); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, h, body := bcDo(t, hs.URL, a, "GET", "/campaigns/list", "")
	apError(t, status, body, 429, `rate limit exceeded: API key "a" may make 2 requests per hour; the count starts over at 2026-12-03T11:00:00Z`)
	if h.Get("X-RateLimit-Remaining") != "0" || h.Get("Retry-After") != "1801" {
		t.Errorf("429 headers: remaining %q retry-after %q, want 0 1801", h.Get("X-RateLimit-Remaining"), h.Get("Retry-After"))
	}
	if status, _, _ := bcDo(t, hs.URL, b, "GET", "/campaigns/list", ""); status != 200 {
		t.Errorf("key b, counted apart: %d, want 200", status)
	}
	clock.Advance(30 * time.Minute)
	if status, h, _ := bcDo(t, hs.URL, a, "GET", "/campaigns/list", ""); status != 200 || h.Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("next hour: %d remaining %q, want 200 1", status, h.Get("X-RateLimit-Remaining"))
	}
}
