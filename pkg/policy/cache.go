package policy

import "sync"

// boundedCache is a concurrency-safe map from strings to values that holds
// at most two generations of limit cost each: when the current generation is
// full it becomes the old one and the previous old one is dropped. Entries
// found in the old generation move back to the current one, so values in
// steady use stay.
type boundedCache[V any] struct {
	mu       sync.Mutex
	limit    int
	curCost  int
	cur, old map[string]V
}

func newBoundedCache[V any](limit int) boundedCache[V] {
	return boundedCache[V]{limit: max(limit, 1), cur: map[string]V{}}
}

func (c *boundedCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.putLocked(k, v)
	}
	return v, ok
}

func (c *boundedCache[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, v)
}

func (c *boundedCache[V]) putLocked(k string, v V) {
	cost := 1
	if c.curCost+cost > c.limit && len(c.cur) > 0 {
		c.old, c.cur, c.curCost = c.cur, make(map[string]V, len(c.cur)), 0
	}
	if _, dup := c.cur[k]; !dup {
		c.curCost += cost
	}
	c.cur[k] = v
}

// len is the number of entries held, for tests.
func (c *boundedCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
