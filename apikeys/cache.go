package apikeys

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// cache is a bounded map from key id to value with a time to live per entry.
//
// It is built for the verify path: a hit takes one shard's read lock and
// allocates nothing, so parallel verifiers of different keys rarely meet and
// parallel verifiers of the same key only share a reader count. Recency is an
// atomic timestamp per entry, refreshed at most once per accessGranularity;
// when a shard is full, the least recently used of a few sampled entries is
// evicted (expired ones first). That approximates LRU without moving list
// nodes under a write lock on every hit.
type cache[V any] struct {
	seed   maphash.Seed
	shards []cacheShard[V]
	mask   uint64
}

type cacheShard[V any] struct {
	mu  sync.RWMutex
	m   map[string]*cacheEntry[V]
	cap int
	// gen counts removals, so a loader that read the store before a removal
	// can tell that its result may be stale and must not be cached.
	gen uint64
	_   [64]byte // keep neighbouring shards' locks on different cache lines
}

type cacheEntry[V any] struct {
	val     V
	expires int64        // unix nanoseconds; immutable
	access  atomic.Int64 // unix nanoseconds of a recent hit
}

const (
	cacheSample       = 5
	accessGranularity = int64(1e9) // one second
)

// newCache returns a cache bounded to about size entries (at least one per
// shard).
func newCache[V any](size int) *cache[V] {
	n := 1
	for n < 64 && n*64 < size { // shards of at least 64 entries, at most 64 shards
		n <<= 1
	}
	c := &cache[V]{seed: maphash.MakeSeed(), shards: make([]cacheShard[V], n), mask: uint64(n - 1)}
	per := max(1, (size+n-1)/n)
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cacheEntry[V])
		c.shards[i].cap = per
	}
	return c
}

func (c *cache[V]) shard(id string) *cacheShard[V] {
	return &c.shards[maphash.String(c.seed, id)&c.mask]
}

// get returns the entry for id. fresh is false when the entry has outlived
// its time to live; the stale value is still returned so that per-key state
// (the rate limiter) can be carried over to the reloaded entry.
func (c *cache[V]) get(id string, now int64) (v V, fresh, ok bool) {
	s := c.shard(id)
	s.mu.RLock()
	e := s.m[id]
	s.mu.RUnlock()
	if e == nil {
		return v, false, false
	}
	if now-e.access.Load() >= accessGranularity {
		e.access.Store(now)
	}
	return e.val, now < e.expires, true
}

// generation returns a token for put: a put with a token taken before a
// remove of the same shard is dropped.
func (c *cache[V]) generation(id string) uint64 {
	s := c.shard(id)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.gen
}

// put stores v for id until now+ttl unless the shard saw a removal since gen
// was taken.
func (c *cache[V]) put(id string, v V, now, ttl int64, gen uint64) {
	s := c.shard(id)
	e := &cacheEntry[V]{val: v, expires: now + ttl}
	e.access.Store(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return
	}
	if _, ok := s.m[id]; !ok && len(s.m) >= s.cap {
		s.evictOne(now)
	}
	s.m[id] = e
}

func (s *cacheShard[V]) evictOne(now int64) {
	var victim string
	oldest := int64(1<<63 - 1)
	n := 0
	for id, e := range s.m { // map iteration starts at a random place
		if e.expires <= now {
			victim = id
			break
		}
		if a := e.access.Load(); a < oldest {
			victim, oldest = id, a
		}
		if n++; n == cacheSample {
			break
		}
	}
	delete(s.m, victim)
}

// remove drops id and invalidates puts prepared before the call.
func (c *cache[V]) remove(id string) {
	s := c.shard(id)
	s.mu.Lock()
	delete(s.m, id)
	s.gen++
	s.mu.Unlock()
}

// len returns the number of entries, expired ones included.
func (c *cache[V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
