package apikeys

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"
)

// Config configures a Manager. Only Store is required; every other zero value
// has the documented default.
type Config struct {
	// Store holds the key records. Required.
	Store Store
	// Prefix is the type prefix of issued keys, without the separating
	// underscore (see ValidatePrefix). Verify rejects other prefixes as
	// malformed. Default DefaultPrefix ("wak", keys start "wak_").
	Prefix string
	// Pepper, when set, makes stored hashes HMAC-SHA-256 keyed with it
	// instead of plain SHA-256. Keep it outside the database. Changing it
	// invalidates every issued key.
	Pepper []byte
	// AllowNoExpiry lets Issue create keys that never expire. By default an
	// expiry (IssueOptions.ExpiresAt or TTL) is required.
	AllowNoExpiry bool
	// RotationGrace is how long a rotated key keeps working next to its
	// successor. Default 24h.
	RotationGrace time.Duration
	// DefaultRateLimit applies to keys without their own limit. Default: none.
	DefaultRateLimit RateLimit

	// CacheSize bounds the number of verified keys kept in memory. Default
	// 10000; negative disables the cache (every Verify reads the Store).
	CacheSize int
	// CacheTTL is how long a cached key is trusted without re-reading the
	// Store; it bounds how late this process sees revocations made by other
	// processes. Revocations through this Manager are seen at once. Default 30s.
	CacheTTL time.Duration
	// NegativeCacheSize bounds the number of unknown key ids remembered, so
	// repeated attempts with the same unknown key do not reach the Store.
	// Default 10000; negative disables it.
	NegativeCacheSize int
	// NegativeCacheTTL is how long an unknown id is remembered. Default
	// CacheTTL.
	NegativeCacheTTL time.Duration
	// LookupTimeout bounds one Store read on a cache miss. The read is shared
	// by all concurrent verifications of the same key, so it does not follow
	// any single caller's cancellation. Default 5s.
	LookupTimeout time.Duration

	// LastUsedInterval is how often Run writes last-used times to the Store,
	// and the resolution of those times per key. Default 1m.
	LastUsedInterval time.Duration
	// LastUsedMaxPending bounds last-used updates waiting for a flush; beyond
	// it, updates for further keys are dropped (last-used is advisory).
	// Default 100000.
	LastUsedMaxPending int

	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the source of key material. Default crypto/rand.Reader.
	Rand io.Reader
	// Logger receives events (issue, rotate, revoke, flush failures). Keys'
	// secrets are never logged. Default: discard.
	Logger *slog.Logger
}

// Manager issues, verifies, rotates and revokes API keys. It is safe for
// concurrent use. Start Run in a goroutine to persist last-used times.
type Manager struct {
	store         Store
	prefix        string
	hasher        *hasher
	allowNoExpiry bool
	grace         time.Duration
	defaultLimit  RateLimit
	cacheTTL      int64
	negTTL        int64
	lookupTimeout time.Duration
	usedInterval  time.Duration
	now           func() time.Time
	rand          io.Reader
	log           *slog.Logger

	cache    *cache[*keyState]     // nil when disabled
	neg      *cache[struct{}]      // nil when disabled
	limiters *cache[*limiterState] // always on: rate limits must hold without the record cache
	flight   singleflight.Group
	used     pendingUse
}

// New returns a Manager for cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("apikeys: Config.Store is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if err := ValidatePrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	if !validLimit(cfg.DefaultRateLimit) {
		return nil, errors.New("apikeys: invalid Config.DefaultRateLimit")
	}
	m := &Manager{
		store:         cfg.Store,
		prefix:        cfg.Prefix,
		hasher:        newHasher(cfg.Pepper),
		allowNoExpiry: cfg.AllowNoExpiry,
		grace:         orDefault(cfg.RotationGrace, 24*time.Hour),
		defaultLimit:  cfg.DefaultRateLimit,
		cacheTTL:      int64(orDefault(cfg.CacheTTL, 30*time.Second)),
		lookupTimeout: orDefault(cfg.LookupTimeout, 5*time.Second),
		usedInterval:  orDefault(cfg.LastUsedInterval, time.Minute),
		now:           cfg.Now,
		rand:          cfg.Rand,
		log:           cfg.Logger,
	}
	m.negTTL = int64(orDefault(cfg.NegativeCacheTTL, time.Duration(m.cacheTTL)))
	m.used.init(orDefault(cfg.LastUsedMaxPending, 100000))
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.limiters = newCache[*limiterState](orDefault(cfg.CacheSize, 10000))
	if cfg.CacheSize >= 0 {
		m.cache = newCache[*keyState](orDefault(cfg.CacheSize, 10000))
	}
	if cfg.NegativeCacheSize >= 0 {
		m.neg = newCache[struct{}](orDefault(cfg.NegativeCacheSize, 10000))
	}
	return m, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// IssueOptions describe a key to issue.
type IssueOptions struct {
	// Name is a human label.
	Name string
	// ClientID is a free-form public label, e.g. Waldur's client_id.
	ClientID string
	// Binding ties the key to Waldur objects.
	Binding Binding
	// Scopes the key grants (see ScopeGrants). Each must pass ValidateScope.
	Scopes []string
	// ExpiresAt is when the key stops working.
	ExpiresAt time.Time
	// TTL sets ExpiresAt to now+TTL when ExpiresAt is zero.
	TTL time.Duration
	// RateLimit overrides Config.DefaultRateLimit; see NoRateLimit.
	RateLimit RateLimit
	// Metadata is stored with the key.
	Metadata map[string]string
}

// Issued is a newly created key. Key.Format() is the plaintext: show it to
// its owner once; only its hash is stored.
type Issued struct {
	// Key is the new key; its String and LogValue are redacted.
	Key Key
	// Record is what the Store now holds for it.
	Record Record
}

// Issue creates and stores a new key.
func (m *Manager) Issue(ctx context.Context, opts IssueOptions) (Issued, error) {
	now := m.now()
	exp := opts.ExpiresAt
	if exp.IsZero() && opts.TTL > 0 {
		exp = now.Add(opts.TTL)
	}
	rec := Record{
		Name:      opts.Name,
		ClientID:  opts.ClientID,
		Binding:   opts.Binding,
		Scopes:    append([]string(nil), opts.Scopes...),
		Metadata:  opts.Metadata,
		RateLimit: opts.RateLimit,
		CreatedAt: now,
		ExpiresAt: exp,
	}
	if err := m.checkRecord(&rec, now); err != nil {
		return Issued{}, err
	}
	is, err := m.create(ctx, rec, func(ctx context.Context, r Record) error { return m.store.Create(ctx, r) })
	if err != nil {
		return Issued{}, fmt.Errorf("apikeys: issue key: %w", err)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: issued key", slog.String("key", is.Record.Display()),
		slog.String("project", uuidAttr(rec.Binding.ProjectUUID)), slog.String("resource", uuidAttr(rec.Binding.ResourceUUID)))
	return is, nil
}

// IssueForResource issues a key bound to a marketplace resource: b.ResourceUUID
// is required and replaces opts.Binding. This is the seam for Waldur's
// resource API keys (two per resource, labelled by opts.ClientID, so one can
// be rotated while the other keeps working).
func (m *Manager) IssueForResource(ctx context.Context, b Binding, opts IssueOptions) (Issued, error) {
	if b.ResourceUUID == uuid.Nil {
		return Issued{}, errors.New("apikeys: issue for resource: resource UUID is required")
	}
	opts.Binding = b
	return m.Issue(ctx, opts)
}

func (m *Manager) checkRecord(rec *Record, now time.Time) error {
	for _, s := range rec.Scopes {
		if !ValidateScope(s) {
			return errors.New("apikeys: invalid scope (1-100 printable ASCII characters, no spaces)")
		}
	}
	if rec.ExpiresAt.IsZero() && !m.allowNoExpiry {
		return ErrExpiryRequired
	}
	if !rec.ExpiresAt.IsZero() && !rec.ExpiresAt.After(now) {
		return errors.New("apikeys: expiry is not in the future")
	}
	if !validLimit(rec.RateLimit) {
		return errors.New("apikeys: invalid rate limit")
	}
	return nil
}

// validLimit accepts the zero value, a negative rate (unlimited) or a finite
// positive rate; a zero rate with a burst would never refill.
func validLimit(l RateLimit) bool {
	if math.IsInf(l.PerSecond, 0) || math.IsNaN(l.PerSecond) || l.Burst < 0 {
		return false
	}
	return l.PerSecond != 0 || l.Burst == 0
}

// create generates key material for rec and stores it with save, retrying
// with fresh material on the (astronomically unlikely) id collision.
func (m *Manager) create(ctx context.Context, rec Record, save func(context.Context, Record) error) (Issued, error) {
	for attempt := 0; ; attempt++ {
		k, err := generate(m.rand, m.prefix)
		if err != nil {
			return Issued{}, err
		}
		rec.ID, rec.Prefix = k.ID, k.Prefix
		d := m.hasher.sum(k.Format())
		rec.Hash = d[:]
		err = save(ctx, rec)
		if errors.Is(err, ErrDuplicate) && attempt < 3 {
			continue
		}
		if err != nil {
			return Issued{}, err
		}
		if m.neg != nil {
			m.neg.remove(k.ID)
		}
		return Issued{Key: k, Record: rec}, nil
	}
}

// RotateOptions tune Rotate.
type RotateOptions struct {
	// Grace is how long the old key keeps working. Zero means
	// Config.RotationGrace; negative means no overlap.
	Grace time.Duration
	// ExpiresAt of the new key. Zero gives it the old key's lifetime
	// (ExpiresAt-CreatedAt) counted from now, or no expiry if the old key
	// had none and the Manager allows that.
	ExpiresAt time.Time
	// ClientID of the new key; empty keeps the old key's label.
	ClientID string
}

// Rotate issues a successor for key id with the same name, label, binding,
// scopes, rate limit and metadata, and keeps the old key valid until the
// grace period ends. Rotating a revoked key fails with ErrRevoked, rotating
// an already replaced key with ErrRotated.
func (m *Manager) Rotate(ctx context.Context, id string, opts RotateOptions) (Issued, error) {
	old, err := m.store.Get(ctx, id)
	if err != nil {
		return Issued{}, fmt.Errorf("apikeys: rotate %s: %w", id, err)
	}
	now := m.now()
	next := Record{
		Name:        old.Name,
		ClientID:    old.ClientID,
		Binding:     old.Binding,
		Scopes:      old.Scopes,
		Metadata:    old.Metadata,
		RateLimit:   old.RateLimit,
		CreatedAt:   now,
		ExpiresAt:   opts.ExpiresAt,
		RotatedFrom: old.ID,
	}
	if opts.ClientID != "" {
		next.ClientID = opts.ClientID
	}
	if next.ExpiresAt.IsZero() && !old.ExpiresAt.IsZero() {
		next.ExpiresAt = now.Add(max(old.ExpiresAt.Sub(old.CreatedAt), time.Second))
	}
	if err := m.checkRecord(&next, now); err != nil {
		return Issued{}, fmt.Errorf("apikeys: rotate %s: %w", id, err)
	}
	grace := m.grace
	if opts.Grace != 0 {
		grace = max(opts.Grace, 0)
	}
	graceUntil := now.Add(grace)
	is, err := m.create(ctx, next, func(ctx context.Context, r Record) error {
		return m.store.Rotate(ctx, old.ID, r, graceUntil)
	})
	if err != nil {
		return Issued{}, fmt.Errorf("apikeys: rotate %s: %w", id, err)
	}
	m.invalidate(old.ID)
	m.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: rotated key", slog.String("key", old.Display()),
		slog.String("successor", is.Record.Display()), slog.Time("grace_until", graceUntil))
	return is, nil
}

// Revoke makes key id invalid at once for this Manager, and for other
// processes sharing the Store within their CacheTTL.
func (m *Manager) Revoke(ctx context.Context, id string) error {
	if err := m.store.Revoke(ctx, id, m.now()); err != nil {
		return fmt.Errorf("apikeys: revoke %s: %w", id, err)
	}
	m.invalidate(id)
	m.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: revoked key", slog.String("key_id", id))
	return nil
}

// Suspend makes key id stop working until Resume, at once for this Manager
// and for other processes sharing the Store within their CacheTTL. Verify
// answers ReasonSuspended for it. Waldur's pause of a resource API key is
// the use case: unlike Revoke, it can be undone.
func (m *Manager) Suspend(ctx context.Context, id string) error {
	if err := m.store.SetSuspended(ctx, id, m.now()); err != nil {
		return fmt.Errorf("apikeys: suspend %s: %w", id, err)
	}
	m.invalidate(id)
	m.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: suspended key", slog.String("key_id", id))
	return nil
}

// Resume makes a suspended key id work again (if it is not revoked or
// expired meanwhile). Resuming a key that is not suspended succeeds.
func (m *Manager) Resume(ctx context.Context, id string) error {
	if err := m.store.SetSuspended(ctx, id, time.Time{}); err != nil {
		return fmt.Errorf("apikeys: resume %s: %w", id, err)
	}
	m.invalidate(id)
	m.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: resumed key", slog.String("key_id", id))
	return nil
}

// RevokeResource revokes every live key bound to a marketplace resource, for
// example when Waldur terminates it, and returns how many it revoked.
func (m *Manager) RevokeResource(ctx context.Context, resource uuid.UUID) (int, error) {
	if resource == uuid.Nil {
		return 0, errors.New("apikeys: revoke resource: resource UUID is required")
	}
	recs, err := m.store.List(ctx, Filter{ResourceUUID: resource})
	if err != nil {
		return 0, fmt.Errorf("apikeys: revoke resource %s: %w", resource, err)
	}
	n := 0
	var errs []error
	for _, r := range recs {
		if err := m.Revoke(ctx, r.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Get returns the record of key id.
func (m *Manager) Get(ctx context.Context, id string) (Record, error) {
	r, err := m.store.Get(ctx, id)
	if err != nil {
		return Record{}, fmt.Errorf("apikeys: get %s: %w", id, err)
	}
	return r, nil
}

// List returns the records matching f (for example all keys of a project or
// of a resource), oldest first.
func (m *Manager) List(ctx context.Context, f Filter) ([]Record, error) {
	recs, err := m.store.List(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("apikeys: list: %w", err)
	}
	return recs, nil
}

// CurrentForClient returns the newest key of a resource carrying clientID that
// is neither revoked nor replaced: the one a rotation request for that
// client_id should rotate. It returns ErrNotFound when there is none.
func (m *Manager) CurrentForClient(ctx context.Context, resource uuid.UUID, clientID string) (Record, error) {
	recs, err := m.store.List(ctx, Filter{ResourceUUID: resource, ClientID: clientID})
	if err != nil {
		return Record{}, fmt.Errorf("apikeys: current key for client %q: %w", clientID, err)
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].ReplacedBy == "" {
			return recs[i], nil
		}
	}
	return Record{}, fmt.Errorf("apikeys: current key for client %q: %w", clientID, ErrNotFound)
}

// invalidate drops id from the local caches and from any in-flight load, so
// the next Verify reads the Store.
func (m *Manager) invalidate(id string) {
	if m.cache != nil {
		m.cache.remove(id)
	}
	if m.neg != nil {
		m.neg.remove(id)
	}
	m.flight.Forget(id)
}

// Run writes last-used times to the Store every LastUsedInterval until ctx is
// done, then writes what is pending once more (bounded by LookupTimeout) and
// returns. Without Run, verification works but last-used times stay unset.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.usedInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.lookupTimeout)
			defer cancel()
			return m.FlushLastUsed(fctx)
		case <-t.C:
			if err := m.FlushLastUsed(ctx); err != nil && ctx.Err() == nil {
				m.log.LogAttrs(ctx, slog.LevelWarn, "apikeys: flush last-used times", slog.Any("error", err))
			}
		}
	}
}

// FlushLastUsed writes pending last-used times to the Store in one batch. On
// failure the batch is kept for the next flush.
func (m *Manager) FlushLastUsed(ctx context.Context) error {
	if n := m.used.dropped.Swap(0); n > 0 {
		m.log.LogAttrs(ctx, slog.LevelWarn, "apikeys: last-used updates dropped; raise Config.LastUsedMaxPending",
			slog.Uint64("dropped", n))
	}
	batch := m.used.take()
	if len(batch) == 0 {
		return nil
	}
	if err := m.store.TouchLastUsed(ctx, batch); err != nil {
		m.used.restore(batch)
		return fmt.Errorf("apikeys: flush last-used times of %d keys: %w", len(batch), err)
	}
	return nil
}

// pendingUse coalesces last-used times per key between flushes.
type pendingUse struct {
	mu      sync.Mutex
	m       map[string]time.Time
	max     int
	dropped atomic.Uint64
}

func (p *pendingUse) init(max int) {
	p.m = make(map[string]time.Time)
	p.max = max
}

func (p *pendingUse) note(id string, t time.Time) {
	p.mu.Lock()
	if old, ok := p.m[id]; ok {
		if t.After(old) {
			p.m[id] = t
		}
	} else if len(p.m) < p.max {
		p.m[id] = t
	} else {
		p.dropped.Add(1)
	}
	p.mu.Unlock()
}

func (p *pendingUse) take() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) == 0 {
		return nil
	}
	b := p.m
	p.m = make(map[string]time.Time, len(b))
	return b
}

func (p *pendingUse) restore(b map[string]time.Time) {
	for id, t := range b {
		p.note(id, t)
	}
}

func uuidAttr(u uuid.UUID) string {
	if u == uuid.Nil {
		return ""
	}
	return u.String()
}
