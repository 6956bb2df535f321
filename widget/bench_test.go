package widget_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gsv-platform/waldur-agent-go/widget"
)

// BenchmarkStatus measures GET /status as a page's viewers call it: key
// verification (warm), CORS and a cached status.
func BenchmarkStatus(b *testing.B) {
	w := newWorld(b)
	h := w.handler(b, widget.Config{CacheTTL: time.Hour})
	benchStatus(b, h, w.keyA)
}

// BenchmarkStatusUncached measures GET /status reading Waldur every time
// (here the in-process fake: one resource listing, one usage and one key
// listing per resource, over loopback HTTP).
func BenchmarkStatusUncached(b *testing.B) {
	w := newWorld(b)
	h := w.handler(b, widget.Config{CacheTTL: -1})
	benchStatus(b, h, w.keyA)
}

func benchStatus(b *testing.B, h http.Handler, key string) {
	req := httptest.NewRequest(http.MethodGet, "/status", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Origin", portal)
	w := &discard{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.code = http.StatusOK
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

// discard is a ResponseWriter that keeps only the status, so the benchmark
// measures the handler rather than a recorder's copies.
type discard struct {
	header http.Header
	code   int
}

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }
