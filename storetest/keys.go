package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func testKeys(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	a := &hookflow.APIKey{ID: "k1", Name: "intake", Hash: "hash-1", Prefix: "hf_abc",
		Scopes: []string{hookflow.ScopeUsersTrack, hookflow.ScopeMessagesSend}, CreatedAt: t0,
		AllowedIPs: []string{"10.0.0.0/8", "192.168.1.7", "2001:db8::/32"}}
	b := &hookflow.APIKey{ID: "k2", Name: "admin", Hash: "hash-2", Prefix: "hf_def",
		Scopes: []string{hookflow.ScopeAll}, CreatedAt: at(time.Minute)}
	for _, k := range []*hookflow.APIKey{a, b} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatalf("CreateKey(%s): %v", k.ID, err)
		}
	}

	got, err := s.KeyByHash(ctx, "hash-1")
	if err != nil {
		t.Fatalf("KeyByHash: %v", err)
	}
	equal(t, "KeyByHash", got, a)
	if _, err := s.KeyByHash(ctx, "hash-9"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("KeyByHash(unknown) error = %v, want ErrNotFound", err)
	}

	dup := &hookflow.APIKey{ID: "k3", Name: "dup", Hash: "hash-1", Prefix: "x", CreatedAt: t0}
	if err := s.CreateKey(ctx, dup); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("CreateKey(duplicate hash) error = %v, want ErrConflict", err)
	}

	if err := s.RevokeKey(ctx, "k1", at(time.Hour)); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	if _, err := s.KeyByHash(ctx, "hash-1"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("KeyByHash(revoked) error = %v, want ErrNotFound", err)
	}
	if err := s.RevokeKey(ctx, "nope", t0); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("RevokeKey(unknown) error = %v, want ErrNotFound", err)
	}

	keys, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatalf("ListKeys: %v", err)
	}
	revoked := *a
	revoked.RevokedAt = at(time.Hour)
	equal(t, "ListKeys", keys, []*hookflow.APIKey{&revoked, b})
}

func testAPIMessage(t *testing.T, s hookflow.Store) {
	w := hookflow.Webhook{
		Method:   "POST",
		URL:      "https://example.com/{{${user_id}}}?a=1&b=<2>",
		Headers:  []hookflow.Header{{Name: "X-Key", Value: "{{api_trigger_properties.${k}}}"}},
		BodyType: hookflow.BodyRaw,
		BodyRaw:  `{"note":"a&b<c>",  "k":1}`,
	}
	update(t, s, func(tx hookflow.Tx) error { return tx.SaveAPIMessage("disp-1", w, t0) })

	got, err := s.GetAPIMessage(context.Background(), "disp-1")
	if err != nil {
		t.Fatalf("GetAPIMessage: %v", err)
	}
	equal(t, "GetAPIMessage", got, &w)

	if _, err := s.GetAPIMessage(context.Background(), "nope"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetAPIMessage(unknown) error = %v, want ErrNotFound", err)
	}
	err = s.Update(context.Background(), func(tx hookflow.Tx) error {
		return tx.SaveAPIMessage("disp-1", w, t0)
	})
	if !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("SaveAPIMessage(duplicate) error = %v, want ErrConflict", err)
	}
}
