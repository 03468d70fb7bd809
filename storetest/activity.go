package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func testListDeliveries(t *testing.T, s hookflow.Store) {
	insertUsers(t, s, newUser("u1", "ext-u1", ""), newUser("u2", "ext-u2", ""),
		newUser("u3", "ext-u3", ""))
	// Six deliveries created a minute apart, IDs in creation order.
	specs := []struct{ campaign, user, dispatch string }{
		{"c1", "u1", "dA"}, {"c1", "u2", "dA"}, {"c2", "u1", "dB"},
		{"c2", "u3", "dB"}, {"c1", "u1", "dC"}, {"c2", "u2", "dC"},
	}
	for i, sp := range specs {
		d := delivery(deliveryID(i), sp.campaign, sp.user, at(time.Duration(i)*time.Minute))
		d.DispatchID = sp.dispatch
		if i == 5 {
			d.DueAt = at(time.Hour) // stays pending below
		}
		enqueue(t, s, d)
	}
	claim(t, s, at(10*time.Minute), 100, time.Minute)
	ctx := context.Background()
	err := s.Complete(ctx, at(10*time.Minute), []hookflow.Completion{
		completion(deliveryID(0), 1, 200, hookflow.StateDelivered, time.Time{}, at(10*time.Minute)),
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}

	id := deliveryID
	cases := []struct {
		name   string
		filter hookflow.DeliveryFilter
		want   []string
	}{
		{"all, newest first", hookflow.DeliveryFilter{}, []string{id(5), id(4), id(3), id(2), id(1), id(0)}},
		{"campaign", hookflow.DeliveryFilter{CampaignID: "c1"}, []string{id(4), id(1), id(0)}},
		{"braze id", hookflow.DeliveryFilter{UserID: "u1"}, []string{id(4), id(2), id(0)}},
		{"external id", hookflow.DeliveryFilter{UserID: "ext-u2"}, []string{id(5), id(1)}},
		{"state", hookflow.DeliveryFilter{State: hookflow.StatePending}, []string{id(5)}},
		{"state delivered", hookflow.DeliveryFilter{State: hookflow.StateDelivered}, []string{id(0)}},
		{"dispatch", hookflow.DeliveryFilter{DispatchID: "dB"}, []string{id(3), id(2)}},
		{"since", hookflow.DeliveryFilter{Since: at(4 * time.Minute)}, []string{id(5), id(4)}},
		{"until", hookflow.DeliveryFilter{Until: at(2 * time.Minute)}, []string{id(1), id(0)}},
		{"since and until", hookflow.DeliveryFilter{Since: at(time.Minute), Until: at(3 * time.Minute)},
			[]string{id(2), id(1)}},
		{"before", hookflow.DeliveryFilter{Before: id(3)}, []string{id(2), id(1), id(0)}},
		{"limit", hookflow.DeliveryFilter{Limit: 2}, []string{id(5), id(4)}},
		{"combined", hookflow.DeliveryFilter{CampaignID: "c2", UserID: "u1"}, []string{id(2)}},
		{"no match", hookflow.DeliveryFilter{CampaignID: "c9"}, []string{}},
	}
	for _, tc := range cases {
		got, err := s.ListDeliveries(ctx, tc.filter)
		if err != nil {
			t.Fatalf("%s: ListDeliveries: %v", tc.name, err)
		}
		equal(t, tc.name, deliveryIDs(got), tc.want)
	}

	// Paging with the cursor walks every delivery exactly once.
	var paged []string
	f := hookflow.DeliveryFilter{Limit: 4}
	for {
		page, err := s.ListDeliveries(ctx, f)
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, deliveryIDs(page)...)
		f.Before = page[len(page)-1].ID
	}
	equal(t, "paged", paged, []string{id(5), id(4), id(3), id(2), id(1), id(0)})
}

func testListDeliveriesLimits(t *testing.T, s hookflow.Store) {
	var ds []*hookflow.Delivery
	for i := range 1005 {
		ds = append(ds, delivery(deliveryID(i), "c1", "u1", at(time.Duration(i)*time.Millisecond)))
	}
	enqueue(t, s, ds...)

	for _, tc := range []struct{ limit, want int }{{0, 100}, {5000, 1000}, {7, 7}} {
		got, err := s.ListDeliveries(context.Background(), hookflow.DeliveryFilter{Limit: tc.limit})
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		if len(got) != tc.want {
			t.Errorf("Limit %d returned %d, want %d", tc.limit, len(got), tc.want)
		}
	}
}

func testCampaignStats(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	createCampaigns(t, s, eventCampaign("c1", "e"), eventCampaign("c2", "e"))
	id := deliveryID
	enqueue(t, s,
		delivery(id(1), "c1", "u1", t0),              // delivered after 1 attempt
		delivery(id(2), "c1", "u1", t0),              // delivered after 2 attempts
		delivery(id(3), "c1", "u2", t0),              // failed
		delivery(id(4), "c1", "u3", t0),              // aborted
		delivery(id(5), "c1", "u4", at(time.Hour)),   // pending, never tried
		delivery(id(6), "c1", "u5", t0),              // pending retry
		delivery(id(7), "c1", "u6", t0),              // sending, no attempt yet
		delivery(id(8), "c1", "u7", at(2*time.Hour)), // cancelled
		delivery(id(9), "c2", "u1", t0),              // another campaign
	)
	claim(t, s, t0, 100, 24*time.Hour)
	err := s.Complete(ctx, t0, []hookflow.Completion{
		completion(id(1), 1, 200, hookflow.StateDelivered, time.Time{}, t0),
		completion(id(2), 1, 500, hookflow.StatePending, at(time.Minute), t0),
		completion(id(3), 1, 404, hookflow.StateFailed, time.Time{}, t0),
		completion(id(6), 1, 500, hookflow.StatePending, at(time.Hour), t0),
		completion(id(9), 1, 200, hookflow.StateDelivered, time.Time{}, t0),
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	abort := []hookflow.RenderResult{{DeliveryID: id(4), AbortReason: "no"}}
	if err := s.SaveRendered(ctx, t0, abort); err != nil {
		t.Fatalf("SaveRendered: %v", err)
	}
	update(t, s, func(tx hookflow.Tx) error {
		_, err := tx.CancelPending("c1", "u7", "exception event", t0)
		return err
	})
	retry := claim(t, s, at(time.Minute), 10, time.Minute)
	equal(t, "retry claim", deliveryIDs(retry), []string{id(2)})
	err = s.Complete(ctx, at(time.Minute), []hookflow.Completion{
		completion(id(2), 2, 200, hookflow.StateDelivered, time.Time{}, at(time.Minute)),
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}

	got, err := s.CampaignStats(ctx, "c1")
	if err != nil {
		t.Fatalf("CampaignStats: %v", err)
	}
	equal(t, "CampaignStats(c1)", got, hookflow.CampaignStats{
		Sends: 4, Delivered: 2, Errors: 1, Aborts: 1, Pending: 3, Cancelled: 1,
		UniqueRecipients: 3,
	})

	if _, err := s.CampaignStats(ctx, "nope"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("CampaignStats(unknown) error = %v, want ErrNotFound", err)
	}
}

func testCancelPending(t *testing.T, s hookflow.Store) {
	id := deliveryID
	enqueue(t, s,
		delivery(id(1), "c1", "u1", at(time.Hour)),   // delayed send: cancelled
		delivery(id(2), "c1", "u1", at(2*time.Hour)), // delayed send: cancelled
		delivery(id(3), "c1", "u1", t0),              // retry pending: kept
		delivery(id(4), "c1", "u1", t0),              // sending: kept
		delivery(id(5), "c1", "u2", at(time.Hour)),   // other user
		delivery(id(6), "c2", "u1", at(time.Hour)),   // other campaign
	)
	claim(t, s, t0, 2, time.Minute)
	err := s.Complete(context.Background(), t0, []hookflow.Completion{
		completion(id(3), 1, 500, hookflow.StatePending, at(time.Hour), t0),
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}

	var n int
	update(t, s, func(tx hookflow.Tx) error {
		var err error
		n, err = tx.CancelPending("c1", "u1", "exception event: refund", at(time.Minute))
		return err
	})
	equal(t, "cancelled count", n, 2)

	want := map[string]string{
		id(1): hookflow.StateCancelled, id(2): hookflow.StateCancelled,
		id(3): hookflow.StatePending, id(4): hookflow.StateSending,
		id(5): hookflow.StatePending, id(6): hookflow.StatePending,
	}
	for did, state := range want {
		d, _ := getDelivery(t, s, did)
		equal(t, did+" state", d.State, state)
	}
	d, _ := getDelivery(t, s, id(1))
	equal(t, "cancel reason", d.AbortReason, "exception event: refund")
	sameTime(t, "cancel UpdatedAt", d.UpdatedAt, at(time.Minute))

	if got := claim(t, s, at(3*time.Hour), 100, time.Minute); len(got) != 4 {
		t.Errorf("claim after cancel got %v, want the 4 live ones", deliveryIDs(got))
	}
}

func testLastSendAt(t *testing.T, s hookflow.Store) {
	last := func() (time.Time, bool) {
		t.Helper()
		var got time.Time
		var ok bool
		update(t, s, func(tx hookflow.Tx) error {
			var err error
			got, ok, err = tx.LastSendAt("c1", "u1")
			return err
		})
		return got, ok
	}
	if got, ok := last(); ok {
		t.Errorf("LastSendAt with no sends = %v, true; want false", got)
	}

	id := deliveryID
	enqueue(t, s,
		delivery(id(1), "c1", "u1", t0),
		delivery(id(2), "c1", "u1", at(time.Hour)),   // aborted below
		delivery(id(3), "c1", "u1", at(2*time.Hour)), // cancelled below
		delivery(id(4), "c2", "u1", at(3*time.Hour)), // other campaign
		delivery(id(5), "c1", "u2", at(3*time.Hour)), // other user
	)
	claim(t, s, at(time.Hour), 2, time.Minute)
	err := s.SaveRendered(context.Background(), at(time.Hour), []hookflow.RenderResult{
		{DeliveryID: id(2), AbortReason: "no"},
	})
	if err != nil {
		t.Fatalf("SaveRendered: %v", err)
	}
	update(t, s, func(tx hookflow.Tx) error {
		_, err := tx.CancelPending("c1", "u1", "exception", at(time.Hour))
		return err
	})

	got, ok := last()
	if !ok {
		t.Fatal("LastSendAt = false, want true")
	}
	sameTime(t, "LastSendAt", got, t0)

	enqueue(t, s, delivery(id(6), "c1", "u1", at(30*time.Minute)))
	got, _ = last()
	sameTime(t, "LastSendAt with a pending send", got, at(30*time.Minute))
}
