package e2e

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// exampleSink is where the example campaigns send: the sink of
// examples/demo.sh. The test points them at its own receiver instead.
const exampleSink = "http://127.0.0.1:9000"

// TestExamplesDoWhatTheDemoSays runs what examples/demo.sh runs (the
// README's first command) and checks that each example does what the demo
// prints it should: five campaigns loaded, the events of events.jsonl
// replayed, one API-triggered send; six webhooks with the right method,
// path, headers and body, one abort, and nothing else.
func TestExamplesDoWhatTheDemoSays(t *testing.T) {
	rcv := frReceiver(t, nil)
	sys := hookflowtest.Start(t, hookflowtest.Options{})

	ids := map[string]string{}
	files, err := filepath.Glob("../examples/campaigns/*.json")
	if err != nil || len(files) != 5 {
		t.Fatalf("example campaigns: %v (%v), want 5 files", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.ReplaceAll(string(data), exampleSink, rcv.URL())
		var out struct{ ID string }
		sys.MustDo(http.StatusCreated, "POST", "/v1/campaigns", body, &out)
		ids[filepath.Base(f)] = out.ID
	}

	events, err := os.Open("../examples/events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	lines := bufio.NewScanner(events)
	for n := 1; lines.Scan(); n++ {
		if strings.TrimSpace(lines.Text()) == "" {
			continue
		}
		status, body := sys.Do("POST", "/users/track", lines.Text())
		if status != http.StatusCreated || strings.Contains(string(body), `"errors"`) {
			t.Errorf("events.jsonl line %d: %d %s; want 201 without errors", n, status, body)
		}
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}

	// The demo's API-triggered send.
	var sent struct {
		DispatchID string `json:"dispatch_id"`
	}
	sys.MustDo(http.StatusCreated, "POST", "/campaigns/trigger/send", map[string]any{
		"campaign_id": ids["5-order-shipped-api.json"], "trigger_properties": map[string]any{"carrier": "DHL"},
		"recipients": []any{
			map[string]any{"external_user_id": "ana", "trigger_properties": map[string]any{"order_id": "A-1001"}},
			map[string]any{"external_user_id": "chloé", "trigger_properties": map[string]any{"order_id": "A-1002"}},
		},
	}, &sent)

	all := sys.WaitDeliveries(hookflow.DeliveryFilter{}, 7)
	aborted := 0
	for _, d := range all {
		d = frWaitFor(t, sys, d.ID, "a final state", func(d *hookflow.Delivery) bool { return hookflow.Final(d.State) })
		switch {
		case d.State == hookflow.StateAborted:
			aborted++
			v := frGet(sys, d.ID) // the activity log shows the reason
			if d.CampaignID != ids["4-signin-to-crm-contact.json"] || v.AbortReason != "no email address on the profile" ||
				v.Attempts != 0 || len(v.AttemptLog) != 0 {
				t.Errorf("aborted delivery: %+v", v)
			}
		case d.State != hookflow.StateDelivered:
			t.Errorf("delivery %s", frDescribe(d))
		}
	}
	if len(all) != 7 || aborted != 1 {
		t.Errorf("%d deliveries, %d aborted; want 7, one aborted (visitor-77 has no email)", len(all), aborted)
	}

	mac := hmac.New(sha256.New, []byte("demo-game-secret"))
	mac.Write([]byte("ben:coins"))
	want := []string{
		`POST /chat/messages {"dispatch":"` + sent.DispatchID + `","text":"Hi Ana, order A-1001 is on its way via DHL.","to":"ana"}`,
		`POST /chat/messages {"dispatch":"` + sent.DispatchID + `","text":"Hi Chloé 😀, order A-1002 is on its way via DHL.","to":"chloé"}`,
		`POST /crm/v3/objects/contacts {"properties":{"email":"ana@example.com","firstname":"Ana","lastname":"Silva","signup_source":"ios"}}`,
		`POST /game/v1/players/ben/grants {"amount":500,"currency":"coins","player":"Ben","reason":"reached level 10"}`,
		`POST /loyalty/credits {"booking":"BK-3301","customer_id":"ben","discount_percent":"15","note":"Thanks for your 3rd flight, Ben!"}`,
		`PUT /crm/v3/contacts/chlo%C3%A9 {"email":"chloe@example.com","email_opt_out":"true","reason":"too many emails","source":"hookflow campaign Email unsubscribe → CRM update"}`,
	}
	var got []string
	for _, r := range rcv.Requests() {
		got = append(got, r.Method+" "+r.RawPath+" "+exampleBody(t, r))
		checkExampleHeaders(t, r, hex.EncodeToString(mac.Sum(nil)))
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the receiver got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// exampleBody is r's JSON body re-encoded with sorted keys, to compare
// values and not the examples' spacing.
func exampleBody(t *testing.T, r receiver.Request) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Errorf("%s %s: body %q is not JSON: %v", r.Method, r.RawPath, r.Body, err)
		return string(r.Body)
	}
	b, _ := json.Marshal(v)
	return strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(string(b))
}

// checkExampleHeaders checks the headers every example sends, and the
// game API's signature.
func checkExampleHeaders(t *testing.T, r receiver.Request, gameSignature string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", r.RawPath, ct)
	}
	if r.Header.Get("Webhook-Id") == "" || r.Header.Get("User-Agent") != hookflow.UserAgent() {
		t.Errorf("%s: Webhook-Id %q, User-Agent %q", r.RawPath, r.Header.Get("Webhook-Id"), r.Header.Get("User-Agent"))
	}
	auth := map[string]string{
		"/crm/v3/objects/contacts": "Bearer demo-crm-token", "/crm/v3/contacts/chlo%C3%A9": "Bearer demo-crm-token",
		"/loyalty/credits": "Bearer demo-loyalty-token",
	}[r.Path()]
	if got := r.Header.Get("Authorization"); got != auth {
		t.Errorf("%s: Authorization %q, want %q", r.RawPath, got, auth)
	}
	if strings.HasPrefix(r.Path(), "/game/") && r.Header.Get("X-Game-Signature") != gameSignature {
		t.Errorf("%s: X-Game-Signature %q, want %q", r.RawPath, r.Header.Get("X-Game-Signature"), gameSignature)
	}
}
