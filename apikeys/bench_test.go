package apikeys_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// benchManager issues n keys and verifies each once, so the cache is warm.
func benchManager(b *testing.B, n int, edit func(*apikeys.Config)) (*apikeys.Manager, []string) {
	b.Helper()
	cfg := apikeys.Config{Store: apikeys.NewMemoryStore(), AllowNoExpiry: true, CacheTTL: time.Hour}
	if edit != nil {
		edit(&cfg)
	}
	m, err := apikeys.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, n)
	for i := range keys {
		is, err := m.Issue(context.Background(), apikeys.IssueOptions{Scopes: []string{"orders:read"}})
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = is.Key.Format()
		if res, err := m.Verify(context.Background(), keys[i]); err != nil || !res.Valid() {
			b.Fatal(res.Reason, err)
		}
	}
	return m, keys
}

func BenchmarkVerifyWarm(b *testing.B) {
	for _, bc := range []struct {
		name string
		edit func(*apikeys.Config)
	}{
		{"sha256", nil},
		{"hmac", func(c *apikeys.Config) { c.Pepper = []byte("server-side pepper") }},
		{"ratelimited", func(c *apikeys.Config) { c.DefaultRateLimit = apikeys.RateLimit{PerSecond: 1e12, Burst: 1 << 30} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, keys := benchManager(b, 1, bc.edit)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if res, _ := m.Verify(ctx, keys[0], "orders:read"); !res.Valid() {
					b.Fatal(res.Reason)
				}
			}
		})
	}
}

// BenchmarkVerifyWarmParallel measures throughput with all cores verifying:
// "keys" spreads load over many keys, "onekey" has every goroutine hammer
// the same key (the worst case for shared state).
func BenchmarkVerifyWarmParallel(b *testing.B) {
	for _, bc := range []struct {
		name  string
		keys  int
		limit bool
	}{
		{"keys", 1024, false},
		{"onekey", 1, false},
		{"keys-ratelimited", 1024, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, keys := benchManager(b, bc.keys, func(c *apikeys.Config) {
				if bc.limit {
					c.DefaultRateLimit = apikeys.RateLimit{PerSecond: 1e12, Burst: 1 << 30}
				}
			})
			ctx := context.Background()
			var seq atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(7919))
				for pb.Next() {
					i++
					if res, _ := m.Verify(ctx, keys[i%len(keys)]); !res.Valid() {
						b.Error(res.Reason)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
		})
	}
}

func BenchmarkVerifyRejected(b *testing.B) {
	m, keys := benchManager(b, 1, nil)
	ctx := context.Background()
	unknown := mustGenerate(b, "")
	typo := keys[0][:len(keys[0])-1] + "!"
	m.Verify(ctx, unknown)
	b.Run("malformed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Verify(ctx, typo)
		}
	})
	b.Run("notfound-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Verify(ctx, unknown)
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := apikeys.Generate(""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	key := mustGenerate(b, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := apikeys.Parse(key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueMemory(b *testing.B) {
	m, _ := benchManager(b, 0, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Issue(ctx, apikeys.IssueOptions{Name: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMeterAddParallel(b *testing.B) {
	m, err := apikeys.NewMeter(apikeys.MeterConfig{Sink: apikeys.UsageSinkFunc(
		func(context.Context, []apikeys.UsageRecord) error { return nil })})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]apikeys.Identity, 64)
	for i := range ids {
		ids[i] = apikeys.Identity{KeyID: uuid.NewString()[:12], Binding: apikeys.Binding{ResourceUUID: uuid.New()}}
	}
	var seq atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(13))
		for pb.Next() {
			i++
			m.Add(ids[i%len(ids)], "requests", 1)
		}
	})
}

func BenchmarkMiddleware(b *testing.B) {
	m, keys := benchManager(b, 1, nil)
	meter, err := apikeys.NewMeter(apikeys.MeterConfig{Sink: apikeys.UsageSinkFunc(
		func(context.Context, []apikeys.UsageRecord) error { return nil })})
	if err != nil {
		b.Fatal(err)
	}
	h := apikeys.Middleware(m, apikeys.MiddlewareConfig{Meter: meter})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+keys[0])
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkMiddlewareFailureLimit is BenchmarkMiddleware with the per-address
// throttle of invalid keys on: a valid request adds one lookup of its
// address's bucket.
func BenchmarkMiddlewareFailureLimit(b *testing.B) {
	m, keys := benchManager(b, 1, nil)
	h := apikeys.Middleware(m, apikeys.MiddlewareConfig{FailureLimit: apikeys.RateLimit{PerSecond: 1, Burst: 20}})(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+keys[0])
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
