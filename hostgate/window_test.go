package hostgate

import (
	"testing"
	"time"
)

func TestWindowSlidesToTheSecond(t *testing.T) {
	tests := []struct {
		name string
		adds []time.Duration // offsets from t0 of each event
		at   time.Duration   // when to count
		want int
	}{
		{"none", nil, 0, 0},
		{"same instant", []time.Duration{0, 0, 0}, 0, 3},
		{"last moment of the window", []time.Duration{900 * time.Millisecond},
			59*time.Second + 999*time.Millisecond, 1},
		{"falls out when second 60 begins", []time.Duration{900 * time.Millisecond}, 60 * time.Second, 0},
		{"first out", []time.Duration{0, 30 * time.Second, 59 * time.Second}, 61 * time.Second, 2},
		{"second out", []time.Duration{0, 30 * time.Second, 59 * time.Second}, 90 * time.Second, 1},
		{"spread over the window", []time.Duration{0, 10 * time.Second, 20 * time.Second, 59 * time.Second},
			59 * time.Second, 4},
		{"long idle empties", []time.Duration{0, time.Second}, time.Hour, 0},
		{"clock stepping back counts now", []time.Duration{10 * time.Second, 5 * time.Second}, 10 * time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w window
			for _, d := range tt.adds {
				w.add(t0.Add(d), 60)
			}
			if got := w.count(t0.Add(tt.at)); got != tt.want {
				t.Errorf("count = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWindowRecountsAfterGaps(t *testing.T) {
	// One event per second for three minutes: a full window always holds
	// exactly 60, whatever the ring's position.
	var w window
	for s := range 180 {
		now := t0.Add(time.Duration(s) * time.Second)
		w.add(now, 60)
		want := min(s+1, 60)
		if got := w.count(now); got != want {
			t.Fatalf("second %d: count = %d, want %d", s, got, want)
		}
	}
}
