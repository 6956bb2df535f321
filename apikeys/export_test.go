package apikeys

import "fmt"

// DumpMemoryStore renders every record the store holds, all fields, as the
// hashes-only test's view of its raw storage.
func DumpMemoryStore(s *MemoryStore) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []byte
	for id, r := range s.recs {
		out = fmt.Appendf(out, "%s %#v %s\n", id, *r, r.Hash)
	}
	return out
}

// CacheLen reports how many records the Manager caches.
func (m *Manager) CacheLen() int { return m.cache.len() }

// NegativeCacheLen reports how many unknown ids the Manager remembers.
func (m *Manager) NegativeCacheLen() int { return m.neg.len() }

// PendingLastUsed reports how many last-used updates wait for a flush.
func (m *Manager) PendingLastUsed() int {
	m.used.mu.Lock()
	defer m.used.mu.Unlock()
	return len(m.used.m)
}

// ForgeKey returns a well-formed key (valid checksum) with the given prefix
// and id and a random secret: what someone guessing secrets for a known id
// sends.
func ForgeKey(t interface{ Fatal(...any) }, prefix, id string) string {
	k, err := Generate(prefix)
	if err != nil {
		t.Fatal(err)
	}
	k.ID = id
	return k.Format()
}
