package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
)

// keyCacheTTL is how long a looked-up key is trusted without reading the
// store again. A revoked key therefore stops working within this time.
const keyCacheTTL = 5 * time.Second

// keyCache spares the store one read per request.
type keyCache struct {
	store hookflow.Store
	clock hookflow.Clock

	mu   sync.Mutex
	keys map[string]cachedKey
}

type cachedKey struct {
	key *hookflow.APIKey
	at  time.Time
}

func newKeyCache(store hookflow.Store, clock hookflow.Clock) *keyCache {
	return &keyCache{store: store, clock: clock, keys: map[string]cachedKey{}}
}

// check authenticates r's bearer key and requires scope.
func (c *keyCache) check(r *http.Request, scope string) error {
	_, err := c.checkKey(r, scope)
	return err
}

// checkKey is check that returns the key.
func (c *keyCache) checkKey(r *http.Request, scope string) (*hookflow.APIKey, error) {
	key, err := c.authenticate(r)
	if err != nil {
		return nil, err
	}
	if err := checkScope(key, scope); err != nil {
		return nil, err
	}
	return key, nil
}

// authenticate returns the key r's bearer secret names.
func (c *keyCache) authenticate(r *http.Request) (*hookflow.APIKey, error) {
	header := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || secret == "" {
		// A header in another form is not a missing key: saying so sent
		// people looking for a key they had in fact sent.
		problem := "missing API key"
		if header != "" {
			problem = "Authorization header is not 'Bearer <key>'"
		}
		return nil, errorf(http.StatusUnauthorized, "%s: send it as 'Authorization: Bearer <key>' (create one with 'hookflow keys create')", problem)
	}
	return c.lookup(r, HashKey(strings.TrimSpace(secret)))
}

// checkScope refuses key unless it has scope; an empty scope is any key's.
func checkScope(key *hookflow.APIKey, scope string) error {
	if scope != "" && !key.Allows(scope) {
		return errorf(http.StatusForbidden, "API key %q lacks the %s permission", key.Name, scope)
	}
	return nil
}

func (c *keyCache) lookup(r *http.Request, hash string) (*hookflow.APIKey, error) {
	now := c.clock.Now()
	c.mu.Lock()
	ck, ok := c.keys[hash]
	c.mu.Unlock()
	if ok && now.Sub(ck.at) < keyCacheTTL {
		return ck.key, nil
	}

	key, err := c.store.KeyByHash(r.Context(), hash)
	if errors.Is(err, hookflow.ErrNotFound) {
		return nil, errorf(http.StatusUnauthorized, "invalid API key: this server has no such key (keys live in the server's database: was it created with the same --data-dir?)")
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.keys) > 10000 {
		clear(c.keys)
	}
	c.keys[hash] = cachedKey{key: key, at: now}
	c.mu.Unlock()
	return key, nil
}

// HashKey is how a key's secret is stored: hex SHA-256. Keys are random, so
// a fast hash is enough; no salt or stretching is needed.
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewKey makes a key with a fresh secret. The secret is returned once and
// only its hash is kept.
func NewKey(name string, scopes []string, now time.Time) (*hookflow.APIKey, string) {
	var b [32]byte
	rand.Read(b[:])
	secret := "hf_" + base64.RawURLEncoding.EncodeToString(b[:])
	var id [8]byte
	rand.Read(id[:])
	return &hookflow.APIKey{
		ID:        "key_" + hex.EncodeToString(id[:]),
		Name:      name,
		Hash:      HashKey(secret),
		Prefix:    secret[:10],
		Scopes:    scopes,
		CreatedAt: now,
	}, secret
}
