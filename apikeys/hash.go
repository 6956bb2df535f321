package apikeys

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// hasher computes the stored digest of a key: SHA-256 of the full key, or
// HMAC-SHA-256 keyed with a server-side pepper. With a pepper a stolen
// database alone does not let anyone test guesses offline; keys carry 131
// random bits, so plain SHA-256 is already out of brute-force reach and the
// pepper is defence in depth. Changing the pepper invalidates every key.
type hasher struct {
	pepper []byte
	macs   sync.Pool // of *macState; HMAC keying is the costly part
}

type macState struct {
	mac hash.Hash
	buf [MaxKeyLen]byte
	out [sha256.Size]byte
}

func newHasher(pepper []byte) *hasher {
	h := &hasher{}
	if len(pepper) > 0 {
		h.pepper = append([]byte(nil), pepper...)
		h.macs.New = func() any { return &macState{mac: hmac.New(sha256.New, h.pepper)} }
	}
	return h
}

// sum returns the digest of key without allocating for keys up to MaxKeyLen.
func (h *hasher) sum(key string) [sha256.Size]byte {
	if h.pepper == nil {
		var buf [MaxKeyLen]byte
		return sha256.Sum256(append(buf[:0], key...))
	}
	st := h.macs.Get().(*macState)
	st.mac.Reset()
	st.mac.Write(append(st.buf[:0], key...))
	var d [sha256.Size]byte
	copy(d[:], st.mac.Sum(st.out[:0]))
	h.macs.Put(st)
	return d
}
