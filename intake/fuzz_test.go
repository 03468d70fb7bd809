package intake

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow"
)

// FuzzParse feeds /users/track bodies to Parse. Whatever the bytes, it
// must not panic, must refuse a whole request only with a ValidationError,
// and what it accepts must be within Braze's limits and encode as valid
// UTF-8 JSON (field report R6: invalid bytes never reach a webhook raw).
// `go test` runs the seeds; `go test -fuzz FuzzParse ./intake` explores.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"attributes":[{"external_id":"a","first_name":"Ann","visits":{"inc":2},"tags":{"add":["x"]}}]}`,
		`{"events":[{"external_id":"a","name":"e","time":"2026-12-03T09:09:00Z","properties":{"level":10,"o":{"k":[1,"2"]}}}]}`,
		`{"purchases":[{"user_alias":{"alias_name":"n","alias_label":"l"},"product_id":"p","currency":"USD","price":1.5,"time":"2026-12-03T09:09:00Z"}]}`,
		`{"events":[{"email":"a@b.co","name":"e","time":"2026-12-03","properties":{"s":"\xff\x00"}}]}`,
		`{"attributes":[{"braze_id":"x","_update_existing_only":true,"gone":null}]}`,
		`{"events":[{"external_id":"a","name":"e","time":"bad"}]}`,
		`[]`, `{}`, `{"events":{}}`, `{"events":[1,null,"x"]}`,
	} {
		f.Add([]byte(seed))
	}
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := Parse(body, now)
		if err != nil {
			var ve *hookflow.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("whole-request error %T %v, want a *hookflow.ValidationError", err, err)
			}
			return
		}
		if len(b.Attributes) > MaxObjects || len(b.Events) > MaxObjects || len(b.Purchases) > MaxObjects {
			t.Fatalf("accepted %d/%d/%d objects, more than %d", len(b.Attributes), len(b.Events), len(b.Purchases), MaxObjects)
		}
		for _, in := range append(append([]EventInput{}, b.Events...), purchases(b)...) {
			ev := in.Event
			if ev.Name == "" || !utf8.ValidString(ev.Name) {
				t.Fatalf("accepted event name %q", ev.Name)
			}
			if ev.Time.After(now) {
				t.Fatalf("event time %v after receipt %v was not clamped", ev.Time, now)
			}
			for k := range ev.Properties {
				if k == "" || utf8.RuneCountInString(k) > 255 {
					t.Fatalf("accepted property key %q", k)
				}
			}
			out, err := json.Marshal(ev.Properties)
			if err != nil || !utf8.Valid(out) {
				t.Fatalf("accepted properties that do not encode as UTF-8 JSON: %v", err)
			}
		}
	})
}

// purchases gives the accepted purchases as events, the form they are
// stored in.
func purchases(b *Batch) []EventInput {
	var out []EventInput
	for _, p := range b.Purchases {
		out = append(out, EventInput{Ref: p.Ref, Event: p.Event})
	}
	return out
}
