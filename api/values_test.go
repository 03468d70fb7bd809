package api

import "testing"

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
