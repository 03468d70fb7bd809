package api

import (
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func TestRateLimiterTake(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	reset := t0.Add(time.Hour)
	type take struct {
		key  string
		at   time.Time
		want RateDecision
	}
	tests := []struct {
		name  string
		limit int
		takes []take
	}{
		{"counts down to zero then refuses", 2, []take{
			{"a", t0, RateDecision{Allowed: true, Limit: 2, Remaining: 1, Reset: reset}},
			{"a", t0.Add(time.Minute), RateDecision{Allowed: true, Limit: 2, Remaining: 0, Reset: reset}},
			{"a", t0.Add(59 * time.Minute), RateDecision{Allowed: false, Limit: 2, Remaining: 0, Reset: reset}},
		}},
		{"keys count apart", 1, []take{
			{"a", t0, RateDecision{Allowed: true, Limit: 1, Remaining: 0, Reset: reset}},
			{"b", t0, RateDecision{Allowed: true, Limit: 1, Remaining: 0, Reset: reset}},
			{"a", t0, RateDecision{Allowed: false, Limit: 1, Remaining: 0, Reset: reset}},
		}},
		{"the next clock hour starts over", 1, []take{
			{"a", t0.Add(30 * time.Minute), RateDecision{Allowed: true, Limit: 1, Remaining: 0, Reset: reset}},
			{"a", t0.Add(59*time.Minute + 59*time.Second), RateDecision{Allowed: false, Limit: 1, Remaining: 0, Reset: reset}},
			{"a", t0.Add(time.Hour), RateDecision{Allowed: true, Limit: 1, Remaining: 0, Reset: reset.Add(time.Hour)}},
		}},
		{"a zone other than UTC gives the same window", 3, []take{
			{"a", t0.In(time.FixedZone("x", 5*3600+1800)), RateDecision{Allowed: true, Limit: 3, Remaining: 2, Reset: reset}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewRateLimiter(tt.limit)
			for i, tk := range tt.takes {
				got := l.Take(tk.key, tk.at)
				if got.Allowed != tk.want.Allowed || got.Limit != tk.want.Limit ||
					got.Remaining != tk.want.Remaining || !got.Reset.Equal(tk.want.Reset) {
					t.Errorf("take %d (%s at %s) = %+v, want %+v", i, tk.key, tk.at, got, tk.want)
				}
			}
		})
	}
}

func TestRateLimiterPrunesOldWindows(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	l := NewRateLimiter(5)
	l.Take("a", t0)
	l.Take("b", t0)
	l.Take("c", t0.Add(time.Hour))
	if len(l.windows) != 1 {
		t.Errorf("windows after an hour = %d, want 1 (only c's)", len(l.windows))
	}
}

func TestCheckCallerIP(t *testing.T) {
	key := &hookflow.APIKey{Name: "ops", AllowedIPs: []string{"10.0.0.0/8", "203.0.113.7", "2001:db8::/32"}}
	tests := []struct {
		remote string
		want   string
	}{
		{"10.1.2.3:5555", ""},
		{"203.0.113.7:80", ""},
		{"[2001:db8::1]:443", ""},
		{"203.0.113.8:80", `API key "ops" does not allow calls from IP 203.0.113.8`},
		{"[::1]:80", `API key "ops" does not allow calls from IP ::1`},
		{"garbage", `API key "ops" does not allow calls from IP garbage`},
	}
	for _, tt := range tests {
		err := checkCallerIP(key, tt.remote)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("checkCallerIP(%s) = %q, want %q", tt.remote, got, tt.want)
		}
	}
	if err := checkCallerIP(&hookflow.APIKey{}, "198.51.100.1:1"); err != nil {
		t.Errorf("key without allow-list: %v", err)
	}
}

func TestParseAllowedIPs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"10.0.0.0/8, 203.0.113.7", []string{"10.0.0.0/8", "203.0.113.7"}, ""},
		{"10.0.0.0/8,nope", nil, `allowed_ips: "nope" is neither an IP address nor a CIDR such as 10.0.0.0/8`},
	}
	for _, tt := range tests {
		got, err := ParseAllowedIPs(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if gotErr != tt.wantErr || len(got) != len(tt.want) {
			t.Errorf("ParseAllowedIPs(%q) = %v, %q; want %v, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseAllowedIPs(%q)[%d] = %q, want %q", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestSendIDQuota(t *testing.T) {
	var q sendIDQuota
	day := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for i := range maxSendIDsPerDay {
		if !q.take(day.Add(time.Duration(i) * time.Minute)) {
			t.Fatalf("take %d refused", i)
		}
	}
	if q.take(day.Add(23 * time.Hour)) {
		t.Error("take 101 on the same day allowed")
	}
	if !q.take(day.AddDate(0, 0, 1)) {
		t.Error("first take of the next day refused")
	}
}
