package intake_test

import (
	"encoding/json"
	"testing"

	"github.com/hookflow/hookflow/intake"
)

func TestResponse(t *testing.T) {
	tests := []struct {
		name, body string
		failed     []intake.ItemError
		want       string
	}{
		{"all valid, events only", `{"events":[` + validEvent + `]}`, nil,
			`{"message":"success","events_processed":1}`},
		{"empty array is still reported", `{"events":[` + validEvent + `],"purchases":[]}`, nil,
			`{"message":"success","events_processed":1,"purchases_processed":0}`},
		{"parse and apply errors, sorted", `{"events":[` + validEvent + `,{}],"attributes":[{"external_id":"a"},` +
			`{"external_id":"b"}]}`,
			[]intake.ItemError{{Type: `attribute "x": cannot increment a string`, InputArray: "attributes", Index: 1}},
			`{"message":"success","attributes_processed":1,"events_processed":1,"errors":[` +
				`{"type":"attribute \"x\": cannot increment a string","input_array":"attributes","index":1},` +
				`{"type":"'external_id', 'braze_id', 'user_alias' or 'email' is required","input_array":"events","index":1}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := intake.Parse([]byte(tt.body), now)
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(b.Response(tt.failed))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got  %s\nwant %s", out, tt.want)
			}
		})
	}
}
