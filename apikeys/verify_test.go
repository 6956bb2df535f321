package apikeys_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

func TestVerifyResults(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	valid := f.issue(t, nil)
	expired := f.issue(t, func(o *apikeys.IssueOptions) { o.TTL = time.Minute })
	revoked := f.issue(t, nil)
	require.NoError(t, f.m.Revoke(ctx, revoked.Key.ID))
	limited := f.issue(t, func(o *apikeys.IssueOptions) { o.RateLimit = apikeys.RateLimit{PerSecond: 1, Burst: 1} })
	require.True(t, f.verify(t, limited.Key.Format()).Valid(), "spend the only token")
	f.clock.Advance(2 * time.Minute) // past expired's TTL, and refills limited's bucket...
	require.True(t, f.verify(t, limited.Key.Format()).Valid(), "...which is spent again here")

	plain := valid.Key.Format()
	otherPrefix := forge("zzz", valid.Key.ID, "0123456789abcdefghijKL")
	wrongSecret := forge("wak", valid.Key.ID, "0123456789abcdefghijKL")
	unknown := mustGenerate(t, "")

	tests := []struct {
		name      string
		key       string
		scopes    []string
		want      apikeys.Reason
		sentinel  error
		authentic bool
	}{
		{"valid", plain, nil, apikeys.ReasonValid, nil, true},
		{"valid with scopes", plain, []string{"orders:read", "usage:report"}, apikeys.ReasonValid, nil, true},
		{"garbage", "hello", nil, apikeys.ReasonMalformed, apikeys.ErrMalformed, false},
		{"typo", plain[:len(plain)-9] + "x" + plain[len(plain)-8:], nil, apikeys.ReasonMalformed, apikeys.ErrMalformed, false},
		{"other prefix", otherPrefix, nil, apikeys.ReasonMalformed, apikeys.ErrMalformed, false},
		{"unknown id", unknown, nil, apikeys.ReasonNotFound, apikeys.ErrNotFound, false},
		{"known id, wrong secret", wrongSecret, nil, apikeys.ReasonNotFound, apikeys.ErrNotFound, false},
		{"expired", expired.Key.Format(), nil, apikeys.ReasonExpired, apikeys.ErrExpired, true},
		{"revoked", revoked.Key.Format(), nil, apikeys.ReasonRevoked, apikeys.ErrRevoked, true},
		{"rate limited", limited.Key.Format(), nil, apikeys.ReasonRateLimited, apikeys.ErrRateLimited, true},
		{"scope missing", plain, []string{"orders:write"}, apikeys.ReasonScopeMissing, apikeys.ErrScopeMissing, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.verify(t, tt.key, tt.scopes...)
			assert.Equal(t, tt.want, res.Reason, res.Reason.String())
			assert.Equal(t, tt.want == apikeys.ReasonValid, res.Valid())
			if tt.sentinel == nil {
				assert.NoError(t, res.Err())
			} else {
				assert.ErrorIs(t, res.Err(), tt.sentinel)
			}
			if tt.authentic {
				assert.NotEmpty(t, res.Identity.KeyID)
				assert.Equal(t, f.bind, res.Identity.Binding)
			} else {
				assert.Equal(t, apikeys.Identity{}, res.Identity, "no identity for an unproven key")
			}
		})
	}
}

func TestVerifyIdentity(t *testing.T) {
	f := newFixture(t, nil)
	is := f.issue(t, func(o *apikeys.IssueOptions) { o.Metadata = map[string]string{"plan": "gold"} })
	res := f.verify(t, is.Key.Format())
	require.True(t, res.Valid())
	id := res.Identity
	assert.Equal(t, is.Key.ID, id.KeyID)
	assert.Equal(t, "wak_"+is.Key.ID, id.Display)
	assert.Equal(t, "test", id.Name)
	assert.Equal(t, "res-1", id.ClientID)
	assert.Equal(t, f.bind.ProjectUUID, id.ProjectUUID)
	assert.Equal(t, f.bind.ResourceUUID, id.ResourceUUID)
	assert.Equal(t, []string{"orders:read", "usage:*"}, id.Scopes)
	assert.Equal(t, "gold", id.Metadata["plan"])
	assert.True(t, id.ExpiresAt.Equal(f.clock.Now().Add(24*time.Hour)))
}

func TestReasonStrings(t *testing.T) {
	want := []string{"valid", "malformed", "not_found", "expired", "revoked", "rate_limited", "scope_missing"}
	for i, w := range want {
		assert.Equal(t, w, apikeys.Reason(i).String())
	}
	assert.Equal(t, "unknown", apikeys.Reason(200).String())
	assert.Error(t, apikeys.Reason(200).Err())
}

func TestExpiryFollowsTheClock(t *testing.T) {
	f := newFixture(t, nil)
	is := f.issue(t, func(o *apikeys.IssueOptions) { o.TTL = time.Hour })
	f.clock.Advance(time.Hour - time.Nanosecond)
	assert.Equal(t, apikeys.ReasonValid, f.verify(t, is.Key.Format()).Reason, "cached key, just before expiry")
	f.clock.Advance(time.Nanosecond)
	assert.Equal(t, apikeys.ReasonExpired, f.verify(t, is.Key.Format()).Reason, "cached key, at expiry")
	assert.Equal(t, int64(1), f.store.gets.Load(), "expiry is checked on the cached record")
}

func TestIssueValidation(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	_, err := f.m.Issue(ctx, apikeys.IssueOptions{})
	assert.ErrorIs(t, err, apikeys.ErrExpiryRequired)
	_, err = f.m.Issue(ctx, apikeys.IssueOptions{ExpiresAt: f.clock.Now()})
	assert.Error(t, err, "expiry not in the future")
	_, err = f.m.Issue(ctx, apikeys.IssueOptions{TTL: time.Hour, Scopes: []string{"has space"}})
	assert.Error(t, err)
	for _, l := range []apikeys.RateLimit{{PerSecond: 1, Burst: -1}, {Burst: 5}, {PerSecond: math.Inf(1)}, {PerSecond: math.NaN()}} {
		_, err = f.m.Issue(ctx, apikeys.IssueOptions{TTL: time.Hour, RateLimit: l})
		assert.Error(t, err, "rate limit %+v", l)
	}
	_, err = f.m.IssueForResource(ctx, apikeys.Binding{ProjectUUID: uuid.New()}, apikeys.IssueOptions{TTL: time.Hour})
	assert.Error(t, err, "resource UUID required")

	open := newFixture(t, func(c *apikeys.Config) { c.AllowNoExpiry = true })
	is, err := open.m.Issue(ctx, apikeys.IssueOptions{})
	require.NoError(t, err)
	assert.True(t, is.Record.ExpiresAt.IsZero())
	open.clock.Advance(10 * 365 * 24 * time.Hour)
	assert.True(t, open.verify(t, is.Key.Format()).Valid())

	at := f.clock.Now().Add(time.Hour)
	is, err = f.m.Issue(ctx, apikeys.IssueOptions{ExpiresAt: at, TTL: time.Minute})
	require.NoError(t, err)
	assert.True(t, is.Record.ExpiresAt.Equal(at), "ExpiresAt wins over TTL")
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := apikeys.New(apikeys.Config{})
	assert.Error(t, err)
	_, err = apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore(), Prefix: "Bad"})
	assert.ErrorIs(t, err, apikeys.ErrInvalidPrefix)
	_, err = apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore(), DefaultRateLimit: apikeys.RateLimit{PerSecond: 1, Burst: -2}})
	assert.Error(t, err)
}

func TestCustomPrefix(t *testing.T) {
	f := newFixture(t, func(c *apikeys.Config) { c.Prefix = "sk_live" })
	is := f.issue(t, nil)
	assert.Regexp(t, `^sk_live_`, is.Key.Format())
	assert.True(t, f.verify(t, is.Key.Format()).Valid())
	other := newFixture(t, nil)
	assert.Equal(t, apikeys.ReasonMalformed, other.verify(t, is.Key.Format()).Reason)
}

func TestPepper(t *testing.T) {
	store := apikeys.NewMemoryStore()
	clk := newClock()
	mk := func(pepper string) *apikeys.Manager {
		m, err := apikeys.New(apikeys.Config{Store: store, Pepper: []byte(pepper), Now: clk.Now, AllowNoExpiry: true})
		require.NoError(t, err)
		return m
	}
	ctx := context.Background()
	a := mk("pepper-1")
	is, err := a.Issue(ctx, apikeys.IssueOptions{})
	require.NoError(t, err)
	res, err := a.Verify(ctx, is.Key.Format())
	require.NoError(t, err)
	assert.True(t, res.Valid())
	for _, p := range []string{"pepper-2", ""} {
		res, err := mk(p).Verify(ctx, is.Key.Format())
		require.NoError(t, err)
		assert.Equal(t, apikeys.ReasonNotFound, res.Reason, "another pepper (%q) does not verify", p)
	}
}

func TestWarmVerifyDoesNotTouchTheStore(t *testing.T) {
	f := newFixture(t, nil)
	is := f.issue(t, nil)
	for range 100 {
		require.True(t, f.verify(t, is.Key.Format()).Valid())
	}
	assert.Equal(t, int64(1), f.store.gets.Load())
	assert.Equal(t, int64(0), f.store.touches.Load(), "no last-used write on the verify path")

	f.clock.Advance(time.Minute) // CacheTTL
	require.True(t, f.verify(t, is.Key.Format()).Valid())
	assert.Equal(t, int64(2), f.store.gets.Load(), "re-read after the cache TTL")
}

func TestCacheDisabledReadsTheStoreEachTime(t *testing.T) {
	f := newFixture(t, func(c *apikeys.Config) { c.CacheSize = -1; c.NegativeCacheSize = -1 })
	is := f.issue(t, nil)
	unknown := mustGenerate(t, "")
	for range 3 {
		require.True(t, f.verify(t, is.Key.Format()).Valid())
		require.Equal(t, apikeys.ReasonNotFound, f.verify(t, unknown).Reason)
	}
	assert.Equal(t, int64(6), f.store.gets.Load())
}

func TestCacheIsBounded(t *testing.T) {
	f := newFixture(t, func(c *apikeys.Config) { c.CacheSize = 64; c.NegativeCacheSize = 32 })
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = f.issue(t, nil).Key.Format()
	}
	for _, k := range keys {
		require.True(t, f.verify(t, k).Valid())
		require.Equal(t, apikeys.ReasonNotFound, f.verify(t, mustGenerate(t, "")).Reason)
	}
	assert.LessOrEqual(t, f.m.CacheLen(), 64)
	assert.Greater(t, f.m.CacheLen(), 0)
	assert.LessOrEqual(t, f.m.NegativeCacheLen(), 32)
	for _, k := range keys {
		require.True(t, f.verify(t, k).Valid(), "evicted keys are reloaded")
	}
}

func TestNegativeCache(t *testing.T) {
	f := newFixture(t, func(c *apikeys.Config) { c.NegativeCacheTTL = 10 * time.Second })
	unknown := mustGenerate(t, "")
	for range 50 {
		require.Equal(t, apikeys.ReasonNotFound, f.verify(t, unknown).Reason)
	}
	assert.Equal(t, int64(1), f.store.gets.Load(), "repeated unknown id reaches the store once")
	f.clock.Advance(10 * time.Second)
	require.Equal(t, apikeys.ReasonNotFound, f.verify(t, unknown).Reason)
	assert.Equal(t, int64(2), f.store.gets.Load(), "and again after the negative TTL")
	// Malformed keys never reach the store.
	for range 10 {
		f.verify(t, unknown[:len(unknown)-1]+"!")
	}
	assert.Equal(t, int64(2), f.store.gets.Load())
}

func TestRevocationThroughTheManagerIsImmediate(t *testing.T) {
	f := newFixture(t, nil)
	is := f.issue(t, nil)
	require.True(t, f.verify(t, is.Key.Format()).Valid(), "cached now")
	require.NoError(t, f.m.Revoke(context.Background(), is.Key.ID))
	assert.Equal(t, apikeys.ReasonRevoked, f.verify(t, is.Key.Format()).Reason, "same clock instant")
	assert.ErrorIs(t, f.m.Revoke(context.Background(), mustGenerate(t, "")[4:16]), apikeys.ErrNotFound)
}

func TestRevocationElsewhereIsSeenWithinOneCacheTTL(t *testing.T) {
	store := apikeys.NewMemoryStore()
	clk := newClock()
	const ttl = 30 * time.Second
	mk := func() *apikeys.Manager {
		m, err := apikeys.New(apikeys.Config{Store: store, Now: clk.Now, CacheTTL: ttl})
		require.NoError(t, err)
		return m
	}
	ctx := context.Background()
	admin, server := mk(), mk()
	is, err := admin.Issue(ctx, apikeys.IssueOptions{TTL: time.Hour})
	require.NoError(t, err)
	check := func() apikeys.Reason {
		res, err := server.Verify(ctx, is.Key.Format())
		require.NoError(t, err)
		return res.Reason
	}
	require.Equal(t, apikeys.ReasonValid, check(), "server caches the key")
	clk.Advance(ttl / 2)
	require.NoError(t, admin.Revoke(ctx, is.Key.ID))
	assert.Equal(t, apikeys.ReasonValid, check(), "stale but within the TTL")
	clk.Advance(ttl / 2)
	assert.Equal(t, apikeys.ReasonRevoked, check(), "one TTL after caching, the revocation is visible")
}

// blockingStore holds Get after it has read the record, so a test can revoke
// while a verification is loading a stale copy.
type blockingStore struct {
	apikeys.Store
	read, release chan struct{}
	once          sync.Once
}

func (s *blockingStore) Get(ctx context.Context, id string) (apikeys.Record, error) {
	r, err := s.Store.Get(ctx, id)
	s.once.Do(func() {
		close(s.read)
		<-s.release
	})
	return r, err
}

func TestRevocationRacingALoadIsNotLostInTheCache(t *testing.T) {
	mem := apikeys.NewMemoryStore()
	bs := &blockingStore{Store: mem, read: make(chan struct{}), release: make(chan struct{})}
	clk := newClock()
	m, err := apikeys.New(apikeys.Config{Store: bs, Now: clk.Now})
	require.NoError(t, err)
	ctx := context.Background()
	is, err := m.Issue(ctx, apikeys.IssueOptions{TTL: time.Hour})
	require.NoError(t, err)

	done := make(chan apikeys.Reason)
	go func() {
		res, _ := m.Verify(ctx, is.Key.Format())
		done <- res.Reason
	}()
	<-bs.read // the loader holds a copy read before the revocation
	require.NoError(t, m.Revoke(ctx, is.Key.ID))
	close(bs.release)
	<-done // this request raced the revocation; either answer is acceptable

	res, err := m.Verify(ctx, is.Key.Format())
	require.NoError(t, err)
	assert.Equal(t, apikeys.ReasonRevoked, res.Reason, "the stale load must not have been cached")
}

func TestStoreFailureIsAnError(t *testing.T) {
	f := newFixture(t, nil)
	is := f.issue(t, nil)
	f.store.fail.Store(true)
	_, err := f.m.Verify(context.Background(), is.Key.Format())
	require.ErrorIs(t, err, errStoreDown)
	assert.NotContains(t, err.Error(), is.Key.Format())
	f.store.fail.Store(false)
	assert.True(t, f.verify(t, is.Key.Format()).Valid(), "failures are not cached")
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, func(c *apikeys.Config) { c.DefaultRateLimit = apikeys.RateLimit{PerSecond: 10, Burst: 1} })
	own := f.issue(t, func(o *apikeys.IssueOptions) { o.RateLimit = apikeys.RateLimit{PerSecond: 1, Burst: 2} })
	dflt := f.issue(t, nil)
	free := f.issue(t, func(o *apikeys.IssueOptions) { o.RateLimit = apikeys.NoRateLimit() })

	k := own.Key.Format()
	assert.True(t, f.verify(t, k).Valid())
	assert.True(t, f.verify(t, k).Valid(), "burst of two")
	res := f.verify(t, k)
	assert.Equal(t, apikeys.ReasonRateLimited, res.Reason)
	assert.Equal(t, time.Second, res.RetryAfter)
	f.clock.Advance(400 * time.Millisecond)
	res = f.verify(t, k)
	assert.Equal(t, apikeys.ReasonRateLimited, res.Reason, "a denied request takes no token")
	assert.Equal(t, 600*time.Millisecond, res.RetryAfter)
	f.clock.Advance(600 * time.Millisecond)
	assert.True(t, f.verify(t, k).Valid())

	assert.True(t, f.verify(t, dflt.Key.Format()).Valid())
	res = f.verify(t, dflt.Key.Format())
	assert.Equal(t, apikeys.ReasonRateLimited, res.Reason, "the default applies")
	assert.Equal(t, 100*time.Millisecond, res.RetryAfter)

	for range 100 {
		require.True(t, f.verify(t, free.Key.Format()).Valid(), "NoRateLimit overrides the default")
	}
	assert.Equal(t, apikeys.ReasonScopeMissing, f.verify(t, dflt.Key.Format(), "admin").Reason,
		"scope is checked before the bucket")
}

func TestRateLimitSurvivesReloads(t *testing.T) {
	for name, edit := range map[string]func(*apikeys.Config){
		"cache refresh":  func(c *apikeys.Config) { c.CacheTTL = time.Second },
		"cache disabled": func(c *apikeys.Config) { c.CacheSize = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, edit)
			is := f.issue(t, func(o *apikeys.IssueOptions) { o.RateLimit = apikeys.RateLimit{PerSecond: 0.1, Burst: 1} })
			require.True(t, f.verify(t, is.Key.Format()).Valid())
			f.clock.Advance(2 * time.Second) // past the cache TTL, 0.2 tokens back
			assert.Equal(t, apikeys.ReasonRateLimited, f.verify(t, is.Key.Format()).Reason)
			assert.GreaterOrEqual(t, f.store.gets.Load(), int64(2), "the record was reloaded")
		})
	}
}

func TestScopes(t *testing.T) {
	tests := []struct {
		granted  []string
		required []string
		ok       bool
	}{
		{nil, nil, true},
		{[]string{"orders:read"}, []string{"orders:read"}, true},
		{[]string{"orders:read"}, []string{"orders:write"}, false},
		{[]string{"orders:read"}, []string{"orders:read", "usage:read"}, false},
		{[]string{"orders:*"}, []string{"orders:read", "orders:write"}, true},
		{[]string{"orders:*"}, []string{"ordersx:read"}, false},
		{[]string{"orders:*"}, []string{"orders"}, false},
		{[]string{"*"}, []string{"anything:at:all"}, true},
		{[]string{"a", "b"}, []string{"b", "a"}, true},
		{nil, []string{"a"}, false},
	}
	for _, tt := range tests {
		id := apikeys.Identity{Scopes: tt.granted}
		assert.Equal(t, tt.ok, id.HasScopes(tt.required...), "%v requires %v", tt.granted, tt.required)
	}
	f := newFixture(t, nil)
	is := f.issue(t, func(o *apikeys.IssueOptions) { o.Scopes = []string{"orders:*", "usage:read"} })
	assert.True(t, f.verify(t, is.Key.Format(), "orders:approve", "usage:read").Valid())
	assert.Equal(t, apikeys.ReasonScopeMissing, f.verify(t, is.Key.Format(), "usage:write").Reason)
}

func TestRotationOverlap(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a := f.issue(t, func(o *apikeys.IssueOptions) {
		o.RateLimit = apikeys.RateLimit{PerSecond: 100, Burst: 100}
		o.Metadata = map[string]string{"k": "v"}
	})
	f.clock.Advance(time.Hour)
	b, err := f.m.Rotate(ctx, a.Key.ID, apikeys.RotateOptions{Grace: 10 * time.Minute})
	require.NoError(t, err)

	assert.Equal(t, a.Record.Binding, b.Record.Binding)
	assert.Equal(t, a.Record.Scopes, b.Record.Scopes)
	assert.Equal(t, a.Record.ClientID, b.Record.ClientID)
	assert.Equal(t, a.Record.Name, b.Record.Name)
	assert.Equal(t, a.Record.RateLimit, b.Record.RateLimit)
	assert.Equal(t, a.Record.Metadata, b.Record.Metadata)
	assert.Equal(t, a.Key.ID, b.Record.RotatedFrom)
	assert.True(t, b.Record.ExpiresAt.Equal(f.clock.Now().Add(24*time.Hour)), "same lifetime from now")
	old, err := f.m.Get(ctx, a.Key.ID)
	require.NoError(t, err)
	assert.Equal(t, b.Key.ID, old.ReplacedBy)

	f.clock.Advance(10*time.Minute - time.Nanosecond)
	assert.True(t, f.verify(t, a.Key.Format()).Valid(), "old key works during the grace period")
	assert.True(t, f.verify(t, b.Key.Format()).Valid())
	f.clock.Advance(time.Nanosecond)
	assert.Equal(t, apikeys.ReasonRevoked, f.verify(t, a.Key.Format()).Reason, "and not after")
	assert.True(t, f.verify(t, b.Key.Format()).Valid())

	_, err = f.m.Rotate(ctx, a.Key.ID, apikeys.RotateOptions{})
	assert.ErrorIs(t, err, apikeys.ErrRotated)
	c, err := f.m.Rotate(ctx, b.Key.ID, apikeys.RotateOptions{Grace: -1, ClientID: "res-2"})
	require.NoError(t, err)
	assert.Equal(t, "res-2", c.Record.ClientID)
	assert.Equal(t, apikeys.ReasonRevoked, f.verify(t, b.Key.Format()).Reason, "negative grace: no overlap")
	require.NoError(t, f.m.Revoke(ctx, c.Key.ID))
	_, err = f.m.Rotate(ctx, c.Key.ID, apikeys.RotateOptions{})
	assert.ErrorIs(t, err, apikeys.ErrRevoked)
	_, err = f.m.Rotate(ctx, "nope", apikeys.RotateOptions{})
	assert.ErrorIs(t, err, apikeys.ErrNotFound)
}

func TestRotationUsesTheDefaultGrace(t *testing.T) {
	f := newFixture(t, nil) // RotationGrace: time.Hour
	a := f.issue(t, nil)
	_, err := f.m.Rotate(context.Background(), a.Key.ID, apikeys.RotateOptions{})
	require.NoError(t, err)
	f.clock.Advance(time.Hour - time.Second)
	assert.True(t, f.verify(t, a.Key.Format()).Valid())
	f.clock.Advance(time.Second)
	assert.Equal(t, apikeys.ReasonRevoked, f.verify(t, a.Key.Format()).Reason)
}

func TestResourceLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	other := f.bind
	other.ResourceUUID = uuid.New()
	k1, err := f.m.IssueForResource(ctx, f.bind, apikeys.IssueOptions{ClientID: "gw-1", TTL: time.Hour})
	require.NoError(t, err)
	k2, err := f.m.IssueForResource(ctx, f.bind, apikeys.IssueOptions{ClientID: "gw-2", TTL: time.Hour})
	require.NoError(t, err)
	k3, err := f.m.IssueForResource(ctx, other, apikeys.IssueOptions{ClientID: "gw-1", TTL: time.Hour})
	require.NoError(t, err)

	recs, err := f.m.List(ctx, apikeys.Filter{ResourceUUID: f.bind.ResourceUUID})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	recs, err = f.m.List(ctx, apikeys.Filter{ProjectUUID: f.bind.ProjectUUID})
	require.NoError(t, err)
	assert.Len(t, recs, 3, "per project")

	rot, err := f.m.Rotate(ctx, k1.Key.ID, apikeys.RotateOptions{})
	require.NoError(t, err)
	cur, err := f.m.CurrentForClient(ctx, f.bind.ResourceUUID, "gw-1")
	require.NoError(t, err)
	assert.Equal(t, rot.Key.ID, cur.ID, "the successor is current")
	_, err = f.m.CurrentForClient(ctx, f.bind.ResourceUUID, "gw-9")
	assert.ErrorIs(t, err, apikeys.ErrNotFound)

	for _, k := range []apikeys.Issued{k1, k2, rot} {
		require.True(t, f.verify(t, k.Key.Format()).Valid(), "cache them")
	}
	n, err := f.m.RevokeResource(ctx, f.bind.ResourceUUID)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	for _, k := range []apikeys.Issued{k1, k2, rot} {
		assert.Equal(t, apikeys.ReasonRevoked, f.verify(t, k.Key.Format()).Reason)
	}
	assert.True(t, f.verify(t, k3.Key.Format()).Valid(), "other resources keep their keys")
	_, err = f.m.RevokeResource(ctx, uuid.Nil)
	assert.Error(t, err)
}

func TestLastUsedIsFlushedInBatches(t *testing.T) {
	f := newFixture(t, func(c *apikeys.Config) { c.LastUsedInterval = time.Minute })
	ctx := context.Background()
	a, b := f.issue(t, nil), f.issue(t, nil)
	usedAt := f.clock.Now()
	for range 10 {
		f.verify(t, a.Key.Format())
		f.verify(t, b.Key.Format())
	}
	assert.Equal(t, 2, f.m.PendingLastUsed(), "coalesced per key")
	assert.Equal(t, int64(0), f.store.touches.Load(), "nothing written on the verify path")

	f.store.fail.Store(true)
	assert.ErrorIs(t, f.m.FlushLastUsed(ctx), errStoreDown)
	assert.Equal(t, 2, f.m.PendingLastUsed(), "a failed flush keeps its batch")
	f.store.fail.Store(false)
	require.NoError(t, f.m.FlushLastUsed(ctx))
	assert.Equal(t, int64(2), f.store.touches.Load())
	assert.Equal(t, 0, f.m.PendingLastUsed())
	for _, k := range []apikeys.Issued{a, b} {
		r, err := f.m.Get(ctx, k.Key.ID)
		require.NoError(t, err)
		assert.True(t, r.LastUsedAt.Equal(usedAt), "last used %v", r.LastUsedAt)
	}
	require.NoError(t, f.m.FlushLastUsed(ctx))
	assert.Equal(t, int64(2), f.store.touches.Load(), "nothing pending, no write")

	f.clock.Advance(30 * time.Second)
	f.verify(t, a.Key.Format())
	assert.Equal(t, 0, f.m.PendingLastUsed(), "within the interval the key is not queued again")
	f.clock.Advance(30 * time.Second)
	f.verify(t, a.Key.Format())
	assert.Equal(t, 1, f.m.PendingLastUsed())
	f.verify(t, b.Key.Format(), "no:such-scope")
	assert.Equal(t, 1, f.m.PendingLastUsed(), "rejected verifications are not uses")
}

func TestRunFlushesLastUsedWhenStopped(t *testing.T) {
	f := newFixture(t, func(c *apikeys.Config) { c.LastUsedInterval = time.Hour })
	is := f.issue(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.m.Run(ctx) }()
	f.verify(t, is.Key.Format())
	cancel()
	require.NoError(t, <-done)
	r, err := f.m.Get(context.Background(), is.Key.ID)
	require.NoError(t, err)
	assert.True(t, r.LastUsedAt.Equal(f.clock.Now()))
}

func TestConcurrentVerifyRotateRevoke(t *testing.T) {
	f := newFixture(t, func(c *apikeys.Config) { c.CacheSize = 8 })
	ctx := context.Background()
	keys := make([]apikeys.Issued, 16)
	for i := range keys {
		keys[i] = f.issue(t, nil)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := keys[(i+g)%len(keys)]
				res, err := f.m.Verify(ctx, k.Key.Format(), "orders:read")
				if err != nil || res.Reason != apikeys.ReasonValid && res.Reason != apikeys.ReasonRevoked {
					t.Errorf("verify: %v %v", res.Reason, err)
				}
			}
		}()
	}
	for i, k := range keys {
		if i%2 == 0 {
			_, err := f.m.Rotate(ctx, k.Key.ID, apikeys.RotateOptions{})
			assert.NoError(t, err)
		} else {
			assert.NoError(t, f.m.Revoke(ctx, k.Key.ID))
		}
	}
	wg.Wait()
	for i, k := range keys {
		want := apikeys.ReasonValid // rotated, in grace
		if i%2 == 1 {
			want = apikeys.ReasonRevoked
		}
		assert.Equal(t, want, f.verify(t, k.Key.Format()).Reason)
	}
	assert.True(t, errors.Is(f.m.Revoke(ctx, "missing"), apikeys.ErrNotFound))
}

func TestLastUsedPendingIsBounded(t *testing.T) {
	var buf syncBuffer
	f := newFixture(t, func(c *apikeys.Config) {
		c.LastUsedMaxPending = 2
		c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	})
	for range 3 {
		f.verify(t, f.issue(t, nil).Key.Format())
	}
	assert.Equal(t, 2, f.m.PendingLastUsed())
	require.NoError(t, f.m.FlushLastUsed(context.Background()))
	assert.Contains(t, buf.String(), "dropped=1")
}
