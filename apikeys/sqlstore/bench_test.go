package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// BenchmarkVerifyCold verifies with the Manager's caches disabled, so every
// verification reads the record from the database: the cost of a cache miss.
func BenchmarkVerifyCold(b *testing.B) {
	stores := map[string]func(b *testing.B) apikeys.Store{
		"postgres": func(b *testing.B) apikeys.Store { _, s, _ := openPostgres(b); return s },
		"sqlite":   func(b *testing.B) apikeys.Store { _, s := openSQLite(b); return s },
	}
	for _, name := range []string{"postgres", "sqlite"} {
		b.Run(name, func(b *testing.B) {
			m, err := apikeys.New(apikeys.Config{Store: stores[name](b), CacheSize: -1, NegativeCacheSize: -1})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			is, err := m.Issue(ctx, apikeys.IssueOptions{TTL: time.Hour, Scopes: []string{"a", "b"}})
			if err != nil {
				b.Fatal(err)
			}
			key := is.Key.Format()
			b.ReportAllocs()
			for b.Loop() {
				if res, err := m.Verify(ctx, key); err != nil || !res.Valid() {
					b.Fatal(res.Reason, err)
				}
			}
		})
	}
}

func BenchmarkIssue(b *testing.B) {
	for name, open := range map[string]func(b *testing.B) apikeys.Store{
		"postgres": func(b *testing.B) apikeys.Store { _, s, _ := openPostgres(b); return s },
		"sqlite":   func(b *testing.B) apikeys.Store { _, s := openSQLite(b); return s },
	} {
		b.Run(name, func(b *testing.B) {
			m, err := apikeys.New(apikeys.Config{Store: open(b), AllowNoExpiry: true})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Issue(ctx, apikeys.IssueOptions{Name: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
