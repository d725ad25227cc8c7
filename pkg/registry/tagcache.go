package registry

import (
	"sync"
	"time"
)

// maxTags bounds the tag cache; when full, expired entries go first, then
// everything (a cache miss costs one HEAD, so a reset is cheap).
const maxTags = 4096

// tagCache remembers tag -> digest for a few seconds, for pinning only: a
// verifier must never trust it, since the tag may have moved since.
type tagCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]tagEntry
}

type tagEntry struct {
	digest  string
	expires time.Time
}

func newTagCache(ttl time.Duration, now func() time.Time) *tagCache {
	return &tagCache{ttl: ttl, now: now, entries: map[string]tagEntry{}}
}

func (t *tagCache) get(key string) (string, bool) {
	if t.ttl <= 0 {
		return "", false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok || !t.now().Before(e.expires) {
		return "", false
	}
	return e.digest, true
}

func (t *tagCache) put(key, digest string) {
	if t.ttl <= 0 {
		return
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= maxTags {
		for k, e := range t.entries {
			if !now.Before(e.expires) {
				delete(t.entries, k)
			}
		}
		if len(t.entries) >= maxTags {
			clear(t.entries)
		}
	}
	t.entries[key] = tagEntry{digest: digest, expires: now.Add(t.ttl)}
}
