package intake

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time // zero: refused
	}{
		{"2026-12-01T10:00:00Z", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{"2026-12-01T10:00:00.123Z", time.Date(2026, 12, 1, 10, 0, 0, 123e6, time.UTC)},
		{"2026-12-01T10:00:00.123456789+02:00", time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.UTC)},
		{"2026-12-01T10:00:00-05:30", time.Date(2026, 12, 1, 15, 30, 0, 0, time.UTC)},
		{"2026-12-01T10:00:00+0100", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		{"2026-12-01T10:00:00.5-0100", time.Date(2026, 12, 1, 11, 0, 0, 5e8, time.UTC)},
		{"2026-12-01T10:00:00", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{"2026-12-01T10:00:00.75", time.Date(2026, 12, 1, 10, 0, 0, 75e7, time.UTC)},
		{"2026-12-01 10:00:00Z", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{"2026-12-01 10:00:00", time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{"yesterday", time.Time{}},
		{"", time.Time{}},
		{"2026-12-01", time.Time{}},
		{"1764583200", time.Time{}},
		{"2026-12-01T25:00:00Z", time.Time{}},
		{"2026-02-30T10:00:00Z", time.Time{}},
		{"2026-12-01T10:00Z", time.Time{}},
		{"2026-12-01T10:00:00+25:00", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTime(tt.in)
			if tt.want.IsZero() {
				if err == nil {
					t.Errorf("parseTime(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("parseTime(%q) = %v, %v; want %v in UTC", tt.in, got, err, tt.want)
			}
		})
	}
}
