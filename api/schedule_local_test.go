package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func TestLocalDueAt(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := utc("2026-03-07T00:00:00Z")
	tests := []struct {
		name, wall string
		zone       any
		want       string // "" means skipped
	}{
		{"no zone is UTC", "2026-03-08T09:00:00Z", nil, "2026-03-08T09:00:00Z"},
		{"unknown zone is UTC", "2026-03-08T09:00:00Z", "Mars/Olympus", "2026-03-08T09:00:00Z"},
		{"Local is UTC, not the server's zone", "2026-03-08T09:00:00Z", "Local", "2026-03-08T09:00:00Z"},
		{"not a string is UTC", "2026-03-08T09:00:00Z", 5, "2026-03-08T09:00:00Z"},
		{"Los Angeles after the spring change", "2026-03-08T09:00:00Z", "America/Los_Angeles", "2026-03-08T16:00:00Z"},
		{"Los Angeles before it", "2026-03-07T09:00:00Z", "America/Los_Angeles", "2026-03-07T17:00:00Z"},
		// 02:30 does not exist that night; Go moves it to 03:30 PDT.
		{"in the spring gap", "2026-03-08T02:30:00Z", "America/Los_Angeles", "2026-03-08T10:30:00Z"},
		{"Kiritimati, the first zone", "2026-03-07T14:00:00Z", "Pacific/Kiritimati", "2026-03-07T00:00:00Z"},
		{"passed in that zone", "2026-03-07T13:59:59Z", "Pacific/Kiritimati", ""},
	}
	for _, tt := range tests {
		u := &hookflow.User{Attributes: map[string]any{}}
		if tt.zone != nil {
			u.Attributes["time_zone"] = tt.zone
		}
		got := localDueAt(utc(tt.wall), now)(u)
		var want time.Time
		if tt.want != "" {
			want = utc(tt.want)
		}
		if !got.Equal(want) {
			t.Errorf("%s: %v, want %v", tt.name, got, want)
		}
	}
}

func TestLocalTimeMarkRoundTrips(t *testing.T) {
	body := json.RawMessage(`{"campaign_id":"c1","trigger_properties":{"n":12345678901234567890}}`)
	wall := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	marked, err := withLocalTime(body, wall)
	if err != nil {
		t.Fatal(err)
	}
	rest, got, err := splitLocalTime(marked)
	if err != nil || !got.Equal(wall) {
		t.Fatalf("split: %v, %v; want %v", got, err, wall)
	}
	if string(rest) != string(body) {
		t.Errorf("rest %s, want %s", rest, body)
	}
	plain, got, err := splitLocalTime(body)
	if err != nil || !got.IsZero() || string(plain) != string(body) {
		t.Errorf("unmarked: %s, %v, %v", plain, got, err)
	}
	cleared, _ := withLocalTime(marked, time.Time{})
	if _, got, _ := splitLocalTime(cleared); !got.IsZero() {
		t.Errorf("cleared mark still reads %v", got)
	}
}
