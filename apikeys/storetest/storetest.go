package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// Harness describes the store under test.
type Harness struct {
	// New returns an empty store, cleaned up through t.Cleanup. Required.
	New func(t *testing.T) apikeys.Store
	// Dump returns every byte the store holds (all rows and columns, or the
	// raw records) so the suite can prove no plaintext key is stored.
	// Optional; without it that check is skipped.
	Dump func(t *testing.T, s apikeys.Store) []byte
}

// base is a fixed, microsecond-aligned instant, so round trips through
// stores that keep microseconds compare equal.
func base() time.Time { return time.Date(2026, 8, 14, 9, 30, 0, 123456000, time.UTC) }

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, h Harness) {
	require.NotNil(t, h.New, "Harness.New is required")
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, h) })
	t.Run("Duplicate", func(t *testing.T) { testDuplicate(t, h) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, h) })
	t.Run("List", func(t *testing.T) { testList(t, h) })
	t.Run("Revoke", func(t *testing.T) { testRevoke(t, h) })
	t.Run("Rotate", func(t *testing.T) { testRotate(t, h) })
	t.Run("RotateConcurrent", func(t *testing.T) { testRotateConcurrent(t, h) })
	t.Run("TouchLastUsed", func(t *testing.T) { testTouch(t, h) })
	t.Run("SetSuspended", func(t *testing.T) { testSuspend(t, h) })
	t.Run("CanceledContext", func(t *testing.T) { testCanceled(t, h) })
	t.Run("Manager", func(t *testing.T) { testManager(t, h) })
	t.Run("HashesOnly", func(t *testing.T) { testHashesOnly(t, h) })
}

func newID(t *testing.T) string {
	t.Helper()
	k, err := apikeys.Generate("")
	require.NoError(t, err)
	return k.ID
}

func record(t *testing.T, created time.Time) apikeys.Record {
	t.Helper()
	id := newID(t)
	h := sha256.Sum256([]byte(id))
	return apikeys.Record{ID: id, Prefix: "wak", Hash: h[:], CreatedAt: created}
}

// assertSame compares records field by field, times with Equal and empty
// collections equal to nil.
func assertSame(t *testing.T, want, got apikeys.Record) {
	t.Helper()
	times := func(r *apikeys.Record) []*time.Time {
		return []*time.Time{&r.CreatedAt, &r.ExpiresAt, &r.RevokedAt, &r.LastUsedAt, &r.GraceUntil, &r.SuspendedAt}
	}
	wt, gt := times(&want), times(&got)
	for i := range wt {
		assert.Truef(t, wt[i].Equal(*gt[i]), "time field %d: want %v, got %v", i, *wt[i], *gt[i])
		*wt[i], *gt[i] = time.Time{}, time.Time{}
	}
	for _, r := range []*apikeys.Record{&want, &got} {
		if len(r.Scopes) == 0 {
			r.Scopes = nil
		}
		if len(r.Metadata) == 0 {
			r.Metadata = nil
		}
	}
	assert.Equal(t, want, got)
}

func testRoundTrip(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	full := record(t, base())
	full.Name = "CI pipeline ✓"
	full.ClientID = "llm_gw_42-1"
	full.Binding = apikeys.Binding{CustomerUUID: uuid.New(), ProjectUUID: uuid.New(), OfferingUUID: uuid.New(), ResourceUUID: uuid.New()}
	full.Scopes = []string{"orders:read", "usage:*"}
	full.Metadata = map[string]string{"tier": "gold", "quote": `"x"`}
	full.RateLimit = apikeys.RateLimit{PerSecond: 2.5, Burst: 10}
	full.ExpiresAt = base().Add(90 * 24 * time.Hour)
	full.RotatedFrom = newID(t)
	full.SuspendedAt = base().Add(time.Minute)
	bare := record(t, base().Add(time.Second))

	for _, r := range []apikeys.Record{full, bare} {
		require.NoError(t, s.Create(ctx, r))
		got, err := s.Get(ctx, r.ID)
		require.NoError(t, err)
		assertSame(t, r, got)
	}
}

func testDuplicate(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	r := record(t, base())
	require.NoError(t, s.Create(ctx, r))
	other := record(t, base().Add(time.Hour))
	other.ID = r.ID
	other.Name = "impostor"
	assert.ErrorIs(t, s.Create(ctx, other), apikeys.ErrDuplicate)
	got, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Name, "a duplicate must not overwrite")
}

func testNotFound(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	_, err := s.Get(ctx, newID(t))
	assert.ErrorIs(t, err, apikeys.ErrNotFound)
	assert.ErrorIs(t, s.Revoke(ctx, newID(t), base()), apikeys.ErrNotFound)
	assert.ErrorIs(t, s.Rotate(ctx, newID(t), record(t, base()), base()), apikeys.ErrNotFound)
	assert.NoError(t, s.TouchLastUsed(ctx, map[string]time.Time{newID(t): base()}), "unknown ids are skipped")
	assert.ErrorIs(t, s.SetSuspended(ctx, newID(t), base()), apikeys.ErrNotFound)
}

func testList(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	p1, p2, r1, r2, off := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	mk := func(i int, project, resource uuid.UUID, client string) apikeys.Record {
		r := record(t, base().Add(time.Duration(i)*time.Minute))
		r.Binding = apikeys.Binding{ProjectUUID: project, ResourceUUID: resource, OfferingUUID: off}
		r.ClientID = client
		require.NoError(t, s.Create(ctx, r))
		return r
	}
	// Created out of order to check the ordering by creation time.
	c := mk(2, p1, r2, "b-1")
	a := mk(0, p1, r1, "a-1")
	b := mk(1, p1, r1, "a-2")
	d := mk(3, p2, uuid.Nil, "")
	require.NoError(t, s.Revoke(ctx, b.ID, base().Add(time.Hour)))

	ids := func(f apikeys.Filter) []string {
		recs, err := s.List(ctx, f)
		require.NoError(t, err)
		out := []string{}
		for _, r := range recs {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    apikeys.Filter
		want []string
	}{
		{"all live", apikeys.Filter{}, []string{a.ID, c.ID, d.ID}},
		{"all", apikeys.Filter{IncludeRevoked: true}, []string{a.ID, b.ID, c.ID, d.ID}},
		{"project", apikeys.Filter{ProjectUUID: p1}, []string{a.ID, c.ID}},
		{"project with revoked", apikeys.Filter{ProjectUUID: p1, IncludeRevoked: true}, []string{a.ID, b.ID, c.ID}},
		{"resource", apikeys.Filter{ResourceUUID: r1, IncludeRevoked: true}, []string{a.ID, b.ID}},
		{"offering", apikeys.Filter{OfferingUUID: off}, []string{a.ID, c.ID, d.ID}},
		{"client id", apikeys.Filter{ResourceUUID: r1, ClientID: "a-2", IncludeRevoked: true}, []string{b.ID}},
		{"no match", apikeys.Filter{ProjectUUID: uuid.New()}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, ids(tt.f)) })
	}
}

func testRevoke(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	r := record(t, base())
	require.NoError(t, s.Create(ctx, r))
	first := base().Add(time.Hour)
	require.NoError(t, s.Revoke(ctx, r.ID, first))
	require.NoError(t, s.Revoke(ctx, r.ID, first.Add(time.Hour)), "revoking twice succeeds")
	got, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, got.RevokedAt.Equal(first), "the first revocation time is kept, got %v", got.RevokedAt)
}

func testRotate(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	old := record(t, base())
	old.Scopes = []string{"a"}
	require.NoError(t, s.Create(ctx, old))
	next := record(t, base().Add(time.Minute))
	next.RotatedFrom = old.ID
	grace := base().Add(24 * time.Hour)
	require.NoError(t, s.Rotate(ctx, old.ID, next, grace))

	gotOld, err := s.Get(ctx, old.ID)
	require.NoError(t, err)
	assert.Equal(t, next.ID, gotOld.ReplacedBy)
	assert.True(t, gotOld.GraceUntil.Equal(grace))
	assert.True(t, gotOld.RevokedAt.IsZero())
	gotNext, err := s.Get(ctx, next.ID)
	require.NoError(t, err)
	assertSame(t, next, gotNext)

	t.Run("already rotated", func(t *testing.T) {
		again := record(t, base())
		assert.ErrorIs(t, s.Rotate(ctx, old.ID, again, grace), apikeys.ErrRotated)
		_, err := s.Get(ctx, again.ID)
		assert.ErrorIs(t, err, apikeys.ErrNotFound, "a failed rotation creates nothing")
	})
	t.Run("revoked", func(t *testing.T) {
		r := record(t, base())
		require.NoError(t, s.Create(ctx, r))
		require.NoError(t, s.Revoke(ctx, r.ID, base()))
		n := record(t, base())
		assert.ErrorIs(t, s.Rotate(ctx, r.ID, n, grace), apikeys.ErrRevoked)
		_, err := s.Get(ctx, n.ID)
		assert.ErrorIs(t, err, apikeys.ErrNotFound)
	})
	t.Run("successor id taken", func(t *testing.T) {
		r := record(t, base())
		require.NoError(t, s.Create(ctx, r))
		n := record(t, base())
		n.ID = next.ID
		assert.ErrorIs(t, s.Rotate(ctx, r.ID, n, grace), apikeys.ErrDuplicate)
		got, err := s.Get(ctx, r.ID)
		require.NoError(t, err)
		assert.Empty(t, got.ReplacedBy, "a failed rotation leaves the old key alone")
	})
}

func testRotateConcurrent(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	old := record(t, base())
	require.NoError(t, s.Create(ctx, old))
	const n = 4
	errs := make([]error, n)
	nexts := make([]apikeys.Record, n)
	var wg sync.WaitGroup
	for i := range n {
		nexts[i] = record(t, base())
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Rotate(ctx, old.ID, nexts[i], base().Add(time.Hour))
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		if err == nil {
			won++
			continue
		}
		assert.ErrorIs(t, err, apikeys.ErrRotated, "rotation %d", i)
	}
	assert.Equal(t, 1, won, "exactly one concurrent rotation wins")
	live, err := s.List(ctx, apikeys.Filter{})
	require.NoError(t, err)
	assert.Len(t, live, 2, "the old key and one successor")
}

func testTouch(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	a, b := record(t, base()), record(t, base())
	require.NoError(t, s.Create(ctx, a))
	require.NoError(t, s.Create(ctx, b))
	t1 := base().Add(time.Minute)
	require.NoError(t, s.TouchLastUsed(ctx, map[string]time.Time{a.ID: t1, b.ID: t1}))
	require.NoError(t, s.TouchLastUsed(ctx, map[string]time.Time{a.ID: t1.Add(time.Minute), b.ID: base()}))
	ga, err := s.Get(ctx, a.ID)
	require.NoError(t, err)
	gb, err := s.Get(ctx, b.ID)
	require.NoError(t, err)
	assert.True(t, ga.LastUsedAt.Equal(t1.Add(time.Minute)), "newer time is written, got %v", ga.LastUsedAt)
	assert.True(t, gb.LastUsedAt.Equal(t1), "older time is ignored, got %v", gb.LastUsedAt)
}

func testSuspend(t *testing.T, h Harness) {
	ctx := context.Background()
	s := h.New(t)
	r := record(t, base())
	require.NoError(t, s.Create(ctx, r))
	at := base().Add(time.Hour)
	require.NoError(t, s.SetSuspended(ctx, r.ID, at))
	got, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, got.SuspendedAt.Equal(at), "suspended at %v, got %v", at, got.SuspendedAt)
	require.NoError(t, s.SetSuspended(ctx, r.ID, time.Time{}))
	got, err = s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, got.SuspendedAt.IsZero(), "resumed")
}

func testCanceled(t *testing.T, h Harness) {
	s := h.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := record(t, base())
	assert.Error(t, s.Create(ctx, r))
	_, err := s.Get(ctx, r.ID)
	assert.Error(t, err)
	_, err = s.List(ctx, apikeys.Filter{})
	assert.Error(t, err)
}

// testManager runs the Manager's whole life cycle on the store.
func testManager(t *testing.T, h Harness) {
	ctx := context.Background()
	now := base()
	m, err := apikeys.New(apikeys.Config{Store: h.New(t), Now: func() time.Time { return now }, CacheSize: -1, NegativeCacheSize: -1})
	require.NoError(t, err)
	res := uuid.New()
	b := apikeys.Binding{ProjectUUID: uuid.New(), ResourceUUID: res}
	a, err := m.IssueForResource(ctx, b, apikeys.IssueOptions{ClientID: "r-1", Scopes: []string{"x:read"}, TTL: time.Hour})
	require.NoError(t, err)

	v, err := m.Verify(ctx, a.Key.Format(), "x:read")
	require.NoError(t, err)
	assert.Equal(t, apikeys.ReasonValid, v.Reason)
	assert.Equal(t, b.ProjectUUID, v.Identity.ProjectUUID)

	next, err := m.Rotate(ctx, a.Key.ID, apikeys.RotateOptions{Grace: time.Minute})
	require.NoError(t, err)
	cur, err := m.CurrentForClient(ctx, res, "r-1")
	require.NoError(t, err)
	assert.Equal(t, next.Key.ID, cur.ID)
	now = now.Add(2 * time.Minute)
	v, err = m.Verify(ctx, a.Key.Format())
	require.NoError(t, err)
	assert.Equal(t, apikeys.ReasonRevoked, v.Reason, "old key after grace")
	v, err = m.Verify(ctx, next.Key.Format())
	require.NoError(t, err)
	assert.Equal(t, apikeys.ReasonValid, v.Reason)

	n, err := m.RevokeResource(ctx, res)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	v, err = m.Verify(ctx, next.Key.Format())
	require.NoError(t, err)
	assert.Equal(t, apikeys.ReasonRevoked, v.Reason)
}

func testHashesOnly(t *testing.T, h Harness) {
	if h.Dump == nil {
		t.Skip("Harness.Dump not set")
	}
	ctx := context.Background()
	s := h.New(t)
	for _, pepper := range [][]byte{nil, []byte("server-side pepper")} {
		m, err := apikeys.New(apikeys.Config{Store: s, Pepper: pepper, AllowNoExpiry: true})
		require.NoError(t, err)
		is, err := m.Issue(ctx, apikeys.IssueOptions{Name: "k"})
		require.NoError(t, err)
		rot, err := m.Rotate(ctx, is.Key.ID, apikeys.RotateOptions{})
		require.NoError(t, err)
		dump := h.Dump(t, s)
		require.NotEmpty(t, dump)
		for _, k := range []apikeys.Key{is.Key, rot.Key} {
			plain := k.Format()
			secret := plain[len(k.Display())+1 : len(plain)-apikeys.ChecksumLen]
			assert.False(t, bytes.Contains(dump, []byte(plain)), "plaintext key stored")
			assert.False(t, bytes.Contains(dump, []byte(secret)), "secret part stored")
			assert.True(t, bytes.Contains(dump, []byte(k.ID)), "the dump must hold the public id (is Dump complete?)")
		}
		// The stored hash is the digest of the key, not something else.
		got, err := s.Get(ctx, is.Key.ID)
		require.NoError(t, err)
		want := sha256.Sum256([]byte(is.Key.Format()))
		assert.Equal(t, pepper == nil, bytes.Equal(want[:], got.Hash), "SHA-256 without pepper, HMAC with one")
		assert.Len(t, got.Hash, sha256.Size)
	}
}
