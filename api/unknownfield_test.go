package api

import (
	"reflect"
	"testing"
)

func TestUnknownFieldPath(t *testing.T) {
	type header struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	type hook struct {
		Method  string   `json:"method"`
		Headers []header `json:"headers"`
	}
	type embedded struct {
		Tags []string `json:"tags"`
	}
	type request struct {
		embedded
		Name     string          `json:"name"`
		Webhook  *hook           `json:"webhook"`
		Hooks    map[string]hook `json:"hooks"`
		Props    map[string]any  `json:"props"`
		Skipped  string          `json:"-"`
		Untagged int
	}
	tests := []struct {
		body, key, want string
		ok              bool
	}{
		{`{"name":"a","delay":5}`, "delay", "", true},
		{`{"name":"a","webhook":{"method":"POST","body":"x"}}`, "body", "webhook", true},
		{`{"webhook":{"headers":[{"name":"a","value":"b"},{"name":"c","valeu":"d"}]}}`, "valeu", "webhook.headers[1]", true},
		{`{"hooks":{"crm":{"method":"PUT","url":"u"}}}`, "url", "hooks.crm", true},
		// Keys match fields as encoding/json matches them: by tag, then
		// without regard to case; embedded fields are promoted; "-" takes
		// nothing.
		{`{"NAME":"a","WEBHOOK":{"Method":"x","extra":1}}`, "extra", "WEBHOOK", true},
		{`{"tags":["a"],"untagged":1,"Skipped":"x"}`, "Skipped", "", true},
		// Free-form values hold any key; a body that does not parse, or a
		// key found nowhere, is not placed.
		{`{"props":{"extra":1}}`, "extra", "", false},
		{`{"name":`, "name", "", false},
		{`{"name":"a"}`, "other", "", false},
	}
	for _, tt := range tests {
		got, ok := unknownFieldPath([]byte(tt.body), reflect.TypeOf(&request{}), tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("unknownFieldPath(%s, %q) = %q, %v; want %q, %v", tt.body, tt.key, got, ok, tt.want, tt.ok)
		}
	}
}
