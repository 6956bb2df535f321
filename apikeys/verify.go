package apikeys

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Verifier checks a presented key. *Manager implements it; the HTTP
// middleware depends only on this interface.
type Verifier interface {
	// Verify reports whether key is valid and grants every required scope.
	// The error is non-nil only when verification could not be carried out
	// (the Store failed); a rejected key is a Result, not an error.
	Verify(ctx context.Context, key string, required ...string) (Result, error)
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(ctx context.Context, key string, required ...string) (Result, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, key string, required ...string) (Result, error) {
	return f(ctx, key, required...)
}

var _ Verifier = (*Manager)(nil)

// keyState is the cached, verified view of one record plus the per-key state
// that must outlive cache refreshes.
type keyState struct {
	rec    Record
	ident  Identity
	hash   [sha256.Size]byte
	hashOK bool
	// limit is the effective rate limit; its bucket, in lim, is looked up
	// only once the key has been proven authentic, so a wrong secret for a
	// known id never creates, evicts or resets any key's bucket.
	limit RateLimit
	lim   atomic.Pointer[rate.Limiter]
	// touched is when this key was last queued for a last-used write (unix
	// ns); it keeps the verify path to one atomic load per key and interval.
	touched atomic.Int64
}

// Verify checks key: grammar, prefix and checksum (offline), then the record
// by id (cache first), then the hash in constant time, then revocation,
// expiry, required scopes and the rate limit, in that order. A valid result
// consumes one token of the key's rate limit. The key's token bucket is
// looked up only after the hash matched: guessing secrets for a known id
// touches no bucket, so it can neither refill nor evict the limits of the
// keys in use. On a warm cache it does not touch the Store and does not
// allocate.
func (m *Manager) Verify(ctx context.Context, key string, required ...string) (Result, error) {
	id, ok := m.splitID(key)
	if !ok {
		return Result{Reason: ReasonMalformed}, nil
	}
	now := m.now()
	nowN := now.UnixNano()
	// Warm path: a fresh cache entry whose hash matches proves the key is the
	// one issued, so the full grammar and checksum checks would only repeat
	// what issuing established. They run when the entry is missing or the
	// hash differs, so results are the same either way.
	var st *keyState
	if m.cache != nil {
		if c, fresh, ok := m.cache.get(id, nowN); ok && fresh {
			st = c
		}
	}
	var d [sha256.Size]byte
	hashed := false
	if st != nil {
		d, hashed = m.hasher.sum(key), true
	}
	if st == nil || !st.matches(&d) {
		if _, why := parse(key); why != "" || !checksumOK(key) {
			return Result{Reason: ReasonMalformed}, nil
		}
		if st == nil {
			var err error
			if st, err = m.lookup(ctx, id, nowN); err != nil {
				return Result{}, err
			}
			if st == nil {
				return Result{Reason: ReasonNotFound}, nil
			}
		}
		if !hashed {
			d = m.hasher.sum(key)
		}
		if !st.matches(&d) {
			return Result{Reason: ReasonNotFound}, nil
		}
	}
	res := Result{Identity: st.ident}
	if r := st.rec.State(now); r != ReasonValid {
		res.Reason = r
		return res, nil
	}
	if len(required) > 0 && !hasScopes(st.ident.Scopes, required) {
		res.Reason = ReasonScopeMissing
		return res, nil
	}
	if lim := m.limiterOf(st, nowN); lim != nil && !lim.AllowN(now, 1) {
		res.Reason = ReasonRateLimited
		res.RetryAfter = retryAfter(lim, now)
		return res, nil
	}
	if t := st.touched.Load(); nowN-t >= int64(m.usedInterval) && st.touched.CompareAndSwap(t, nowN) {
		m.used.note(id, now)
	}
	return res, nil
}

// splitID returns the id of a key with this Manager's prefix, checking only
// the structure (length, prefix, separators); Verify checks the rest.
func (m *Manager) splitID(key string) (string, bool) {
	if len(key) != len(m.prefix)+tailLen || key[:len(m.prefix)] != m.prefix {
		return "", false
	}
	p := len(m.prefix)
	if key[p] != '_' || key[p+1+IDLen] != '_' {
		return "", false
	}
	return key[p+1 : p+1+IDLen], true
}

func (st *keyState) matches(d *[sha256.Size]byte) bool {
	return st.hashOK && subtle.ConstantTimeCompare(d[:], st.hash[:]) == 1
}

// retryAfter is the time until the bucket holds one token again.
func retryAfter(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 || lim.Limit() <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(missing / float64(lim.Limit()) * float64(time.Second)))
}

// lookup returns the state of key id, nil when there is no such key.
func (m *Manager) lookup(ctx context.Context, id string, now int64) (*keyState, error) {
	var prev *keyState
	if m.cache != nil {
		st, fresh, ok := m.cache.get(id, now)
		if ok && fresh {
			return st, nil
		}
		prev = st
	}
	if prev == nil && m.neg != nil {
		if _, fresh, ok := m.neg.get(id, now); ok && fresh {
			return nil, nil
		}
	}
	v, err, _ := m.flight.Do(id, func() (any, error) { return m.load(ctx, id, prev) })
	if err != nil {
		return nil, err
	}
	return v.(*keyState), nil
}

// load reads id from the Store and caches the outcome. Cache generations are
// taken before the read so that a revocation racing with it wins.
func (m *Manager) load(ctx context.Context, id string, prev *keyState) (*keyState, error) {
	var gen, negGen uint64
	if m.cache != nil {
		gen = m.cache.generation()
	}
	if m.neg != nil {
		negGen = m.neg.generation()
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.lookupTimeout)
	defer cancel()
	rec, err := m.store.Get(lctx, id)
	now := m.now().UnixNano()
	if errors.Is(err, ErrNotFound) {
		if m.neg != nil {
			m.neg.put(id, struct{}{}, now, m.negTTL, negGen)
		}
		if m.cache != nil && prev != nil {
			m.cache.remove(id) // deleted from the Store
		}
		return (*keyState)(nil), nil
	}
	if err != nil {
		m.log.LogAttrs(ctx, slog.LevelWarn, "apikeys: key lookup failed", slog.String("key_id", id), slog.Any("error", err))
		return nil, fmt.Errorf("apikeys: verify: look up key %s: %w", id, err)
	}
	st := m.newKeyState(rec, prev)
	if m.cache != nil {
		m.cache.put(id, st, now, m.cacheTTL, gen)
	}
	return st, nil
}

func (m *Manager) newKeyState(rec Record, prev *keyState) *keyState {
	st := &keyState{rec: rec, ident: identityOf(&rec), limit: m.effectiveLimit(rec.RateLimit)}
	if len(rec.Hash) == sha256.Size {
		copy(st.hash[:], rec.Hash)
		st.hashOK = true
	}
	if prev != nil {
		st.touched.Store(prev.touched.Load())
	}
	return st
}

// limiterOf returns the token bucket of an authenticated key, nil when it is
// unlimited. The first call after a (re)load fetches the bucket from the
// limiter cache; later calls read it from st.
func (m *Manager) limiterOf(st *keyState, now int64) *rate.Limiter {
	if st.limit.Unlimited() {
		return nil
	}
	if lim := st.lim.Load(); lim != nil {
		return lim
	}
	lim := m.limiterFor(st.rec.ID, st.limit, now)
	if !st.lim.CompareAndSwap(nil, lim) {
		return st.lim.Load()
	}
	return lim
}

func (m *Manager) effectiveLimit(l RateLimit) RateLimit {
	if l.IsZero() {
		return m.defaultLimit
	}
	return l
}

// limiterState is a key's token bucket. Buckets live in their own bounded
// cache, apart from the records, so that reloading a record (after its TTL,
// a local revocation, or with the record cache disabled) does not refill it.
type limiterState struct {
	limit RateLimit
	lim   *rate.Limiter
}

// limiterTTL: buckets leave the limiter cache only by eviction.
const limiterTTL = int64(100 * 365 * 24 * time.Hour)

func (m *Manager) limiterFor(id string, l RateLimit, now int64) *rate.Limiter {
	if ls, _, ok := m.limiters.get(id, now); ok && ls.limit == l {
		return ls.lim
	}
	ls := &limiterState{limit: l, lim: rate.NewLimiter(rate.Limit(l.PerSecond), max(1, l.Burst))}
	m.limiters.put(id, ls, now, limiterTTL, m.limiters.generation())
	return ls.lim
}
