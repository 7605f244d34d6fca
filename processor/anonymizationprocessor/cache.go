package anonymizationprocessor

import (
	"sync"

	"github.com/insights-collector/insights-collector/internal/pseudonym"
)

// maxCachedPseudonyms bounds the cache: an organisation's users, with room to spare (about 10 MB when full).
const maxCachedPseudonyms = 100_000

// pseudonymCache remembers the pseudonyms of recent ids: a user sends many events, and an HMAC costs ~0.5 µs
// where a map lookup costs ~20 ns. It holds plain ids in memory, where the records passing through hold them
// anyway; it is never written anywhere.
type pseudonymCache struct {
	keys *pseudonym.Keyring
	mu   sync.RWMutex
	byID map[string]string
}

func newPseudonymCache(keys *pseudonym.Keyring) *pseudonymCache {
	return &pseudonymCache{keys: keys, byID: map[string]string{}}
}

func (c *pseudonymCache) of(id string) string {
	c.mu.RLock()
	p, ok := c.byID[id]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = c.keys.Of(id)
	c.mu.Lock()
	if len(c.byID) >= maxCachedPseudonyms {
		clear(c.byID) // simpler than an LRU and as good here: the active users come straight back
	}
	c.byID[id] = p
	c.mu.Unlock()
	return p
}
