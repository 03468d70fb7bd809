package sender

import (
	"testing"
	"time"
)

func TestBusyDelayDoublesWhileTheHostStaysBusy(t *testing.T) {
	const base = 100 * time.Millisecond
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := busyHosts{}
	steps := []struct {
		after time.Duration // since start
		host  string
		want  time.Duration // before the spread of up to half again
	}{
		{0, "slow.example", base},
		// Within the first delay: the deferred ones have not come back yet.
		{50 * time.Millisecond, "slow.example", base},
		{100 * time.Millisecond, "slow.example", 2 * base},
		{250 * time.Millisecond, "slow.example", 2 * base},
		{300 * time.Millisecond, "slow.example", 4 * base},
		// Another host starts from the base.
		{300 * time.Millisecond, "other.example", base},
		{700 * time.Millisecond, "slow.example", 8 * base},
		{1500 * time.Millisecond, "slow.example", 16 * base},
		{3100 * time.Millisecond, "slow.example", 32 * base},
		{6300 * time.Millisecond, "slow.example", maxBusyDelay},
		{20 * time.Second, "slow.example", maxBusyDelay},
	}
	for _, st := range steps {
		got := b.delay(st.host, start.Add(st.after), base, true)
		if got < st.want || got > st.want*3/2 {
			t.Errorf("at +%s, %s: delay %s, want %s to %s", st.after, st.host, got, st.want, st.want*3/2)
		}
	}

	b.free("slow.example")
	if got := b.delay("slow.example", start.Add(21*time.Second), base, true); got > base*3/2 {
		t.Errorf("after free: delay %s, want the base %s again", got, base)
	}
	if _, ok := b["other.example"]; !ok {
		t.Fatal("other.example forgotten before a sweep")
	}
	// Fast again: back to the base at once.
	b.delay("other.example", start.Add(time.Second), base, true)
	if got := b.delay("other.example", start.Add(2*time.Second), base, false); got > base*3/2 {
		t.Errorf("fast host: delay %s, want the base %s", got, base)
	}
	b.sweep(start.Add(21 * time.Second))
	if _, ok := b["other.example"]; ok {
		t.Error("sweep kept other.example, last busy 19 s ago")
	}
	if _, ok := b["slow.example"]; !ok {
		t.Error("sweep dropped slow.example, busy just now")
	}
}

// A host whose waiter waited maxWait without a slot is put off for the
// longest delay at once; freeing a slot brings it back to the base.
func TestAStalledHostGetsTheLongestDelayAtOnce(t *testing.T) {
	const base = 100 * time.Millisecond
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := busyHosts{}
	b.delay("slow.example", start, base, true)
	b.stalled("slow.example", start.Add(2*time.Second))
	for _, after := range []time.Duration{2 * time.Second, 3 * time.Second, 9 * time.Second} {
		if got := b.delay("slow.example", start.Add(after), base, true); got < maxBusyDelay || got > maxBusyDelay*3/2 {
			t.Errorf("at +%s after the stall: delay %s, want %s to %s", after, got, maxBusyDelay, maxBusyDelay*3/2)
		}
	}
	b.free("slow.example")
	if got := b.delay("slow.example", start.Add(10*time.Second), base, true); got > base*3/2 {
		t.Errorf("after free: delay %s, want the base %s again", got, base)
	}
}
