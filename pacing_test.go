package hookflow_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func TestPaceInterval(t *testing.T) {
	tests := []struct {
		perMinute int
		want      time.Duration
	}{
		{1, time.Minute},
		{2, 30 * time.Second},
		{10, 6 * time.Second},
		// 60 s / 7 rounded up to the microsecond: seven slots span a little
		// more than a minute, never less.
		{7, 8571429 * time.Microsecond},
		{5000, 12 * time.Millisecond},
		{500_000, 120 * time.Microsecond},
	}
	for _, tt := range tests {
		if got := hookflow.PaceInterval(tt.perMinute); got != tt.want {
			t.Errorf("PaceInterval(%d) = %v, want %v", tt.perMinute, got, tt.want)
		}
		if n := time.Duration(tt.perMinute); n*hookflow.PaceInterval(tt.perMinute) < time.Minute {
			t.Errorf("PaceInterval(%d): %d slots fit in less than a minute", tt.perMinute, tt.perMinute)
		}
	}
}

func TestPace(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	send := func(id string, slot time.Time) hookflow.PaceDecision {
		return hookflow.PaceDecision{DeliveryID: id, Action: hookflow.PaceSend, Slot: slot}
	}
	wait := func(id string, slot time.Time) hookflow.PaceDecision {
		return hookflow.PaceDecision{DeliveryID: id, Action: hookflow.PaceWait, Slot: slot}
	}
	abort := func(id string) hookflow.PaceDecision {
		return hookflow.PaceDecision{DeliveryID: id, Action: hookflow.PaceAbort}
	}
	fresh := func(ids ...string) []hookflow.PaceClaim {
		cs := make([]hookflow.PaceClaim, len(ids))
		for i, id := range ids {
			cs[i] = hookflow.PaceClaim{DeliveryID: id}
		}
		return cs
	}

	tests := []struct {
		name      string
		now       time.Time
		pacing    hookflow.Pacing
		perMinute int
		claims    []hookflow.PaceClaim
		want      []hookflow.PaceDecision
		next      hookflow.Pacing
	}{
		{
			name: "H2: five at once at 1 a minute, one now and four a minute apart",
			now:  t0, perMinute: 1, claims: fresh("a", "b", "c", "d", "e"),
			want: []hookflow.PaceDecision{send("a", t0), wait("b", at(time.Minute)), wait("c", at(2*time.Minute)),
				wait("d", at(3*time.Minute)), wait("e", at(4*time.Minute))},
			next: hookflow.Pacing{LastSent: t0, LastReserved: at(4 * time.Minute)},
		},
		{
			name: "a held slot that has come is sent, and reserves nothing",
			now:  at(time.Minute), perMinute: 1,
			pacing: hookflow.Pacing{LastSent: t0, LastReserved: at(4 * time.Minute)},
			claims: []hookflow.PaceClaim{{DeliveryID: "b", Held: at(time.Minute)}},
			want:   []hookflow.PaceDecision{send("b", at(time.Minute))},
			next:   hookflow.Pacing{LastSent: at(time.Minute), LastReserved: at(4 * time.Minute)},
		},
		{
			name: "a held slot still ahead (a claimer's clock ahead of the reserver's) waits again",
			now:  at(59 * time.Second), perMinute: 1,
			pacing: hookflow.Pacing{LastSent: t0, LastReserved: at(time.Minute)},
			claims: []hookflow.PaceClaim{{DeliveryID: "b", Held: at(time.Minute)}},
			want:   []hookflow.PaceDecision{wait("b", at(time.Minute))},
			next:   hookflow.Pacing{LastSent: t0, LastReserved: at(time.Minute)},
		},
		{
			name: "a retry takes the next free slot, after every one reserved",
			now:  at(10 * time.Second), perMinute: 1,
			pacing: hookflow.Pacing{LastSent: t0, LastReserved: at(4 * time.Minute)},
			claims: fresh("a"),
			want:   []hookflow.PaceDecision{wait("a", at(5*time.Minute))},
			next:   hookflow.Pacing{LastSent: t0, LastReserved: at(5 * time.Minute)},
		},
		{
			name: "after a quiet spell the first goes at once",
			now:  at(time.Hour), perMinute: 60,
			pacing: hookflow.Pacing{LastSent: t0, LastReserved: t0},
			claims: fresh("a", "b"),
			want:   []hookflow.PaceDecision{send("a", at(time.Hour)), wait("b", at(time.Hour+time.Second))},
			next:   hookflow.Pacing{LastSent: at(time.Hour), LastReserved: at(time.Hour + time.Second)},
		},
		{
			name: "within the interval of the last send, the next waits for it",
			now:  at(200 * time.Millisecond), perMinute: 60,
			pacing: hookflow.Pacing{LastSent: t0, LastReserved: t0},
			claims: fresh("a"),
			want:   []hookflow.PaceDecision{wait("a", at(time.Second))},
			next:   hookflow.Pacing{LastSent: t0, LastReserved: at(time.Second)},
		},
		{
			name: "exactly one interval after the last, it goes",
			now:  at(time.Second), perMinute: 60,
			pacing: hookflow.Pacing{LastSent: t0, LastReserved: t0},
			claims: fresh("a"),
			want:   []hookflow.PaceDecision{send("a", at(time.Second))},
			next:   hookflow.Pacing{LastSent: at(time.Second), LastReserved: at(time.Second)},
		},
		{
			name: "held and fresh claims together: the held keep theirs, the fresh queue after the last reserved",
			now:  at(2 * time.Minute), perMinute: 1,
			pacing: hookflow.Pacing{LastSent: at(time.Minute), LastReserved: at(3 * time.Minute)},
			claims: []hookflow.PaceClaim{{DeliveryID: "c", Held: at(2 * time.Minute)}, {DeliveryID: "x"}},
			want:   []hookflow.PaceDecision{send("c", at(2*time.Minute)), wait("x", at(4*time.Minute))},
			next:   hookflow.Pacing{LastSent: at(2 * time.Minute), LastReserved: at(4 * time.Minute)},
		},
		{
			name: "a slot 72 h or more away aborts, takes no slot, and the next in the batch aborts too",
			now:  t0, perMinute: 1,
			pacing: hookflow.Pacing{LastSent: t0, LastReserved: at(72*time.Hour - 2*time.Minute)},
			claims: fresh("a", "b", "c"),
			want:   []hookflow.PaceDecision{wait("a", at(72*time.Hour-time.Minute)), abort("b"), abort("c")},
			next:   hookflow.Pacing{LastSent: t0, LastReserved: at(72*time.Hour - time.Minute)},
		},
		{
			name: "a raised limit spaces the next slot by the new interval",
			now:  at(time.Second), perMinute: 6,
			pacing: hookflow.Pacing{LastSent: t0, LastReserved: t0},
			claims: fresh("a", "b"),
			want:   []hookflow.PaceDecision{wait("a", at(10*time.Second)), wait("b", at(20*time.Second))},
			next:   hookflow.Pacing{LastSent: t0, LastReserved: at(20 * time.Second)},
		},
		{
			name: "now is taken to the microsecond",
			now:  t0.Add(1500 * time.Nanosecond), perMinute: 500_000,
			claims: fresh("a", "b"),
			want:   []hookflow.PaceDecision{send("a", at(time.Microsecond)), wait("b", at(121*time.Microsecond))},
			next:   hookflow.Pacing{LastSent: at(time.Microsecond), LastReserved: at(121 * time.Microsecond)},
		},
		{
			name: "no claims change nothing",
			now:  t0, perMinute: 1, pacing: hookflow.Pacing{LastSent: t0, LastReserved: t0},
			want: []hookflow.PaceDecision{},
			next: hookflow.Pacing{LastSent: t0, LastReserved: t0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, got := hookflow.Pace(tt.now, tt.pacing, tt.perMinute, tt.claims)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decisions:\n got %v\nwant %v", got, tt.want)
			}
			if next != tt.next {
				t.Errorf("pacing = %+v, want %+v", next, tt.next)
			}
		})
	}
}

func TestPacingRelease(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	p := hookflow.Pacing{LastSent: t0, LastReserved: t0.Add(4 * time.Minute)}
	if got := p.Release(); got != (hookflow.Pacing{LastSent: t0, LastReserved: t0}) {
		t.Errorf("Release() = %+v; want the reservations back to the last sent, %v", got, t0)
	}
}
