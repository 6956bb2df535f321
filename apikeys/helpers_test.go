package apikeys_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// clock is an injected clock that only moves when a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 8, 14, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore wraps a Store, counts calls and can be made to fail.
type countingStore struct {
	apikeys.Store
	gets, touches atomic.Int64
	fail          atomic.Bool
}

var errStoreDown = errors.New("store down")

func (s *countingStore) Get(ctx context.Context, id string) (apikeys.Record, error) {
	s.gets.Add(1)
	if s.fail.Load() {
		return apikeys.Record{}, errStoreDown
	}
	return s.Store.Get(ctx, id)
}

func (s *countingStore) TouchLastUsed(ctx context.Context, used map[string]time.Time) error {
	s.touches.Add(1)
	if s.fail.Load() {
		return errStoreDown
	}
	return s.Store.TouchLastUsed(ctx, used)
}

type fixture struct {
	m     *apikeys.Manager
	store *countingStore
	clock *clock
	bind  apikeys.Binding
}

// newFixture returns a Manager on a counting memory store with an injected
// clock; edit adjusts the config.
func newFixture(t testing.TB, edit func(*apikeys.Config)) *fixture {
	t.Helper()
	f := &fixture{
		store: &countingStore{Store: apikeys.NewMemoryStore()},
		clock: newClock(),
		bind: apikeys.Binding{CustomerUUID: uuid.New(), ProjectUUID: uuid.New(),
			OfferingUUID: uuid.New(), ResourceUUID: uuid.New()},
	}
	cfg := apikeys.Config{Store: f.store, Now: f.clock.Now, CacheTTL: time.Minute, RotationGrace: time.Hour}
	if edit != nil {
		edit(&cfg)
	}
	m, err := apikeys.New(cfg)
	require.NoError(t, err)
	f.m = m
	return f
}

// issue issues a key valid for a day with the fixture's binding.
func (f *fixture) issue(t testing.TB, edit func(*apikeys.IssueOptions)) apikeys.Issued {
	t.Helper()
	opts := apikeys.IssueOptions{Name: "test", ClientID: "res-1", Binding: f.bind,
		Scopes: []string{"orders:read", "usage:*"}, TTL: 24 * time.Hour}
	if edit != nil {
		edit(&opts)
	}
	is, err := f.m.Issue(context.Background(), opts)
	require.NoError(t, err)
	return is
}

func (f *fixture) verify(t testing.TB, key string, scopes ...string) apikeys.Result {
	t.Helper()
	res, err := f.m.Verify(context.Background(), key, scopes...)
	require.NoError(t, err)
	return res
}
