package apikeys_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// A wrong secret for a known id must not reach the rate limiter: with a
// limiter table of one set (four slots), guesses at four other keys' ids
// would otherwise evict the bucket of the key in use and refill it.
func TestWrongSecretsForKnownIDsLeaveOtherKeysLimitsAlone(t *testing.T) {
	for name, size := range map[string]int{"cached": 4, "cache disabled": -1} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(c *apikeys.Config) {
				c.CacheSize = size
				c.DefaultRateLimit = apikeys.RateLimit{PerSecond: 0.001, Burst: 1}
			})
			if size < 0 {
				// The limiter table has the default size without the record cache;
				// fill it with guesses beyond its capacity.
				size = 10000
			}
			hot := f.issue(t, nil)
			require.True(t, f.verify(t, hot.Key.Format()).Valid())
			require.Equal(t, apikeys.ReasonRateLimited, f.verify(t, hot.Key.Format()).Reason)

			for range size {
				other := f.issue(t, nil)
				forged := apikeys.ForgeKey(t, other.Key.Prefix, other.Key.ID)
				require.Equal(t, apikeys.ReasonNotFound, f.verify(t, forged).Reason)
			}
			assert.Equal(t, apikeys.ReasonRateLimited, f.verify(t, hot.Key.Format()).Reason,
				"the hot key's bucket is still empty")
		})
	}
}

func TestMiddlewareThrottlesFailedVerificationsPerAddress(t *testing.T) {
	f := newFixture(t, nil)
	valid := f.issue(t, nil).Key.Format()
	other := f.issue(t, nil)
	forged := apikeys.ForgeKey(t, other.Key.Prefix, other.Key.ID)
	var verified atomic.Int32
	counting := apikeys.VerifierFunc(func(ctx context.Context, key string, required ...string) (apikeys.Result, error) {
		verified.Add(1)
		return f.m.Verify(ctx, key, required...)
	})
	h := apikeys.Middleware(counting, apikeys.MiddlewareConfig{
		FailureLimit: apikeys.RateLimit{PerSecond: 0.001, Burst: 3},
	})(echoIdentity(t))
	from := func(addr, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/things", nil)
		req.RemoteAddr = addr
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	for i := range 2 {
		assert.Equal(t, http.StatusUnauthorized, from("192.0.2.7:4000", "Bearer "+forged).Code, "guess %d", i+1)
	}
	for range 5 {
		assert.Equal(t, http.StatusOK, from("192.0.2.7:4001", "Bearer "+valid).Code,
			"successes take nothing from the bucket")
		assert.Equal(t, http.StatusUnauthorized, from("192.0.2.7:4000", "").Code, "a missing key is not a guess")
	}
	assert.Equal(t, http.StatusUnauthorized, from("192.0.2.7:4000", "Bearer "+forged).Code, "guess 3")
	before := verified.Load()
	for _, key := range []string{forged, valid} {
		rec := from("192.0.2.7:4002", "Bearer "+key)
		assert.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.JSONEq(t, `{"error":"too many invalid API keys","code":"too_many_failures"}`, rec.Body.String())
		assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	}
	assert.Equal(t, before, verified.Load(), "a throttled address's keys are not checked")
	assert.Equal(t, http.StatusOK, from("198.51.100.1:4000", "Bearer "+valid).Code, "other addresses are not throttled")

	// Behind a proxy the caller names the client.
	h = apikeys.Middleware(f.m, apikeys.MiddlewareConfig{
		FailureLimit:  apikeys.RateLimit{PerSecond: 0.001, Burst: 1},
		ClientAddress: func(r *http.Request) string { return r.Header.Get("X-Test-Client") },
	})(echoIdentity(t))
	req := func(client string) int {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+forged)
		r.Header.Set("X-Test-Client", client)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	assert.Equal(t, http.StatusUnauthorized, req("a"))
	assert.Equal(t, http.StatusTooManyRequests, req("a"))
	assert.Equal(t, http.StatusUnauthorized, req("b"))
}

// Authentic keys that are refused (suspended, revoked, expired) are not
// guesses: they never throttle their address.
func TestRefusedAuthenticKeysDoNotCountAsFailures(t *testing.T) {
	f := newFixture(t, nil)
	paused := f.issue(t, nil)
	require.NoError(t, f.m.Suspend(context.Background(), paused.Key.ID))
	valid := f.issue(t, nil).Key.Format()
	h := apikeys.Middleware(f.m, apikeys.MiddlewareConfig{
		FailureLimit: apikeys.RateLimit{PerSecond: 0.001, Burst: 1},
	})(echoIdentity(t))
	for range 5 {
		rec := serve(h, "Bearer "+paused.Key.Format())
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Contains(t, rec.Body.String(), apikeys.CodeInvalidKey)
	}
	assert.Equal(t, http.StatusOK, serve(h, "Bearer "+valid).Code)
}
