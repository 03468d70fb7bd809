package handoff

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func due(id string) *hookflow.Delivery {
	return &hookflow.Delivery{ID: id, State: hookflow.StatePending, DueAt: t0, CreatedAt: t0}
}

// deferrals is a Queue that records what it is asked to defer. The
// sweeper defers from a goroutine of its own.
type deferrals struct {
	mu  sync.Mutex
	got []hookflow.Deferral
}

func (q *deferrals) Defer(_ context.Context, _ time.Time, ds []hookflow.Deferral) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.got = append(q.got, ds...)
	return nil
}

func (q *deferrals) deferred() []hookflow.Deferral {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.got)
}

// started starts a hand-off whose sweeper ends with the test.
func started(t *testing.T, max int) (*Holder, *deferrals) {
	return startedWith(t, max, false)
}

// startedWith is started, for a store that counts the writes of its
// profiles when countWrites.
func startedWith(t *testing.T, max int, countWrites bool) (*Holder, *deferrals) {
	var h Holder
	if countWrites {
		h.CountWrites()
	}
	q := &deferrals{}
	h.HandOff(q, slog.New(slog.DiscardHandler), time.Minute, max, hookflow.Payload.StoredForm)
	t.Cleanup(func() { h.stop() })
	return &h, q
}

// lease leases d in r and fails the test unless it goes to the sender.
func lease(t *testing.T, r *Run, d *hookflow.Delivery, size int) {
	t.Helper()
	n := len(r.handed)
	row, err := r.Lease(d, size)
	if err != nil || len(r.handed) != n+1 {
		t.Fatalf("Lease(%s): err %v; want it handed off", d.ID, err)
	}
	if row.State != hookflow.StateSending || !row.LeaseUntil.Equal(d.CreatedAt.Add(time.Minute)) {
		t.Errorf("row %s, lease %v; want sending until CreatedAt+lease", row.State, row.LeaseUntil)
	}
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
func TestUpdatedKeepsOnlyTheLastRun(t *testing.T) {
	h, q := started(t, 2)
	first, last := h.NewRun(), h.NewRun()
	lease(t, first, due("d1"), 10)
	lease(t, last, due("d2"), 10)
	h.Updated(q, nil, []*Run{first, last}, true)
	lease(t, h.NewRun(), due("d3"), 10) // d1's place
	if h.count != 2 || h.bytes != 20 {
		t.Errorf("count %d, bytes %d; want 2, 20", h.count, h.bytes)
	}
	out, _ := h.fill(t0, nil, 10)
	if got := ids(out); !slices.Equal(got, []string{"d2"}) {
		t.Errorf("handed out %v, want [d2]", got)
	}
}

func TestBounds(t *testing.T) {
	var off Holder
	if row, _ := off.NewRun().Lease(due("off"), 1); row.State != hookflow.StatePending {
		t.Errorf("leased before HandOff")
	}
	h, _ := started(t, 2)
	r := h.NewRun()
	later := due("later")
	later.DueAt = t0.Add(time.Second)
	if row, _ := r.Lease(later, 1); row != later {
		t.Errorf("a delivery due after its creation was handed off")
	}
	if row, _ := r.Lease(due("big"), maxBytes+1); row.State != hookflow.StatePending {
		t.Errorf("a payload over the byte bound was handed off")
	}
	lease(t, r, due("a"), 1)
	lease(t, r, due("b"), 1)
	if row, _ := r.Lease(due("c"), 1); row.State != hookflow.StatePending {
		t.Errorf("a third delivery was handed off with room for two")
	}
}

// A profile a delivery carries counts against the bytes held with its
// payload.
func TestACarriedProfileCounts(t *testing.T) {
	h, _ := startedWith(t, 10, true)
	d := due("with-profile")
	d.Profile = &hookflow.User{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", Attributes: map[string]any{"plan": "gold"}}
	lease(t, h.NewRun(), d, 100)
	if want := 100 + d.Profile.Size(); h.bytes != want {
		t.Errorf("bytes held %d, want %d (payload and profile)", h.bytes, want)
	}
	big := due("big-profile")
	big.Profile = &hookflow.User{ID: "b", Attributes: map[string]any{"notes": string(make([]byte, maxBytes))}}
	if row, _ := h.NewRun().Lease(big, 1); row.State != hookflow.StatePending {
		t.Errorf("a profile over the byte bound was handed off")
	}
}

// stop hands back what is held, and a call that commits after it gets
// back what it leased, both under the leases they were given.
func TestStopHandsBackUnderTheirLeases(t *testing.T) {
	h, q := started(t, 10)
	held, inFlight := h.NewRun(), h.NewRun()
	lease(t, held, due("d1"), 5)
	h.Updated(q, nil, []*Run{held}, true)
	lease(t, inFlight, due("d2"), 5)

	stop := h.HandOff(q, slog.New(slog.DiscardHandler), time.Minute, 10, hookflow.Payload.StoredForm)
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.Updated(q, nil, []*Run{inFlight}, true)
	want := []hookflow.Deferral{
		{DeliveryID: "d1", DueAt: t0, LeaseUntil: t0.Add(time.Minute)},
		{DeliveryID: "d2", DueAt: t0, LeaseUntil: t0.Add(time.Minute)},
	}
	if !slices.Equal(q.got, want) {
		t.Errorf("handed back %v, want %v", q.got, want)
	}
	if h.count != 0 || h.bytes != 0 {
		t.Errorf("count %d, bytes %d once all settled; want 0, 0", h.count, h.bytes)
	}
}

// Held past a tenth of the lease, a delivery goes back to the table, even
// when the claim is already full from the table.
func TestHeldTooLongGoesBackWhateverTheLimit(t *testing.T) {
	h, q := started(t, 10)
	r := h.NewRun()
	lease(t, r, due("old"), 1)
	fresh := due("fresh")
	fresh.DueAt, fresh.CreatedAt = t0.Add(10*time.Second), t0.Add(10*time.Second)
	lease(t, r, fresh, 1)
	h.Updated(q, nil, []*Run{r}, true)

	table := []*hookflow.Delivery{due("t1")}
	out := h.Claimed(context.Background(), q, nil, t0.Add(7*time.Second), table, 1)
	if got := ids(out); !slices.Equal(got, []string{"t1"}) {
		t.Errorf("claim of one: %v, want [t1]", got)
	}
	if len(q.got) != 1 || q.got[0].DeliveryID != "old" {
		t.Errorf("handed back %v, want old", q.got)
	}
	out = h.Claimed(context.Background(), q, nil, t0.Add(8*time.Second), nil, 5)
	if got := ids(out); !slices.Equal(got, []string{"fresh"}) {
		t.Errorf("next claim: %v, want [fresh]", got)
	}
}

// A delivery held past a tenth of its lease goes back to the table even
// when no claim comes (the sender's slots are all taken by slow
// receivers): the sweeper hands it back, under the lease it was given, and
// no later claim hands it out.
func TestSweeperHandsBackWithoutAClaim(t *testing.T) {
	var h Holder
	q := &deferrals{}
	const lease = 200 * time.Millisecond
	stop := h.HandOff(q, slog.New(slog.DiscardHandler), lease, 10, hookflow.Payload.StoredForm)
	defer stop(context.Background())

	r := h.NewRun()
	if _, err := r.Lease(due("d1"), 1); err != nil || len(r.handed) != 1 {
		t.Fatalf("Lease: %v; want d1 handed off", err)
	}
	h.Updated(q, nil, []*Run{r}, true)

	deadline := time.Now().Add(5 * time.Second)
	for len(q.deferred()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	want := []hookflow.Deferral{{DeliveryID: "d1", DueAt: t0, LeaseUntil: t0.Add(lease)}}
	if got := q.deferred(); !slices.Equal(got, want) {
		t.Fatalf("handed back %v, want %v", got, want)
	}
	if out := h.Claimed(context.Background(), q, nil, t0, nil, 10); len(out) != 0 {
		t.Errorf("a claim after the sweep handed out %v", ids(out))
	}
	if h.count != 0 || h.bytes != 0 {
		t.Errorf("count %d, bytes %d after the sweep; want 0, 0", h.count, h.bytes)
	}
}

// A delivery created at a time with nanoseconds is leased to the
// microsecond, as the stores keep times, so a hand-back names the lease
// the table holds.
func TestLeaseIsKeptToTheMicrosecond(t *testing.T) {
	h, _ := started(t, 10)
	d := due("ns")
	d.CreatedAt = t0.Add(1500 * time.Nanosecond)
	d.DueAt = d.CreatedAt
	row, err := h.NewRun().Lease(d, 1)
	if want := t0.Add(time.Minute + time.Microsecond); err != nil || !row.LeaseUntil.Equal(want) {
		t.Errorf("lease until %v (%v), want %v", row.LeaseUntil, err, want)
	}
}

// A delivery is handed out with the profile it carries only while no
// write of its user came since it was leased, and only by a store that
// counts those writes.
func TestACarriedProfileIsHandedOutOnlyUnwritten(t *testing.T) {
	withProfile := func(id, user string) *hookflow.Delivery {
		d := due(id)
		d.UserID = user
		d.Profile = &hookflow.User{ID: user, Attributes: map[string]any{"plan": "gold"}}
		return d
	}

	h, q := startedWith(t, 10, true)
	r := h.NewRun()
	lease(t, r, withProfile("kept", "u1"), 10)
	lease(t, r, withProfile("written", "u2"), 10)
	h.Updated(q, nil, []*Run{r}, true)
	h.UserWritten("u2")
	out, _ := h.fill(t0, nil, 10)
	if len(out) != 2 {
		t.Fatalf("handed out %v, want both", ids(out))
	}
	if out[0].Profile == nil {
		t.Errorf("the profile of a user not written since was dropped")
	}
	if out[1].Profile != nil {
		t.Errorf("the profile of a user written since was handed out")
	}

	off, q := started(t, 10)
	r = off.NewRun()
	lease(t, r, withProfile("uncounted", "u1"), 10)
	off.Updated(q, nil, []*Run{r}, true)
	if out, _ := off.fill(t0, nil, 10); len(out) != 1 || out[0].Profile != nil || off.bytes != 0 {
		t.Errorf("a store that counts no writes: handed out %+v; want it without its profile", out)
	}
}
