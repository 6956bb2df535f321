package apikeys

import (
	"hash/maphash"
	"math"
	"sync/atomic"
)

// cache is a bounded map from key id to value with a time to live per entry,
// built for the verify path.
//
// It is a set-associative table of atomic pointers: an id hashes to a set of
// cacheWays slots, and a lookup loads at most that many pointers. Reads take
// no lock and write nothing shared (recency is refreshed at most once per
// accessGranularity), so any number of cores can verify the same hot key
// without their caches fighting over a mutex's cache line. The table never
// grows: a new entry takes an empty or expired slot of its set, or else the
// least recently used one. That bounds memory by construction; with four
// ways and as many slots as entries wanted, conflict evictions among the
// keys in active use are rare.
type cache[V any] struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry[V]]
	mask  uint64 // number of sets - 1
	// gen counts removals. A loader takes it before reading the Store and
	// put discards (or withdraws) the entry when a removal happened since,
	// so a revocation racing a load cannot leave the stale record cached.
	gen atomic.Uint64
}

type cacheEntry[V any] struct {
	id      string
	val     V
	expires int64        // unix nanoseconds; immutable
	access  atomic.Int64 // unix nanoseconds of a recent hit
}

const (
	cacheWays         = 4
	accessGranularity = int64(1e9) // one second
)

// newCache returns a cache with room for at least size entries.
func newCache[V any](size int) *cache[V] {
	sets := 1
	for sets*cacheWays < size {
		sets <<= 1
	}
	return &cache[V]{
		seed:  maphash.MakeSeed(),
		slots: make([]atomic.Pointer[cacheEntry[V]], sets*cacheWays),
		mask:  uint64(sets - 1),
	}
}

func (c *cache[V]) set(id string) []atomic.Pointer[cacheEntry[V]] {
	i := (maphash.String(c.seed, id) & c.mask) * cacheWays
	return c.slots[i : i+cacheWays : i+cacheWays]
}

// get returns the entry for id. fresh is false when the entry has outlived
// its time to live; the stale value is still returned so per-key state can
// be carried over to the reloaded entry.
func (c *cache[V]) get(id string, now int64) (v V, fresh, ok bool) {
	set := c.set(id)
	for i := range set {
		e := set[i].Load()
		if e == nil || e.id != id {
			continue
		}
		if now-e.access.Load() >= accessGranularity {
			e.access.Store(now)
		}
		return e.val, now < e.expires, true
	}
	return v, false, false
}

// generation returns the token put needs; see cache.gen.
func (c *cache[V]) generation() uint64 { return c.gen.Load() }

// put stores v for id until now+ttl, unless a removal happened since gen was
// taken.
func (c *cache[V]) put(id string, v V, now, ttl int64, gen uint64) {
	if c.gen.Load() != gen {
		return
	}
	e := &cacheEntry[V]{id: id, val: v, expires: now + ttl}
	e.access.Store(now)
	set := c.set(id)
	victim, oldest := 0, int64(math.MaxInt64)
	for i := range set {
		cur := set[i].Load()
		if cur == nil || cur.id == id {
			victim = i
			break
		}
		age := cur.access.Load()
		if cur.expires <= now {
			age = math.MinInt64
		}
		if age < oldest {
			victim, oldest = i, age
		}
	}
	set[victim].Store(e)
	if c.gen.Load() != gen {
		set[victim].CompareAndSwap(e, nil) // a removal raced us: withdraw
	}
}

// remove drops id and invalidates puts prepared before the call.
func (c *cache[V]) remove(id string) {
	c.gen.Add(1)
	set := c.set(id)
	for i := range set {
		if e := set[i].Load(); e != nil && e.id == id {
			set[i].CompareAndSwap(e, nil)
		}
	}
}

// len returns the number of entries, expired ones included.
func (c *cache[V]) len() int {
	n := 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			n++
		}
	}
	return n
}
