package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// eventCampaign returns an active action-based campaign fired by event.
func eventCampaign(id, event string) *hookflow.Campaign {
	day := int64(86400)
	return &hookflow.Campaign{
		ID:           id,
		Name:         "Campaign " + id,
		State:        hookflow.CampaignActive,
		DeliveryType: hookflow.ActionBased,
		Webhook: hookflow.Webhook{
			Method:    "POST",
			URL:       "https://example.com/hook/{{${user_id}}}",
			Headers:   []hookflow.Header{{Name: "X-A", Value: "1"}, {Name: "X-A", Value: "2"}},
			BodyType:  hookflow.BodyJSON,
			BodyPairs: []hookflow.KeyValue{{Key: "name", Value: "{{${first_name}}}"}},
		},
		Trigger: &hookflow.Trigger{
			Event:        event,
			Filters:      []hookflow.PropertyFilter{{Property: "level", Op: "greater_than", Value: 2.0}},
			DelaySeconds: 60,
		},
		Audience: json.RawMessage(`{"AND":[{"custom_attribute":` +
			`{"custom_attribute_name":"plan","comparison":"equals","value":"gold"}}]}`),
		Reeligibility: &day,
		CreatedAt:     t0,
		UpdatedAt:     t0,
	}
}

func createCampaigns(t *testing.T, s hookflow.Store, cs ...*hookflow.Campaign) {
	t.Helper()
	for _, c := range cs {
		if err := s.CreateCampaign(context.Background(), c); err != nil {
			t.Fatalf("CreateCampaign(%s): %v", c.ID, err)
		}
	}
}

func testCampaignCreateGet(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	c := eventCampaign("c1", "signup")
	c.Version = 7 // ignored: a new campaign is version 1
	createCampaigns(t, s, c)
	if c.Version != 1 {
		t.Errorf("Version after create = %d, want 1", c.Version)
	}

	got, err := s.GetCampaign(ctx, "c1")
	if err != nil {
		t.Fatalf("GetCampaign: %v", err)
	}
	equal(t, "GetCampaign", got, c)

	update(t, s, func(tx hookflow.Tx) error {
		got, err := tx.GetCampaign("c1")
		if err != nil {
			return err
		}
		equal(t, "Tx.GetCampaign", got, c)
		return nil
	})

	if err := s.CreateCampaign(ctx, eventCampaign("c1", "x")); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("CreateCampaign(duplicate) error = %v, want ErrConflict", err)
	}
	if _, err := s.GetCampaign(ctx, "nope"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetCampaign(unknown) error = %v, want ErrNotFound", err)
	}
}

func testCampaignUpdateVersion(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	createCampaigns(t, s, eventCampaign("c1", "signup"))

	first, _ := s.GetCampaign(ctx, "c1")
	second, _ := s.GetCampaign(ctx, "c1")

	first.Name = "Renamed"
	first.UpdatedAt = at(time.Hour)
	if err := s.UpdateCampaign(ctx, first); err != nil {
		t.Fatalf("UpdateCampaign: %v", err)
	}
	if first.Version != 2 {
		t.Errorf("Version after update = %d, want 2", first.Version)
	}
	got, _ := s.GetCampaign(ctx, "c1")
	equal(t, "campaign after update", got, first)

	// second still holds version 1: someone else saved in between.
	second.Name = "Lost"
	if err := s.UpdateCampaign(ctx, second); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("UpdateCampaign(stale) error = %v, want ErrConflict", err)
	}
	got, _ = s.GetCampaign(ctx, "c1")
	if got.Name != "Renamed" || got.Version != 2 {
		t.Errorf("after stale update: name %q version %d, want Renamed 2", got.Name, got.Version)
	}

	if err := s.UpdateCampaign(ctx, eventCampaign("nope", "x")); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("UpdateCampaign(unknown) error = %v, want ErrNotFound", err)
	}
}

func testListCampaigns(t *testing.T, s hookflow.Store) {
	a, b, c := eventCampaign("a", "e"), eventCampaign("b", "e"), eventCampaign("c", "e")
	b.State = hookflow.CampaignPaused
	createCampaigns(t, s, a, b, c)

	cases := []struct {
		filter hookflow.CampaignFilter
		want   []string
	}{
		{hookflow.CampaignFilter{}, []string{"a", "b", "c"}},
		{hookflow.CampaignFilter{State: hookflow.CampaignActive}, []string{"a", "c"}},
		{hookflow.CampaignFilter{State: hookflow.CampaignPaused}, []string{"b"}},
		{hookflow.CampaignFilter{State: hookflow.CampaignArchived}, []string{}},
	}
	for _, tc := range cases {
		got, err := s.ListCampaigns(context.Background(), tc.filter)
		if err != nil {
			t.Fatalf("ListCampaigns(%+v): %v", tc.filter, err)
		}
		equal(t, "ListCampaigns ids", campaignIDs(got), tc.want)
	}

	got, err := s.ListCampaigns(context.Background(), hookflow.CampaignFilter{Limit: 2})
	if err != nil || len(got) != 2 {
		t.Errorf("ListCampaigns(Limit 2) = %d campaigns, %v; want 2", len(got), err)
	}
}

func testTriggeredCampaigns(t *testing.T, s hookflow.Store) {
	active := eventCampaign("event", "signup")
	paused := eventCampaign("paused", "signup")
	paused.State = hookflow.CampaignPaused
	archived := eventCampaign("archived", "signup")
	archived.State = hookflow.CampaignArchived
	anyPurchase := eventCampaign("any-purchase", "")
	anyPurchase.Trigger = &hookflow.Trigger{Purchase: true}
	product := eventCampaign("product", "")
	product.Trigger = &hookflow.Trigger{Purchase: true, ProductID: "sku-1"}
	api := eventCampaign("api", "")
	api.DeliveryType, api.Trigger = hookflow.APITriggered, nil
	createCampaigns(t, s, active, paused, archived, anyPurchase, product, api)

	purchase := func(sku string) *hookflow.Event {
		return &hookflow.Event{Name: sku, Purchase: &hookflow.Purchase{ProductID: sku}}
	}
	cases := []struct {
		name string
		ev   *hookflow.Event
		want []string
	}{
		{"custom event", &hookflow.Event{Name: "signup"}, []string{"event"}},
		{"other event", &hookflow.Event{Name: "login"}, []string{}},
		{"purchase of the product", purchase("sku-1"), []string{"any-purchase", "product"}},
		{"purchase of another product", purchase("sku-2"), []string{"any-purchase"}},
		{"purchase named like an event", purchase("signup"), []string{"any-purchase"}},
	}
	for _, tc := range cases {
		update(t, s, func(tx hookflow.Tx) error {
			got, err := tx.TriggeredCampaigns(tc.ev)
			if err != nil {
				return err
			}
			equal(t, tc.name, campaignIDs(got), tc.want)
			return nil
		})
	}

	// Changing the trigger moves the campaign to the new event.
	active.Trigger.Event = "login"
	if err := s.UpdateCampaign(context.Background(), active); err != nil {
		t.Fatalf("UpdateCampaign: %v", err)
	}
	update(t, s, func(tx hookflow.Tx) error {
		for ev, want := range map[string][]string{"signup": {}, "login": {"event"}} {
			got, err := tx.TriggeredCampaigns(&hookflow.Event{Name: ev})
			if err != nil {
				return err
			}
			equal(t, "after update, "+ev, campaignIDs(got), want)
		}
		return nil
	})
}

func testExceptionCampaigns(t *testing.T, s hookflow.Store) {
	a := eventCampaign("a", "order")
	a.Trigger.ExceptionEvents = []string{"cancel", "refund"}
	b := eventCampaign("b", "order")
	b.Trigger.ExceptionEvents = []string{"cancel"}
	paused := eventCampaign("paused", "order")
	paused.State = hookflow.CampaignPaused
	paused.Trigger.ExceptionEvents = []string{"cancel"}
	createCampaigns(t, s, a, b, paused, eventCampaign("none", "order"))

	check := func(name string, want map[string][]string) {
		t.Helper()
		update(t, s, func(tx hookflow.Tx) error {
			for ev, ids := range want {
				got, err := tx.ExceptionCampaigns(ev)
				if err != nil {
					return err
				}
				equal(t, name+" "+ev, campaignIDs(got), ids)
			}
			return nil
		})
	}
	check("initially", map[string][]string{
		"cancel": {"a", "b", "paused"}, "refund": {"a"}, "order": {}, "other": {},
	})

	a.Trigger.ExceptionEvents = []string{"cancel"}
	if err := s.UpdateCampaign(context.Background(), a); err != nil {
		t.Fatalf("UpdateCampaign: %v", err)
	}
	check("after update", map[string][]string{"cancel": {"a", "b", "paused"}, "refund": {}})
}
