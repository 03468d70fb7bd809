package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/render"
)

// Content blocks, Braze's /content_blocks/*: named Liquid that webhooks
// include as {{content_blocks.${name}}}. A block is read at every render,
// so an edit reaches every message that uses it on its next render.
//
// Saving a webhook (a campaign, a /messages/send) that includes a block
// that does not exist is refused: render.Check knows no store, so
// checkBlocks looks up the names render.BlockNames finds. Only the
// webhook's own references are checked; a block that includes a missing
// block fails the render of that delivery.

// Block states, as Braze names them.
const (
	blockActive = "active"
	blockDraft  = "draft"
)

const (
	maxBlockList     = 1000
	defaultBlockList = 100
)

// blockRequest is the body of /content_blocks/create and /update; pointers
// tell a field left out of an update from one set empty.
type blockRequest struct {
	ContentBlockID *string   `json:"content_block_id"`
	Name           *string   `json:"name"`
	Description    *string   `json:"description"`
	Content        *string   `json:"content"`
	State          *string   `json:"state"`
	Tags           *[]string `json:"tags"`
}

// blockSaved is what create and update answer.
type blockSaved struct {
	ContentBlockID string `json:"content_block_id"`
	LiquidTag      string `json:"liquid_tag"`
	CreatedAt      string `json:"created_at"`
	Message        string `json:"message"`
}

func (s *Server) createContentBlock(r *http.Request) (int, any, error) {
	var in blockRequest
	if err := decode(r, maxJSONBytes, &in); err != nil {
		return 0, nil, err
	}
	if in.ContentBlockID != nil {
		return 0, nil, hookflow.Invalid("content_block_id", "is set by the server; use /content_blocks/update to change a block")
	}
	if in.Name == nil || *in.Name == "" {
		return 0, nil, hookflow.Invalid("name", "is required")
	}
	if in.Content == nil || *in.Content == "" {
		return 0, nil, hookflow.Invalid("content", "is required")
	}
	now := s.clock.Now().UTC()
	b := &hookflow.ContentBlock{ID: uuid.NewString(), State: blockActive, Tags: []string{},
		CreatedAt: now, UpdatedAt: now}
	if err := s.applyBlock(r.Context(), b, &in); err != nil {
		return 0, nil, err
	}
	if err := s.store.CreateContentBlock(r.Context(), b); err != nil {
		return 0, nil, blockStoreError(b, err)
	}
	return http.StatusCreated, saved(b), nil
}

func (s *Server) updateContentBlock(r *http.Request) (int, any, error) {
	var in blockRequest
	if err := decode(r, maxJSONBytes, &in); err != nil {
		return 0, nil, err
	}
	if in.ContentBlockID == nil || *in.ContentBlockID == "" {
		return 0, nil, hookflow.Invalid("content_block_id", "is required")
	}
	b, err := s.findBlock(r.Context(), *in.ContentBlockID)
	if err != nil {
		return 0, nil, err
	}
	if in.Content != nil && *in.Content == "" {
		return 0, nil, hookflow.Invalid("content", "must not be empty")
	}
	if err := s.applyBlock(r.Context(), b, &in); err != nil {
		return 0, nil, err
	}
	b.UpdatedAt = s.clock.Now().UTC()
	if err := s.store.UpdateContentBlock(r.Context(), b); err != nil {
		return 0, nil, blockStoreError(b, err)
	}
	return http.StatusCreated, saved(b), nil
}

// applyBlock validates the fields in sets and copies them to b.
func (s *Server) applyBlock(ctx context.Context, b *hookflow.ContentBlock, in *blockRequest) error {
	if in.Name != nil {
		if !render.ValidBlockName(*in.Name) {
			return hookflow.Invalid("name", "%q must be letters, digits, hyphens and underscores", *in.Name)
		}
		b.Name = *in.Name
	}
	if in.Description != nil {
		b.Description = *in.Description
	}
	if in.State != nil {
		if *in.State != blockActive && *in.State != blockDraft {
			return hookflow.Invalid("state", "must be active or draft, not %q", *in.State)
		}
		b.State = *in.State
	}
	if in.Tags != nil {
		b.Tags = append([]string{}, *in.Tags...)
	}
	if in.Content != nil {
		if err := s.checkBlockContent(ctx, b.Name, *in.Content); err != nil {
			return err
		}
		b.Content = *in.Content
	}
	return nil
}

// checkBlockContent checks a block's Liquid as a webhook body would be
// checked, and that the blocks it includes exist (itself aside: a block
// including itself is refused when rendered).
func (s *Server) checkBlockContent(ctx context.Context, name, content string) error {
	w := hookflow.Webhook{Method: "POST", URL: "https://content-block.invalid/", BodyType: hookflow.BodyRaw, BodyRaw: content}
	if err := render.Check(w); err != nil {
		var ve *hookflow.ValidationError
		if errors.As(err, &ve) {
			return hookflow.Invalid("content", "%s", ve.Reason)
		}
		return err
	}
	return s.missingBlocks(ctx, "content", w, name)
}

// checkBlocks refuses a webhook that includes a content block that does
// not exist.
func (s *Server) checkBlocks(ctx context.Context, field string, w hookflow.Webhook) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return s.missingBlocks(ctx, field, w, "")
}

// missingBlocks reports the first block w includes, other than except,
// that does not exist.
func (s *Server) missingBlocks(ctx context.Context, field string, w hookflow.Webhook, except string) error {
	for _, name := range render.BlockNames(w) {
		if name == except {
			continue
		}
		_, err := s.store.GetContentBlockByName(ctx, name)
		if errors.Is(err, hookflow.ErrNotFound) {
			return hookflow.Invalid(field, "includes content block %q, which does not exist", name)
		}
		if err != nil {
			return fmt.Errorf("checking content block %q: %w", name, err)
		}
	}
	return nil
}

// findBlock reads a block by ID, a missing one as Braze's 400.
func (s *Server) findBlock(ctx context.Context, id string) (*hookflow.ContentBlock, error) {
	b, err := s.store.GetContentBlock(ctx, id)
	if errors.Is(err, hookflow.ErrNotFound) {
		return nil, hookflow.Invalid("content_block_id", "no content block has id %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading content block %s: %w", id, err)
	}
	return b, nil
}

func blockStoreError(b *hookflow.ContentBlock, err error) error {
	if errors.Is(err, hookflow.ErrConflict) {
		return hookflow.Invalid("name", "a content block named %q already exists", b.Name)
	}
	return fmt.Errorf("saving content block %s: %w", b.ID, err)
}

func saved(b *hookflow.ContentBlock) blockSaved {
	return blockSaved{ContentBlockID: b.ID, LiquidTag: liquidTag(b.Name),
		CreatedAt: blockTime(b.CreatedAt), Message: "success"}
}

func liquidTag(name string) string { return "{{content_blocks.${" + name + "}}}" }

func blockTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// blockSummary is one block of /content_blocks/list.
type blockSummary struct {
	ContentBlockID string   `json:"content_block_id"`
	Name           string   `json:"name"`
	ContentType    string   `json:"content_type"`
	LiquidTag      string   `json:"liquid_tag"`
	InclusionCount int      `json:"inclusion_count"`
	CreatedAt      string   `json:"created_at"`
	LastEdited     string   `json:"last_edited"`
	Tags           []string `json:"tags"`
}

type blockList struct {
	Count         int            `json:"count"`
	ContentBlocks []blockSummary `json:"content_blocks"`
	Message       string         `json:"message"`
}

func (s *Server) listContentBlocks(r *http.Request) (int, any, error) {
	f, err := blockFilter(r)
	if err != nil {
		return 0, nil, err
	}
	bs, err := s.store.ListContentBlocks(r.Context(), f)
	if err != nil {
		return 0, nil, fmt.Errorf("listing content blocks: %w", err)
	}
	uses, err := s.blockUses(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := blockList{ContentBlocks: []blockSummary{}, Message: "success"}
	for _, b := range bs {
		out.ContentBlocks = append(out.ContentBlocks, summary(b, len(uses[b.Name])))
	}
	out.Count = len(out.ContentBlocks)
	return http.StatusOK, out, nil
}

func summary(b *hookflow.ContentBlock, inclusions int) blockSummary {
	return blockSummary{ContentBlockID: b.ID, Name: b.Name, ContentType: "text",
		LiquidTag: liquidTag(b.Name), InclusionCount: inclusions,
		CreatedAt: blockTime(b.CreatedAt), LastEdited: blockTime(b.UpdatedAt), Tags: orNone(b.Tags)}
}

func orNone(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// blockFilter reads the list endpoint's query.
func blockFilter(r *http.Request) (hookflow.ContentBlockFilter, error) {
	q := r.URL.Query()
	f := hookflow.ContentBlockFilter{Limit: defaultBlockList}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"modified_after", &f.ModifiedAfter}, {"modified_before", &f.ModifiedBefore}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := parseScheduleTime(p.name, v)
		if err != nil {
			return f, err
		}
		*p.to = t
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), "limit", defaultBlockList, 1, maxBlockList); err != nil {
		return f, err
	}
	if f.Offset, err = intParam(q.Get("offset"), "offset", 0, 0, 1<<31-1); err != nil {
		return f, err
	}
	return f, nil
}

// blockUses maps each block name to the IDs of the campaigns, archived
// ones aside, whose webhook includes it.
func (s *Server) blockUses(ctx context.Context) (map[string][]string, error) {
	cs, err := s.store.ListCampaigns(ctx, hookflow.CampaignFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing campaigns: %w", err)
	}
	uses := map[string][]string{}
	for _, c := range cs {
		if c.State == hookflow.CampaignArchived {
			continue
		}
		for _, name := range render.BlockNames(c.Webhook) {
			uses[name] = append(uses[name], c.ID)
		}
	}
	return uses, nil
}

// blockInfo is /content_blocks/info's answer.
type blockInfo struct {
	ContentBlockID string   `json:"content_block_id"`
	Name           string   `json:"name"`
	Content        string   `json:"content"`
	Description    string   `json:"description"`
	ContentType    string   `json:"content_type"`
	Tags           []string `json:"tags"`
	CreatedAt      string   `json:"created_at"`
	LastEdited     string   `json:"last_edited"`
	InclusionCount int      `json:"inclusion_count"`
	// InclusionData is shown, as [] when no campaign includes the block,
	// only when include_inclusion_data is true; nil leaves it out.
	InclusionData *[]blockIncluder `json:"inclusion_data,omitempty"`
	Message       string           `json:"message"`
}

// blockIncluder names a campaign that includes a block.
type blockIncluder struct {
	CampaignID string `json:"campaign_id"`
}

func (s *Server) contentBlockInfo(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	id := q.Get("content_block_id")
	if id == "" {
		return 0, nil, hookflow.Invalid("content_block_id", "is required")
	}
	withData := false
	if v := q.Get("include_inclusion_data"); v != "" {
		var err error
		if withData, err = strconv.ParseBool(strings.ToLower(v)); err != nil {
			return 0, nil, hookflow.Invalid("include_inclusion_data", "must be true or false, not %q", v)
		}
	}
	b, err := s.findBlock(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	uses, err := s.blockUses(r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := blockInfo{ContentBlockID: b.ID, Name: b.Name, Content: b.Content, Description: b.Description,
		ContentType: "text", Tags: orNone(b.Tags), CreatedAt: blockTime(b.CreatedAt),
		LastEdited: blockTime(b.UpdatedAt), InclusionCount: len(uses[b.Name]), Message: "success"}
	if withData {
		data := []blockIncluder{}
		for _, c := range uses[b.Name] {
			data = append(data, blockIncluder{CampaignID: c})
		}
		out.InclusionData = &data
	}
	return http.StatusOK, out, nil
}

// blockResolver returns the content blocks a preview or test send renders
// with, read from the store once per name within the render.
func (s *Server) blockResolver(ctx context.Context) func(string) (string, bool) {
	seen := map[string]*string{}
	return func(name string) (string, bool) {
		if c, ok := seen[name]; ok {
			return deref(c)
		}
		b, err := s.store.GetContentBlockByName(ctx, name)
		if err != nil {
			// A store error shows as an unknown block in the preview; a
			// real delivery waits and tries again instead.
			seen[name] = nil
			return "", false
		}
		seen[name] = &b.Content
		return b.Content, true
	}
}

func deref(c *string) (string, bool) {
	if c == nil {
		return "", false
	}
	return *c, true
}
