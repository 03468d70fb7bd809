package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/receiver"
)

func TestAPIAuth(t *testing.T) {
	e := apStart(t)
	ctx := context.Background()
	track := `{"attributes":[{"external_id":"u1"}]}`

	status, body := e.sys.DoKey("", "POST", "/users/track", track)
	apError(t, status, body, 401, "missing API key: send it as 'Authorization: Bearer <key>' (create one with 'hookflow keys create')")
	for _, header := range []string{"Basic abc", "hf_secret-without-bearer", "Bearer "} {
		status, _, body := bcDoAuth(t, e.sys.URL, header, "GET", "/v1/campaigns", "")
		apError(t, status, body, 401, "Authorization header is not 'Bearer <key>': send it as 'Authorization: Bearer <key>' (create one with 'hookflow keys create')")
	}
	status, body = e.sys.DoKey("hf_not-a-key", "GET", "/v1/campaigns", nil)
	apError(t, status, body, 401, "invalid API key: this server has no such key (keys live in the server's database: was it created with the same --data-dir?)")

	key, secret := api.NewKey("tracker", []string{hookflow.ScopeUsersTrack}, e.clock.Now())
	if err := e.sys.Store.CreateKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	if status, body := e.sys.DoKey(secret, "POST", "/users/track", track); status != 201 {
		t.Fatalf("scoped key on its endpoint: %d %s", status, body)
	}
	for _, tt := range []struct{ method, path, scope string }{
		{"GET", "/v1/campaigns", "hookflow.campaigns.read"},
		{"POST", "/v1/campaigns", "hookflow.campaigns.write"},
		{"POST", "/campaigns/trigger/send", "campaigns.trigger.send"},
		{"POST", "/messages/send", "messages.send"},
		{"GET", "/v1/deliveries", "hookflow.deliveries.read"},
		{"GET", "/v1/users/u1", "hookflow.users.read"},
	} {
		status, body := e.sys.DoKey(secret, tt.method, tt.path, "{}")
		apError(t, status, body, 403, `API key "tracker" lacks the `+tt.scope+` permission`)
	}

	// Revoking takes effect once the key cache (5 s) has expired.
	if err := e.sys.Store.RevokeKey(ctx, key.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.sys.DoKey(secret, "POST", "/users/track", track); status != 201 {
		t.Errorf("revoked key refused at once (%d); the cache should still hold it", status)
	}
	e.clock.Advance(6 * time.Second)
	status, body = e.sys.DoKey(secret, "POST", "/users/track", track)
	apError(t, status, body, 401, "invalid API key: this server has no such key (keys live in the server's database: was it created with the same --data-dir?)")
	// The all-scopes key is unaffected.
	if status, _ := e.sys.Do("GET", "/v1/campaigns", nil); status != 200 {
		t.Errorf("full key: %d", status)
	}

	status, body = e.sys.DoKey("", "GET", "/nope", nil)
	apError(t, status, body, 404, "no endpoint GET /nope")
	for _, tt := range []struct{ method, path, allow, message string }{
		{"GET", "/users/track", "POST", "GET /users/track: use POST"},
		{"DELETE", "/v1/campaigns/cmp_x", "GET, PUT, HEAD", "DELETE /v1/campaigns/cmp_x: use GET or PUT"},
		{"PUT", "/v1/deliveries", "GET, HEAD", "PUT /v1/deliveries: use GET"},
	} {
		status, header, body := bcDo(t, e.sys.URL, e.sys.Key, tt.method, tt.path, "")
		apError(t, status, body, 405, tt.message)
		if got := header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

// apLog is GET /v1/deliveries decoded.
type apLog struct {
	Deliveries []struct {
		ID         string `json:"id"`
		CampaignID string `json:"campaign_id"`
		ExternalID string `json:"external_id"`
		State      string `json:"state"`
		Attempts   int    `json:"attempts"`
		LastStatus int    `json:"last_status"`
	} `json:"deliveries"`
	Next string `json:"next"`
}

func (e *apEnv) apLog(query string) apLog {
	e.t.Helper()
	var l apLog
	e.sys.MustDo(200, "GET", "/v1/deliveries?"+query, nil, &l)
	return l
}

// users lists the log's external ids in order, "-" for an empty page.
func (l apLog) users() string {
	var s []string
	for _, d := range l.Deliveries {
		s = append(s, d.ExternalID)
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func TestAPIDeliveryLog(t *testing.T) {
	e := apStart(t)
	bad, err := receiver.Start(receiver.Always(400))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	ok := e.apActionCampaign("ok", "ping", nil)
	fail := e.sys.CreateCampaign(map[string]any{
		"name": "fail", "delivery_type": "action_based", "reeligibility_seconds": 0,
		"trigger": map[string]any{"event": "pong"},
		"webhook": map[string]any{"method": "POST", "url": bad.URL() + "/f", "body_type": "none"},
	})

	// One event an hour: u1 ping, u2 ping, u3 pong, u1 pong, u2 ping.
	steps := []struct{ user, event string }{{"u1", "ping"}, {"u2", "ping"}, {"u3", "pong"}, {"u1", "pong"}, {"u2", "ping"}}
	for i, s := range steps {
		if i > 0 {
			e.clock.Advance(time.Hour)
		}
		e.apEvent(s.user, s.event, nil)
	}
	all := e.sys.Deliveries(hookflow.DeliveryFilter{})
	for _, d := range all {
		want := hookflow.StateDelivered
		if d.CampaignID == fail {
			want = hookflow.StateFailed
		}
		e.sys.WaitState(d.ID, want)
	}

	_, v := e.apUser("u1")
	tests := []struct{ query, want string }{
		{"", "u2,u1,u3,u2,u1"},
		{"campaign_id=" + ok, "u2,u2,u1"},
		{"campaign_id=" + fail, "u1,u3"},
		{"user_id=u1", "u1,u1"},
		{"user_id=" + v.BrazeID, "u1,u1"},
		{"user_id=nobody", "-"},
		{"state=failed", "u1,u3"},
		{"state=delivered&user_id=u2", "u2,u2"},
		{"state=pending", "-"},
		{"since=" + url.QueryEscape(apT0.Add(2*time.Hour).Format(time.RFC3339)), "u2,u1,u3"},
		// since is inclusive, until exclusive, as the storage suite has it.
		{"until=" + url.QueryEscape(apT0.Add(time.Hour).Format(time.RFC3339)), "u1"},
		{"since=2026-12-03T11:00:00Z&until=2026-12-03T13:00:00Z", "u3,u2"},
		{"since=2026-12-03T11:00:00%2B01:00", "u2,u1,u3,u2,u1"},
		{"limit=2", "u2,u1"},
	}
	for _, tt := range tests {
		if got := e.apLog(tt.query).users(); got != tt.want {
			t.Errorf("?%s: %s, want %s", tt.query, got, tt.want)
		}
	}

	// Failed deliveries show why.
	l := e.apLog("state=failed&limit=1")
	if d := l.Deliveries[0]; d.LastStatus != 400 || d.Attempts != 1 || d.CampaignID != fail {
		t.Errorf("failed entry %+v", d)
	}

	// Paging: next is the before= cursor of the following page.
	var pages []string
	q := "limit=2"
	for range 5 {
		l := e.apLog(q)
		pages = append(pages, l.users())
		if l.Next == "" {
			break
		}
		q = "limit=2&before=" + l.Next
	}
	if got := strings.Join(pages, " | "); got != "u2,u1 | u3,u2 | u1" {
		t.Errorf("pages: %s", got)
	}

	// One delivery in full.
	var one map[string]any
	e.sys.MustDo(200, "GET", "/v1/deliveries/"+all[0].ID, nil, &one)
	if one["id"] != all[0].ID || one["attempt_log"] == nil {
		t.Errorf("delivery %v", one)
	}
	status, body := e.sys.Do("GET", "/v1/deliveries/nope", nil)
	apError(t, status, body, 404, `no delivery "nope"`)

	for _, tt := range []struct{ query, message string }{
		{"state=done", `state: must be pending, sending, delivered, failed, aborted or cancelled, not "done"`},
		{"since=yesterday", `since: must be an RFC 3339 time such as 2026-12-03T18:00:00Z, not "yesterday"`},
		{"until=2026-12-03", `until: must be an RFC 3339 time such as 2026-12-03T18:00:00Z, not "2026-12-03"`},
		{"limit=0", "limit: must be a number from 1 to 1000"},
		{"limit=1001", "limit: must be a number from 1 to 1000"},
		{"limit=ten", "limit: must be a number from 1 to 1000"},
		{"campaign=cmp_x", "campaign: is not a parameter here; use campaign_id, user_id, state, dispatch_id, since, until, limit, before"},
	} {
		status, body := e.sys.Do("GET", "/v1/deliveries?"+tt.query, nil)
		apError(t, status, body, 400, tt.message)
	}
}
