package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

var rpT0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// rpSeed stores one delivery per entry of ds, in order, created a minute
// apart from rpT0, so their IDs (given) sort by age.
func rpSeed(t *testing.T, s hookflow.Store, ds []*hookflow.Delivery) {
	t.Helper()
	for i, d := range ds {
		d.Origin, d.UserID = hookflow.OriginCampaign, "u"
		d.CreatedAt = rpT0.Add(time.Duration(i) * time.Minute)
		d.DueAt = d.CreatedAt
	}
	err := s.Update(context.Background(), func(tx hookflow.Tx) error { return tx.Enqueue(ds) })
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func rpDelivery(id, state, campaign, url string, status int) *hookflow.Delivery {
	d := &hookflow.Delivery{ID: id, State: state, CampaignID: campaign, LastStatus: status,
		Attempts: 1, LastError: "status " + id, FirstAttemptAt: rpT0}
	if url != "" {
		d.Request = &hookflow.Request{Method: "POST", URL: url, Body: []byte(`{"id":"` + id + `"}`)}
	}
	return d
}

// rpFixture is a store holding deliveries in every state, to three hosts.
func rpFixture(t *testing.T, s hookflow.Store) {
	rpSeed(t, s, []*hookflow.Delivery{
		rpDelivery("d01", hookflow.StateFailed, "c1", "https://a.example.com/hook", 403),
		rpDelivery("d02", hookflow.StateFailed, "c1", "https://A.example.com:8443/hook", 500),
		rpDelivery("d03", hookflow.StateFailed, "c2", "http://b.example.com/x", 403),
		rpDelivery("d04", hookflow.StateFailed, "c2", "", 0), // template failed
		rpDelivery("d05", hookflow.StateDelivered, "c1", "https://a.example.com/hook", 200),
		rpDelivery("d06", hookflow.StatePending, "c1", "https://a.example.com/hook", 500),
		rpDelivery("d07", hookflow.StateAborted, "c1", "", 0),
		rpDelivery("d08", hookflow.StateFailed, "c1", "https://nota.example.com/hook", 403),
	})
}

func testReplayCountsWhatTheFilterSelects(t *testing.T, s hookflow.Store) {
	rpFixture(t, s)
	tests := []struct {
		name string
		f    hookflow.ReplayFilter
		want int
	}{
		{"every failed", hookflow.ReplayFilter{}, 5},
		{"campaign", hookflow.ReplayFilter{CampaignID: "c1"}, 3},
		{"host any port, any case", hookflow.ReplayFilter{Host: "a.EXAMPLE.com"}, 2},
		{"host and port", hookflow.ReplayFilter{Host: "a.example.com:8443"}, 1},
		{"host and the scheme's default port", hookflow.ReplayFilter{Host: "a.example.com:443"}, 1},
		{"host is not a substring match", hookflow.ReplayFilter{Host: "example.com"}, 0},
		{"status", hookflow.ReplayFilter{Status: 403}, 3},
		{"since, inclusive", hookflow.ReplayFilter{Since: rpT0.Add(2 * time.Minute)}, 3},
		{"until, exclusive", hookflow.ReplayFilter{Until: rpT0.Add(2 * time.Minute)}, 2},
		{"combined", hookflow.ReplayFilter{CampaignID: "c1", Status: 403, Host: "a.example.com"}, 1},
		{"one failed", hookflow.ReplayFilter{DeliveryID: "d03"}, 1},
		{"one delivered", hookflow.ReplayFilter{DeliveryID: "d05"}, 1},
		{"one, excluded by another filter", hookflow.ReplayFilter{DeliveryID: "d05", CampaignID: "c2"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Replay(context.Background(), tt.f, rpT0.Add(time.Hour), true, time.Second)
			if err != nil || got != tt.want {
				t.Errorf("Replay(%+v, dry run) = %d, %v; want %d", tt.f, got, err, tt.want)
			}
		})
	}

	// The dry runs changed nothing.
	ds, err := s.ListDeliveries(context.Background(), hookflow.DeliveryFilter{State: hookflow.StateFailed})
	if err != nil || len(ds) != 5 {
		t.Errorf("after dry runs: %d failed deliveries, %v; want 5", len(ds), err)
	}
}

func testReplayRequeuesWithTheSameIDSpacedApart(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	rpFixture(t, s)
	now := rpT0.Add(time.Hour)
	n, err := s.Replay(ctx, hookflow.ReplayFilter{CampaignID: "c1"}, now, false, 10*time.Millisecond)
	if err != nil || n != 3 {
		t.Fatalf("Replay = %d, %v; want 3", n, err)
	}

	for i, id := range []string{"d01", "d02", "d08"} {
		d, _, err := s.GetDelivery(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wantDue := now.Add(time.Duration(i) * 10 * time.Millisecond)
		if d.State != hookflow.StatePending || !d.DueAt.Equal(wantDue) || !d.FirstAttemptAt.IsZero() ||
			d.Attempts != 1 || d.LastError != "status "+id || d.Request == nil ||
			string(d.Request.Body) != `{"id":"`+id+`"}` || !d.UpdatedAt.Equal(now) {
			t.Errorf("%s after replay: %s", id, rpDescribe(d))
			t.Errorf("want pending due %v, first attempt zero, attempts 1, last error and request kept", wantDue)
		}
	}
	for id, want := range map[string]string{"d03": hookflow.StateFailed, "d05": hookflow.StateDelivered,
		"d06": hookflow.StatePending, "d07": hookflow.StateAborted} {
		d, _, _ := s.GetDelivery(ctx, id)
		if d.State != want {
			t.Errorf("%s is %s after replaying c1; want it left %s", id, d.State, want)
		}
	}

	// Replayed deliveries are pending, so a second replay finds none.
	n, err = s.Replay(ctx, hookflow.ReplayFilter{CampaignID: "c1"}, now, false, 0)
	if err != nil || n != 0 {
		t.Errorf("second Replay = %d, %v; want 0", n, err)
	}
	// The first is due now, the others later: a sender claims d01 at
	// once (with d06, pending all along).
	got, err := s.Claim(ctx, now, 10, time.Minute)
	var ids []string
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	if err != nil || fmt.Sprint(ids) != "[d06 d01]" {
		t.Errorf("Claim at replay time = %v, %v; want [d06 d01] (oldest due first)", ids, err)
	}
}

func testReplayOneDelivery(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	rpFixture(t, s)
	now := rpT0.Add(time.Hour)
	tests := []struct {
		id      string
		want    int
		wantErr error
	}{
		{"d05", 1, nil},
		{"d04", 1, nil}, // no request yet: the sender renders it again
		{"d06", 0, hookflow.ErrConflict},
		{"d07", 0, hookflow.ErrConflict},
		{"nope", 0, hookflow.ErrNotFound},
	}
	for _, tt := range tests {
		n, err := s.Replay(ctx, hookflow.ReplayFilter{DeliveryID: tt.id}, now, false, time.Second)
		if n != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("Replay(%s) = %d, %v; want %d, %v", tt.id, n, err, tt.want, tt.wantErr)
		}
	}
	d, _, _ := s.GetDelivery(ctx, "d05")
	if d.State != hookflow.StatePending || !d.DueAt.Equal(now) || d.LastStatus != 200 {
		t.Errorf("delivered d05 after replay: %s; want pending due now, last status kept", rpDescribe(d))
	}
}

func rpDescribe(d *hookflow.Delivery) string {
	return fmt.Sprintf("%s due %v, first attempt %v, attempts %d, last status %d, last error %q",
		d.State, d.DueAt, d.FirstAttemptAt, d.Attempts, d.LastStatus, d.LastError)
}
