package handoff

import (
	"slices"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func due(id string) *hookflow.Delivery {
	return &hookflow.Delivery{ID: id, State: hookflow.StatePending, DueAt: t0, CreatedAt: t0}
}

// lease leases d and fails the test unless it goes to the sender.
func lease(t *testing.T, h *Holder, d *hookflow.Delivery, size int) Handed {
	t.Helper()
	row, x, err := h.Lease(d, size)
	if err != nil || x == nil {
		t.Fatalf("Lease(%s): handed %v, err %v; want it handed off", d.ID, x, err)
	}
	if row.State != hookflow.StateSending || !row.LeaseUntil.Equal(t0.Add(time.Minute)) {
		t.Errorf("row %s, lease %v; want sending until CreatedAt+lease", row.State, row.LeaseUntil)
	}
	return *x
}

func ids(ds []*hookflow.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// A call that ran twice (its group's commit failed, then it ran alone)
// hands off only what its last run committed, and the first run's place
// is free again.
func TestSettleRunsKeepsOnlyTheLastRun(t *testing.T) {
	var h Holder
	h.Start(time.Minute, 2)
	first, last := lease(t, &h, due("d1"), 10), lease(t, &h, due("d2"), 10)
	if orphans := h.SettleRuns([][]Handed{{first}, {last}}, true); len(orphans) != 0 {
		t.Fatalf("orphans %v, want none", ids(orphans))
	}
	lease(t, &h, due("d3"), 10) // d1's place
	if h.count != 2 || h.bytes != 20 {
		t.Errorf("count %d, bytes %d; want 2, 20", h.count, h.bytes)
	}
	out, _ := h.Fill(t0, nil, 10)
	if got := ids(out); !slices.Equal(got, []string{"d2"}) {
		t.Errorf("handed out %v, want [d2]", got)
	}
}

func TestBounds(t *testing.T) {
	var h Holder
	for _, d := range []*hookflow.Delivery{due("off")} {
		if _, x, _ := h.Lease(d, 1); x != nil {
			t.Errorf("leased %s before Start", d.ID)
		}
	}
	h.Start(time.Minute, 2)
	later := due("later")
	later.DueAt = t0.Add(time.Second)
	if row, x, _ := h.Lease(later, 1); x != nil || row != later {
		t.Errorf("a delivery due after its creation was handed off")
	}
	if _, x, _ := h.Lease(due("big"), maxBytes+1); x != nil {
		t.Errorf("a payload over the byte bound was handed off")
	}
	lease(t, &h, due("a"), 1)
	lease(t, &h, due("b"), 1)
	if _, x, _ := h.Lease(due("c"), 1); x != nil {
		t.Errorf("a third delivery was handed off with room for two")
	}
}

// Stop returns what is held, and a call that commits after it gets back
// what it leased, to be made pending again.
func TestStopReturnsWhatIsHeld(t *testing.T) {
	var h Holder
	h.Start(time.Minute, 10)
	h.Settle([]Handed{lease(t, &h, due("d1"), 5)}, true)
	inFlight := lease(t, &h, due("d2"), 5)
	if got := ids(h.Stop()); !slices.Equal(got, []string{"d1"}) {
		t.Errorf("Stop returned %v, want [d1]", got)
	}
	if orphans := h.Settle([]Handed{inFlight}, true); !slices.Equal(ids(orphans), []string{"d2"}) {
		t.Errorf("committed after Stop: orphans %v, want [d2]", ids(orphans))
	}
	if h.count != 0 || h.bytes != 0 {
		t.Errorf("count %d, bytes %d once all settled; want 0, 0", h.count, h.bytes)
	}
}
