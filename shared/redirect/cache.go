package redirect

import (
	"sync"
	"time"
)

// entry is what the cache knows of one request host: the compiled route that
// answers it, or nil when no route matches (a negative entry).
type entry struct {
	host       string
	route      *route
	fetched    time.Time
	freshUntil time.Time // serve without asking the store until then
	retryAt    time.Time // after a failed refresh: serve stale, don't ask again until then
	prev, next *entry
}

// cache is a bounded LRU of entries. An intrusive list keeps a hit free of
// allocations; one mutex is enough, since a hit holds it for a map read and two
// pointer swaps.
type cache struct {
	mu    sync.Mutex
	max   int
	items map[string]*entry
	head  entry // sentinel: head.next is the most recently used
}

func newCache(max int) *cache {
	c := &cache{max: max, items: make(map[string]*entry, min(max, 1024))}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

// get returns a copy of the entry for host, marking it recently used.
func (c *cache) get(host string) (entry, bool) {
	c.mu.Lock()
	e, ok := c.items[host]
	if !ok {
		c.mu.Unlock()
		return entry{}, false
	}
	c.moveToFront(e)
	v := *e
	c.mu.Unlock()
	v.prev, v.next = nil, nil
	return v, true
}

// put stores what the store answered for host, evicting the least recently used.
func (c *cache) put(host string, ro *route, fetched, freshUntil time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[host]; ok {
		e.route, e.fetched, e.freshUntil, e.retryAt = ro, fetched, freshUntil, time.Time{}
		c.moveToFront(e)
		return
	}
	e := &entry{host: host, route: ro, fetched: fetched, freshUntil: freshUntil}
	c.items[host] = e
	c.pushFront(e)
	for len(c.items) > c.max {
		last := c.head.prev
		c.unlink(last)
		delete(c.items, last.host)
	}
}

// backOff records a failed refresh of host: its stale value is served until retryAt
// without each request waiting on a store that is down.
func (c *cache) backOff(host string, retryAt time.Time) {
	c.mu.Lock()
	if e, ok := c.items[host]; ok {
		e.retryAt = retryAt
	}
	c.mu.Unlock()
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (c *cache) moveToFront(e *entry) {
	if c.head.next == e {
		return
	}
	c.unlink(e)
	c.pushFront(e)
}

func (c *cache) pushFront(e *entry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

func (c *cache) unlink(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}
