package sqlite

import (
	"sync"

	"github.com/hookflow/hookflow"
)

// The writer's profile cache. Finding a /users/track call's users by
// external id took a third of the writer's time per event (two queries for
// 75 users, 6-7 µs a user), and the writer is the one part of intake that
// cannot use a second core. The writer now keeps the profiles its
// transactions read by external id, and answers FindUsersByExternalID from
// them.
//
// The cache holds only what a read on the write connection returned, and
// is only read there, so it shows the writer's view, uncommitted writes
// included. Every statement that writes a profile or its aliases forgets
// that profile first; a profile written is read again, never rebuilt from
// what the caller passed in. Any rollback (a call's savepoint, a group's
// transaction, a failed commit) forgets everything, since what it undid
// may have been read since. Nothing else writes profiles: migrations run
// before the store opens, and no other process writes them.

// profileCacheMax bounds the profiles kept, about 300 bytes each for the
// bench's users: at the bound the cache starts afresh, so a working set
// larger than this costs the reads it always cost.
const profileCacheMax = 1 << 16

// profileCache is the writer's cache of profiles by external id.
type profileCache struct {
	mu       sync.Mutex
	external map[string]*hookflow.User // by external id; handed out as copies only
	brazeIDs map[string]string         // braze id → external id, of those kept
	// written is told of every profile forget is, as a write of it: the
	// hand-off's count of writes (handoff.Holder.UserWritten).
	written func(id string)
}

func newProfileCache(written func(id string)) *profileCache {
	return &profileCache{external: map[string]*hookflow.User{}, brazeIDs: map[string]string{},
		written: written}
}

// find returns copies of the kept profiles of ids, keyed by external id,
// and the ids it does not keep.
func (c *profileCache) find(ids []string) (map[string]*hookflow.User, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	found := make(map[string]*hookflow.User, len(ids))
	var missing []string
	for _, id := range ids {
		if u, ok := c.external[id]; ok {
			found[id] = cloneUser(u)
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing
}

// keep remembers copies of profiles just read on the write connection.
func (c *profileCache) keep(users map[string]*hookflow.User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.external)+len(users) > profileCacheMax {
		clear(c.external)
		clear(c.brazeIDs)
	}
	for ext, u := range users {
		if ext == "" {
			continue
		}
		c.external[ext] = cloneUser(u)
		c.brazeIDs[u.ID] = ext
	}
}

// forget drops the profile with braze id id, and any kept under the
// external id ext (which may be empty), before a statement writes them.
func (c *profileCache) forget(id, ext string) {
	c.written(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.brazeIDs[id]; ok {
		delete(c.external, old)
		delete(c.brazeIDs, id)
	}
	if u, ok := c.external[ext]; ok {
		delete(c.brazeIDs, u.ID)
		delete(c.external, ext)
	}
}

// reset forgets every profile, after a rollback.
func (c *profileCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.external)
	clear(c.brazeIDs)
}

// cloneUser copies u deeply enough that no change to the copy, nested
// attributes included, reaches u.
func cloneUser(u *hookflow.User) *hookflow.User {
	c := *u
	c.Attributes = cloneValue(u.Attributes).(map[string]any)
	if u.Aliases != nil {
		c.Aliases = append([]hookflow.Alias(nil), u.Aliases...)
	}
	return &c
}

// cloneValue copies the maps and slices of a decoded JSON value; the rest
// (strings, numbers, booleans, nil) are values already.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		if x == nil {
			return x
		}
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneValue(e)
		}
		return s
	}
	return v
}
