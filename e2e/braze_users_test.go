package e2e

// Braze's user endpoints: /users/alias/new, /users/identify, /users/delete
// and /users/export/ids. Helpers start with "bu".

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
)

// buPost posts body and checks the status and the exact JSON answer.
func (e *apEnv) buPost(path string, body any, wantStatus int, want string) {
	e.t.Helper()
	status, data := e.sys.Do("POST", path, body)
	if status != wantStatus || strings.TrimSpace(string(data)) != want {
		e.t.Errorf("POST %s\ngot  %d %s\nwant %d %s", path, status, data, wantStatus, want)
	}
}

// buExport exports users and returns the decoded answer.
func (e *apEnv) buExport(body any) map[string]any {
	e.t.Helper()
	status, data := e.sys.Do("POST", "/users/export/ids", body)
	if status != 201 {
		e.t.Fatalf("export: %d %s", status, data)
	}
	return e.apBodyOf(data)
}

// buBrazeID returns the braze_id of the user an alias names.
func (e *apEnv) buBrazeID(label, name string) string {
	e.t.Helper()
	u, err := e.sys.Store.GetUser(context.Background(),
		hookflow.UserRef{Alias: &hookflow.Alias{Name: name, Label: label}})
	if err != nil {
		e.t.Fatalf("user %s/%s: %v", label, name, err)
	}
	return u.ID
}

// buAliases is n user_aliases objects, each with its own alias.
func buAliases(n int) []map[string]string {
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = map[string]string{"alias_name": fmt.Sprint("n", i), "alias_label": "bulk"}
	}
	return out
}

func TestBrazeUsersAliasNew(t *testing.T) {
	e := apStart(t)
	e.sys.Track(map[string]any{"attributes": []any{map[string]any{"external_id": "u1", "first_name": "Ann"}}})

	e.buPost("/users/alias/new", map[string]any{"user_aliases": []any{
		map[string]string{"external_id": "u1", "alias_name": "c-1", "alias_label": "crm"},
		map[string]string{"alias_name": "w-1", "alias_label": "web"},
		map[string]string{"external_id": "nobody", "alias_name": "x", "alias_label": "crm"},
		map[string]string{"external_id": "u1", "alias_name": "c-2", "alias_label": "crm"},
		map[string]string{"alias_name": "w-1", "alias_label": "web"},
	}}, 201, `{"aliases_processed":2,"message":"success","errors":[`+
		`{"type":"no user with external_id \"nobody\"","input_array":"user_aliases","index":2},`+
		`{"type":"user with external_id \"u1\" already has alias_name \"c-1\" for alias_label \"crm\"","input_array":"user_aliases","index":3},`+
		`{"type":"alias_label \"web\" with alias_name \"w-1\" already names a user","input_array":"user_aliases","index":4}]}`)

	_, u1 := e.apUser("u1")
	if got := apJSON(u1.Aliases); got != `[{"alias_name":"c-1","alias_label":"crm"}]` {
		t.Errorf("u1 aliases = %s", got)
	}
	anon := e.buBrazeID("web", "w-1")
	_, au := e.apUser(anon)
	if au.ExternalID != "" || apJSON(au.Aliases) != `[{"alias_name":"w-1","alias_label":"web"}]` || apJSON(au.Attributes) != `{}` {
		t.Errorf("alias-only user = %+v", au)
	}

	cases := []apRefusal{
		{"missing array", `{}`, "user_aliases: is required and must not be empty"},
		{"too many", map[string]any{"user_aliases": buAliases(51)}, "user_aliases: has 51 entries; at most 50 are allowed per request"},
		{"no name", `{"user_aliases":[{"alias_label":"crm"}]}`, "user_aliases[0].alias_name: is required"},
		{"no label", `{"user_aliases":[{"alias_name":"a"},{"alias_name":"b"}]}`, "user_aliases[0].alias_label: is required"},
		{"unknown field", `{"user_aliases":[{"alias_name":"a","alias_label":"b","label":"c"}]}`, `user_aliases[0]: unknown field "label"`},
		{"all refused", `{"user_aliases":[{"external_id":"nobody","alias_name":"a","alias_label":"b"}]}`, "no valid objects: see errors"},
	}
	e.apRefused(t, "/users/alias/new", cases)

	// Fifty is allowed.
	e.buPost("/users/alias/new", map[string]any{"user_aliases": buAliases(50)}, 201,
		`{"aliases_processed":50,"message":"success"}`)
}

func TestBrazeUsersIdentifyMerges(t *testing.T) {
	e := apStart(t)
	campaign := e.apActionCampaign("viewed", "viewed", nil)
	e.sys.Track(map[string]any{"attributes": []any{map[string]any{
		"external_id": "u1", "first_name": "Ann", "plan": "gold"}}})
	e.buPost("/users/alias/new", map[string]any{"user_aliases": []any{
		map[string]string{"external_id": "u1", "alias_name": "c-1", "alias_label": "crm"},
		map[string]string{"alias_name": "w-1", "alias_label": "web"},
		map[string]string{"alias_name": "w-2", "alias_label": "web"},
	}}, 201, `{"aliases_processed":3,"message":"success"}`)
	anon := e.buBrazeID("web", "w-1")
	anon2 := e.buBrazeID("web", "w-2")

	alias := map[string]string{"alias_name": "w-1", "alias_label": "web"}
	e.sys.Track(map[string]any{
		"attributes": []any{map[string]any{"user_alias": alias, "first_name": "Anonymous", "color": "red"}},
		"events":     []any{map[string]any{"user_alias": alias, "name": "viewed", "time": "2026-12-03T09:00:00Z"}},
	})
	e.apDeliver(e.sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: campaign}, 1))

	e.buPost("/users/identify", map[string]any{"aliases_to_identify": []any{
		map[string]any{"external_id": "u1", "user_alias": alias},
		map[string]any{"external_id": "u9", "user_alias": map[string]string{"alias_name": "w-2", "alias_label": "web"}},
		map[string]any{"external_id": "u1", "user_alias": map[string]string{"alias_name": "gone", "alias_label": "web"}},
		map[string]any{"external_id": "u2", "user_alias": map[string]string{"alias_name": "c-1", "alias_label": "crm"}},
	}}, 201, `{"aliases_processed":2,"message":"success","errors":[`+
		`{"type":"no user with alias_label \"web\" and alias_name \"gone\"","input_array":"aliases_to_identify","index":2},`+
		`{"type":"alias_label \"crm\" with alias_name \"c-1\" belongs to external_id \"u1\"","input_array":"aliases_to_identify","index":3}]}`)

	// u1 keeps its own first_name, gains color and the alias, and now owns
	// the event and the delivery; the alias-only profile is gone.
	status, u1 := e.apUser("u1")
	if status != 200 {
		t.Fatalf("u1: %d", status)
	}
	if got := apJSON(u1.Attributes); got != `{"color":"red","first_name":"Ann","plan":"gold"}` {
		t.Errorf("u1 attributes = %s", got)
	}
	if got := apJSON(u1.Aliases); got != `[{"alias_name":"c-1","alias_label":"crm"},{"alias_name":"w-1","alias_label":"web"}]` {
		t.Errorf("u1 aliases = %s", got)
	}
	if len(u1.Events) != 1 || u1.Events[0].Name != "viewed" {
		t.Errorf("u1 events = %+v, want the one viewed", u1.Events)
	}
	if status, _ := e.apUser(anon); status != 404 {
		t.Errorf("alias-only profile after identify: %d, want 404", status)
	}
	ds := e.apDeliveries(campaign)
	if len(ds) != 1 || ds[0].UserID != u1.BrazeID {
		t.Errorf("deliveries = %d, user %q; want 1 of %s", len(ds), ds[0].UserID, u1.BrazeID)
	}

	// A new external id simply names the alias-only profile.
	_, u9 := e.apUser("u9")
	if u9.BrazeID != anon2 || apJSON(u9.Aliases) != `[{"alias_name":"w-2","alias_label":"web"}]` {
		t.Errorf("u9 = %+v, want braze_id %s", u9, anon2)
	}
	// Identifying again is not an error.
	e.buPost("/users/identify", map[string]any{"aliases_to_identify": []any{
		map[string]any{"external_id": "u9", "user_alias": map[string]string{"alias_name": "w-2", "alias_label": "web"}},
	}}, 201, `{"aliases_processed":1,"message":"success"}`)

	many := make([]any, 51)
	for i := range many {
		many[i] = map[string]any{"external_id": "x", "user_alias": alias}
	}
	cases := []apRefusal{
		{"missing array", `{"aliases_to_identify":[]}`, "aliases_to_identify: is required and must not be empty"},
		{"too many", map[string]any{"aliases_to_identify": many}, "aliases_to_identify: has 51 entries; at most 50 are allowed per request"},
		{"no external id", `{"aliases_to_identify":[{"user_alias":{"alias_name":"a","alias_label":"b"}}]}`, "aliases_to_identify[0].external_id: is required"},
		{"no alias", `{"aliases_to_identify":[{"external_id":"a"}]}`, "aliases_to_identify[0].user_alias: is required"},
		{"half alias", `{"aliases_to_identify":[{"external_id":"a","user_alias":{"alias_name":"a"}}]}`, "aliases_to_identify[0].user_alias.alias_label: is required"},
		{"all refused", `{"aliases_to_identify":[{"external_id":"a","user_alias":{"alias_name":"a","alias_label":"b"}}]}`, "no valid objects: see errors"},
	}
	e.apRefused(t, "/users/identify", cases)
}

func TestBrazeUsersDelete(t *testing.T) {
	e := apStart(t)
	campaign := e.apActionCampaign("login", "login", nil)
	e.apEvent("u1", "login", nil)
	e.apEvent("u2", "login", nil)
	e.apEvent("u3", "login", nil)
	e.apDeliver(e.sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: campaign}, 3))
	e.buPost("/users/alias/new", map[string]any{"user_aliases": []any{
		map[string]string{"external_id": "u2", "alias_name": "c-2", "alias_label": "crm"},
	}}, 201, `{"aliases_processed":1,"message":"success"}`)
	_, u3 := e.apUser("u3")

	e.buPost("/users/delete", map[string]any{
		"external_ids": []string{"u1", "nobody", "u1"},
		"user_aliases": []any{map[string]string{"alias_name": "c-2", "alias_label": "crm"}},
		"braze_ids":    []string{u3.BrazeID, "ffffffffffffffffffffffff"},
	}, 202, `{"deleted":3,"message":"success"}`)

	for _, id := range []string{"u1", "u2", "u3", u3.BrazeID} {
		if status, _ := e.apUser(id); status != 404 {
			t.Errorf("user %s after delete: %d, want 404", id, status)
		}
	}
	if ds := e.apDeliveries(campaign); len(ds) != 3 {
		t.Errorf("deliveries after delete = %d, want 3 kept in the activity log", len(ds))
	}
	// The external id is free again: a new event makes a new profile.
	e.apEvent("u1", "signup", nil)
	if status, u := e.apUser("u1"); status != 200 || len(u.Events) != 1 {
		t.Errorf("new u1: %d, %d events; want 200, 1", status, len(u.Events))
	}

	ids := make([]string, 51)
	for i := range ids {
		ids[i] = fmt.Sprint("x", i)
	}
	cases := []apRefusal{
		{"nobody named", `{}`, "name the users to delete in external_ids, user_aliases or braze_ids"},
		{"too many", map[string]any{"external_ids": ids[:40], "braze_ids": ids[40:]}, "51 users named; at most 50 are allowed per request"},
		{"empty id", `{"external_ids":["a",""]}`, "external_ids[1]: is empty"},
		{"half alias", `{"user_aliases":[{"alias_label":"crm"}]}`, "user_aliases[0].alias_name: is required"},
		{"by email", `{"email_addresses":["a@example.com"]}`, "deleting users by email_addresses or phone_numbers is not supported; name them by external_ids, user_aliases or braze_ids"},
	}
	e.apRefused(t, "/users/delete", cases)
}

func TestBrazeUsersExportIDs(t *testing.T) {
	e := apStart(t)
	e.sys.Track(map[string]any{
		"attributes": []any{map[string]any{"external_id": "u1", "first_name": "Ann", "email": "ann@example.com",
			"plan": "gold", "visits": 3}},
		"events": []any{
			map[string]any{"external_id": "u1", "name": "login", "time": "2026-12-01T08:00:00Z"},
			map[string]any{"external_id": "u1", "name": "login", "time": "2026-12-02T08:00:00.5Z"},
			map[string]any{"external_id": "u1", "name": "add_to_cart", "time": "2026-12-02T09:00:00Z"},
		},
		"purchases": []any{map[string]any{"external_id": "u1", "product_id": "sku-1", "currency": "USD",
			"price": 9.5, "quantity": 2, "time": "2026-12-02T10:00:00Z"}},
	})
	e.buPost("/users/alias/new", map[string]any{"user_aliases": []any{
		map[string]string{"external_id": "u1", "alias_name": "c-1", "alias_label": "crm"},
	}}, 201, `{"aliases_processed":1,"message":"success"}`)
	_, u1 := e.apUser("u1")

	got := e.buExport(map[string]any{"external_ids": []string{"u1", "nobody"}})
	want := `{"invalid_user_ids":["nobody"],"message":"success","users":[{` +
		`"braze_id":"` + u1.BrazeID + `","created_at":"2026-12-03T10:00:00.000Z",` +
		`"custom_attributes":{"plan":"gold","visits":3},` +
		`"custom_events":[{"count":1,"first":"2026-12-02T09:00:00.000Z","last":"2026-12-02T09:00:00.000Z","name":"add_to_cart"},` +
		`{"count":2,"first":"2026-12-01T08:00:00.000Z","last":"2026-12-02T08:00:00.500Z","name":"login"}],` +
		`"email":"ann@example.com","external_id":"u1","first_name":"Ann",` +
		`"purchases":[{"count":1,"first":"2026-12-02T10:00:00.000Z","last":"2026-12-02T10:00:00.000Z","name":"sku-1"}],` +
		`"total_revenue":19,"user_aliases":[{"alias_label":"crm","alias_name":"c-1"}]}]}`
	if apJSON(got) != want {
		t.Errorf("export\ngot  %s\nwant %s", apJSON(got), want)
	}

	// Only the fields asked for; one user named three ways is listed once.
	got = e.buExport(map[string]any{
		"user_aliases":     []any{map[string]string{"alias_name": "c-1", "alias_label": "crm"}},
		"braze_id":         u1.BrazeID,
		"email_address":    "ann@example.com",
		"fields_to_export": []string{"external_id", "first_name", "last_name"},
	})
	if apJSON(got) != `{"message":"success","users":[{"external_id":"u1","first_name":"Ann"}]}` {
		t.Errorf("export by alias, braze_id and email = %s", apJSON(got))
	}
	got = e.buExport(map[string]any{"braze_id": "ffffffffffffffffffffffff"})
	if apJSON(got) != `{"invalid_user_ids":["ffffffffffffffffffffffff"],"message":"success","users":[]}` {
		t.Errorf("export of nobody = %s", apJSON(got))
	}

	ids := make([]string, 51)
	for i := range ids {
		ids[i] = fmt.Sprint("x", i)
	}
	cases := []apRefusal{
		{"nobody named", `{"fields_to_export":["email"]}`, "name the users to export in external_ids, user_aliases, braze_id or email_address"},
		{"too many", map[string]any{"external_ids": ids}, "51 users named; at most 50 are allowed per request"},
		{"unknown field", `{"external_ids":["u1"],"fields_to_export":["email","apps"]}`, `fields_to_export[1]: "apps" is not a field Hookflow can export`},
		{"by phone", `{"phone":"+33600000000"}`, "exporting users by phone or device_id is not supported; name them by external_ids, user_aliases, braze_id or email_address"},
	}
	e.apRefused(t, "/users/export/ids", cases)
}

func TestBrazeUsersScopes(t *testing.T) {
	e := apStart(t)
	key, secret := api.NewKey("tracker", []string{hookflow.ScopeUsersTrack}, e.clock.Now())
	if err := e.sys.Store.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, scope string }{
		{"/users/alias/new", "users.alias.new"},
		{"/users/identify", "users.identify"},
		{"/users/delete", "users.delete"},
		{"/users/export/ids", "users.export.ids"},
	} {
		status, body := e.sys.DoKey(secret, "POST", tt.path, "{}")
		apError(t, status, body, 403, `API key "tracker" lacks the `+tt.scope+` permission`)
	}

	// A key with exactly the endpoint's scope gets through.
	key, secret = api.NewKey("exporter", []string{hookflow.ScopeUsersExportIDs}, e.clock.Now())
	if err := e.sys.Store.CreateKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	status, body := e.sys.DoKey(secret, "POST", "/users/export/ids", `{"external_ids":["nobody"]}`)
	var out map[string]any
	json.Unmarshal(body, &out)
	if status != 201 || apJSON(out) != `{"invalid_user_ids":["nobody"],"message":"success","users":[]}` {
		t.Errorf("exporter key: %d %s", status, body)
	}
}
