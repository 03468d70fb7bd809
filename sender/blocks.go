package sender

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hookflow/hookflow"
)

// blockLookup reads each content block a batch includes once, so a batch
// of a thousand deliveries including the same footer costs one read, and
// the next batch reads it again: an edited block reaches the next render.
type blockLookup struct {
	store Store

	mu     sync.Mutex
	blocks map[string]*string // nil: no block of that name
}

func newBlockLookup(store Store) *blockLookup {
	return &blockLookup{store: store, blocks: map[string]*string{}}
}

// get returns the content of the named block; ok is false when there is
// none. err is a store error other than not found.
func (l *blockLookup) get(ctx context.Context, name string) (content string, ok bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, seen := l.blocks[name]; seen {
		return deref(c)
	}
	b, err := l.store.GetContentBlockByName(ctx, name)
	switch {
	case errors.Is(err, hookflow.ErrNotFound):
		l.blocks[name] = nil
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("reading content block %q: %w", name, err)
	}
	l.blocks[name] = &b.Content
	return b.Content, true, nil
}

func deref(c *string) (string, bool, error) {
	if c == nil {
		return "", false, nil
	}
	return *c, true, nil
}

// resolver returns the Blocks function of one render, and a function that
// reports the store error the render met, if any: a block that could not be
// read must put the delivery back, not fail it as unknown.
func (l *blockLookup) resolver(ctx context.Context) (func(string) (string, bool), func() error) {
	var readErr error
	resolve := func(name string) (string, bool) {
		c, ok, err := l.get(ctx, name)
		if err != nil && readErr == nil {
			readErr = err
		}
		return c, ok
	}
	return resolve, func() error { return readErr }
}
