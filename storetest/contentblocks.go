package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// newBlocks stores three blocks edited at t0, t0+1h and t0+2h.
func newBlocks(t *testing.T, s hookflow.Store) []*hookflow.ContentBlock {
	t.Helper()
	bs := []*hookflow.ContentBlock{
		{ID: "cb1", Name: "footer", Description: "legal", Content: "Bye {{${first_name}}}",
			State: "active", Tags: []string{"legal", "en"}, CreatedAt: t0, UpdatedAt: t0},
		{ID: "cb2", Name: "header_v2", Content: "Hi", State: "draft", Tags: []string{},
			CreatedAt: at(time.Minute), UpdatedAt: at(time.Hour)},
		{ID: "cb3", Name: "sig-3", Content: "--", State: "active", Tags: []string{},
			CreatedAt: at(2 * time.Minute), UpdatedAt: at(2 * time.Hour)},
	}
	for _, b := range bs {
		if err := s.CreateContentBlock(context.Background(), b); err != nil {
			t.Fatalf("CreateContentBlock(%s): %v", b.ID, err)
		}
	}
	return bs
}

func testContentBlockCreateGet(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	bs := newBlocks(t, s)

	got, err := s.GetContentBlock(ctx, "cb1")
	if err != nil {
		t.Fatalf("GetContentBlock: %v", err)
	}
	equal(t, "GetContentBlock", got, bs[0])
	got, err = s.GetContentBlockByName(ctx, "header_v2")
	if err != nil {
		t.Fatalf("GetContentBlockByName: %v", err)
	}
	equal(t, "GetContentBlockByName", got, bs[1])

	if _, err := s.GetContentBlock(ctx, "nope"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetContentBlock(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.GetContentBlockByName(ctx, "nope"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetContentBlockByName(unknown) error = %v, want ErrNotFound", err)
	}
	dupName := &hookflow.ContentBlock{ID: "cb9", Name: "footer", Content: "x", State: "active", CreatedAt: t0}
	if err := s.CreateContentBlock(ctx, dupName); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("CreateContentBlock(duplicate name) error = %v, want ErrConflict", err)
	}
	dupID := &hookflow.ContentBlock{ID: "cb1", Name: "other", Content: "x", State: "active", CreatedAt: t0}
	if err := s.CreateContentBlock(ctx, dupID); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("CreateContentBlock(duplicate id) error = %v, want ErrConflict", err)
	}
}

func testContentBlockUpdate(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	bs := newBlocks(t, s)

	edited := *bs[0]
	edited.Name, edited.Content, edited.State = "footer_new", "See you", "draft"
	edited.Description, edited.Tags, edited.UpdatedAt = "", []string{"x"}, at(3*time.Hour)
	if err := s.UpdateContentBlock(ctx, &edited); err != nil {
		t.Fatalf("UpdateContentBlock: %v", err)
	}
	got, err := s.GetContentBlock(ctx, "cb1")
	if err != nil {
		t.Fatalf("GetContentBlock: %v", err)
	}
	equal(t, "GetContentBlock after update", got, &edited)
	if _, err := s.GetContentBlockByName(ctx, "footer"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetContentBlockByName(old name) error = %v, want ErrNotFound", err)
	}

	taken := *bs[1]
	taken.Name = "sig-3"
	if err := s.UpdateContentBlock(ctx, &taken); !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("UpdateContentBlock(taken name) error = %v, want ErrConflict", err)
	}
	unknown := &hookflow.ContentBlock{ID: "nope", Name: "n", Content: "x", State: "active", UpdatedAt: t0}
	if err := s.UpdateContentBlock(ctx, unknown); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("UpdateContentBlock(unknown) error = %v, want ErrNotFound", err)
	}
}

func testListContentBlocks(t *testing.T, s hookflow.Store) {
	bs := newBlocks(t, s)
	tests := []struct {
		name string
		f    hookflow.ContentBlockFilter
		want []*hookflow.ContentBlock
	}{
		{"all", hookflow.ContentBlockFilter{}, bs},
		{"limit", hookflow.ContentBlockFilter{Limit: 2}, bs[:2]},
		{"offset", hookflow.ContentBlockFilter{Offset: 1}, bs[1:]},
		{"limit and offset", hookflow.ContentBlockFilter{Limit: 1, Offset: 1}, bs[1:2]},
		{"modified after, inclusive", hookflow.ContentBlockFilter{ModifiedAfter: at(time.Hour)}, bs[1:]},
		{"modified before, inclusive", hookflow.ContentBlockFilter{ModifiedBefore: at(time.Hour)}, bs[:2]},
		{"window", hookflow.ContentBlockFilter{ModifiedAfter: at(time.Minute), ModifiedBefore: at(90 * time.Minute)}, bs[1:2]},
		{"none", hookflow.ContentBlockFilter{ModifiedAfter: at(5 * time.Hour)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListContentBlocks(context.Background(), tc.f)
			if err != nil {
				t.Fatalf("ListContentBlocks: %v", err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			equal(t, "ListContentBlocks", got, tc.want)
		})
	}
}
