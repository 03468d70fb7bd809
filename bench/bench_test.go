package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/intake"
)

func TestPct(t *testing.T) {
	xs := []int64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	tests := []struct {
		p    float64
		want int64
	}{
		{50, 5}, {90, 9}, {99, 10}, {100, 10}, {1, 1},
	}
	for _, tt := range tests {
		if got := pct(xs, tt.p); got != tt.want {
			t.Errorf("pct(%v) = %d, want %d", tt.p, got, tt.want)
		}
	}
	if got := pct(nil, 99); got != 0 {
		t.Errorf("pct of nothing = %d, want 0", got)
	}
	if got := pct([]int64{1, never}, 99); got != never {
		t.Errorf("an undelivered webhook must dominate p99: got %d", got)
	}
}

// The bodies the driver sends must be what Hookflow accepts: 75 valid events
// each carrying the call id the receiver traces latency by.
func TestTrackBodyIsValidIntake(t *testing.T) {
	body := trackBody(42, events("bench_e2e", 75, 1000))
	b, err := intake.Parse(body, time.Now())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(b.Events) != 75 || len(b.Errors) != 0 {
		t.Fatalf("events %d, errors %v; want 75 and none", len(b.Events), b.Errors)
	}
	if got := b.Events[0].Event.Properties["b"]; got != "42" {
		t.Errorf("properties.b = %v, want \"42\"", got)
	}
}

func TestSendBodyHasDistinctRecipients(t *testing.T) {
	var req struct {
		Recipients []struct {
			ExternalUserID string `json:"external_user_id"`
		}
	}
	if err := json.Unmarshal(sendBody("c1", 7, 60), &req); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range req.Recipients {
		seen[r.ExternalUserID] = true
	}
	if len(req.Recipients) != 50 || len(seen) != 50 {
		t.Errorf("recipients %d, distinct %d; want 50 and 50", len(req.Recipients), len(seen))
	}
}

func TestReadProcStatsOfSelf(t *testing.T) {
	st, err := readProcStats(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if st.PeakRSS < 1<<20 {
		t.Errorf("peak RSS %d bytes: a Go test binary holds at least 1 MiB", st.PeakRSS)
	}
	if st.CPU < 0 {
		t.Errorf("CPU %v is negative", st.CPU)
	}
}

// The control line compares the healthy p99 beside healthy neighbours with
// the same endpoint alone and beside the bad ones, and is left out when
// neighbours-good did not run.
func TestPrintControl(t *testing.T) {
	p99 := func(name string, ms float64) *result {
		return &result{name: name, values: map[string]float64{keyP99: ms}}
	}
	rs := map[string]*result{
		"e2e-1000":        p99("e2e-1000", 2),
		"neighbours":      p99("neighbours", 3.3),
		"neighbours-good": p99("neighbours-good", 3),
	}
	var out strings.Builder
	printControl(&out, rs)
	want := "3.0 ms / 2.0 ms = 1.50×; beside the bad ones / beside healthy ones: 1.10×\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Errorf("printControl wrote %q, want it to end with %q", out.String(), want)
	}

	delete(rs, "neighbours-good")
	out.Reset()
	if printControl(&out, rs); out.Len() != 0 {
		t.Errorf("without neighbours-good printControl wrote %q", out.String())
	}
}
