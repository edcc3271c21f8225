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
	rules      int       // the route's path rules, its weight against the cache's rule bound
	prev, next *entry
}

// cache is an LRU of entries bounded twice: by hosts (max) and by the path rules
// of their routes (maxRules), since a route's rules are most of its memory. An
// intrusive list keeps a hit free of allocations; one mutex is enough, since a
// hit holds it for a map read and two pointer swaps.
type cache struct {
	mu       sync.Mutex
	max      int
	maxRules int
	rules    int // of the entries held
	items    map[string]*entry
	head     entry // sentinel: head.next is the most recently used
}

func newCache(max, maxRules int) *cache {
	c := &cache{max: max, maxRules: maxRules, items: make(map[string]*entry, min(max, 1024))}
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

// put stores what the store answered for host, evicting the least recently used
// until both bounds hold again; the entry just stored stays, however large.
func (c *cache) put(host string, ro *route, fetched, freshUntil time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rules := ro.ruleCount()
	e, ok := c.items[host]
	if ok {
		c.rules -= e.rules
		e.route, e.fetched, e.freshUntil, e.retryAt, e.rules = ro, fetched, freshUntil, time.Time{}, rules
		c.moveToFront(e)
	} else {
		e = &entry{host: host, route: ro, fetched: fetched, freshUntil: freshUntil, rules: rules}
		c.items[host] = e
		c.pushFront(e)
	}
	c.rules += rules
	for (len(c.items) > c.max || c.rules > c.maxRules) && c.head.prev != e {
		last := c.head.prev
		c.unlink(last)
		delete(c.items, last.host)
		c.rules -= last.rules
	}
}

// rulesHeld is the path rules of the cached routes, summed.
func (c *cache) rulesHeld() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rules
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
