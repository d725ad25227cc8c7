package sigverify

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tollgate-dev/tollgate/pkg/provenance"
)

// Observer receives what the cache does; metrics implement it (registry
// requests are observed by the registry client).
type Observer interface {
	// CacheLookup: hit, miss (this caller verifies) or shared (another
	// caller's verification of the same digest was joined).
	CacheLookup(result string)
	// Verified: the outcome (signed, unsigned, error) of one verification.
	Verified(outcome string, d time.Duration)
}

// CacheOptions bound how long answers live.
type CacheOptions struct {
	// SignedTTL: how long an image with a verified signature stays cached.
	SignedTTL time.Duration
	// UnsignedTTL: how long a definitive "no signature by these trusts"
	// stays cached; short, so a newly signed image is admitted soon.
	UnsignedTTL time.Duration
	// MaxEntries bounds memory.
	MaxEntries int
	// Timeout bounds one verification, whoever waits for it.
	Timeout time.Duration
}

// Cache verifies images once per (repository, digest, trust
// configuration) and remembers the answer. It never caches registry
// trouble, and it never keys by tag: callers resolve tags first.
type Cache struct {
	opts  CacheOptions
	obs   Observer
	now   func() time.Time
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	img     Image
	expires time.Time
}

// NewCache makes a cache; obs may be nil.
func NewCache(opts CacheOptions, obs Observer) *Cache {
	if obs == nil {
		obs = nopObserver{}
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	return &Cache{opts: opts, obs: obs, now: time.Now, entries: map[string]cacheEntry{}}
}

// Check is sigverify.Check behind the cache. Concurrent calls for the same
// key share one verification; a caller whose ctx ends stops waiting, but
// the shared verification runs on to its own timeout for the others.
func (c *Cache) Check(ctx context.Context, reg Registry, repo, digest string, trusts []*Trust, opts Options) Image {
	key := repo + "@" + digest + "#" + setHash(trusts, opts.key())
	if img, ok := c.get(key); ok {
		c.obs.CacheLookup("hit")
		return img
	}
	ch := c.group.DoChan(key, func() (any, error) {
		c.obs.CacheLookup("miss")
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
		defer cancel()
		start := c.now()
		img := Check(vctx, reg, repo, digest, trusts, opts)
		c.obs.Verified(outcome(img), c.now().Sub(start))
		c.put(key, img, opts)
		return img, nil
	})
	select {
	case r := <-ch:
		if r.Shared {
			c.obs.CacheLookup("shared")
		}
		return r.Val.(Image)
	case <-ctx.Done():
		return provenance.Failed(digest, "verification did not finish in time: "+ctx.Err().Error(), true)
	}
}

func outcome(img Image) string {
	switch {
	case img.Error != "":
		return "error"
	case len(img.SignedBy) > 0:
		return "signed"
	}
	return "unsigned"
}

func (c *Cache) get(key string) (Image, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		return Image{}, false
	}
	return e.img, true
}

// put stores definitive answers only.
func (c *Cache) put(key string, img Image, opts Options) {
	ttl := pick(opts.UnsignedTTL, c.opts.UnsignedTTL)
	switch {
	case img.Error != "":
		return
	case len(img.SignedBy) > 0:
		ttl = pick(opts.SignedTTL, c.opts.SignedTTL)
	}
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= c.opts.MaxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.opts.MaxEntries {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = cacheEntry{img: img, expires: now.Add(ttl)}
}

type nopObserver struct{}

func (nopObserver) CacheLookup(string)             {}
func (nopObserver) Verified(string, time.Duration) {}

func pick(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
