package api

import (
	"testing"

	"github.com/hookflow/hookflow"
)

func TestLiteralOrigin(t *testing.T) {
	tests := []struct {
		tmpl, want string
		ok         bool
	}{
		{"http://10.0.0.1/users/{{${user_id}}}", "http://10.0.0.1/", true},
		{"https://api.example.com", "https://api.example.com/", true},
		{"http://2130706433:9999?x={{a}}", "http://2130706433:9999/", true},
		{"http://[::1]:80#{{a}}", "http://[::1]:80/", true},
		{"{{custom_attribute.${base}}}/x", "", false},
		{"http://{{custom_attribute.${host}}}/x", "", false},
		{"http://api-{{${user_id}}}.example.com/x", "", false},
		{"{% if a %}http{% endif %}://x/", "", false},
		{"not a url", "", false},
	}
	for _, tt := range tests {
		got, ok := literalOrigin(tt.tmpl)
		if got != tt.want || ok != tt.ok {
			t.Errorf("literalOrigin(%q) = %q, %v; want %q, %v", tt.tmpl, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRedacted(t *testing.T) {
	in := []hookflow.Header{
		{Name: "Authorization", Value: "Bearer abc123"},
		{Name: "authorization", Value: "abc123"},
		{Name: "X-Api-Key", Value: "k-1"},
		{Name: "X-Auth-Token", Value: "t"},
		{Name: "X-Game-Signature", Value: "deadbeef"},
		{Name: "Content-Type", Value: "application/json"},
		{Name: "X-User", Value: "ana"},
	}
	want := []string{"Bearer [redacted]", "[redacted]", "[redacted]", "[redacted]", "[redacted]",
		"application/json", "ana"}
	got := redacted(in)
	for i := range want {
		if got[i].Value != want[i] {
			t.Errorf("%s: %q, want %q", in[i].Name, got[i].Value, want[i])
		}
	}
	if in[0].Value != "Bearer abc123" {
		t.Error("redacted changed its input")
	}
}
