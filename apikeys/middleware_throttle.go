package apikeys

import (
	"math"
	"net"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// failureTableSize bounds the client addresses a failure throttle tracks.
// When more addresses fail at once, the least recently seen lose their
// bucket (and with it what they had used up).
const failureTableSize = 10000

// failureThrottle counts failed verifications per client address in token
// buckets. Buckets are made on the first failure only, so valid traffic
// never fills the table, and they expire once they would be full again.
type failureThrottle struct {
	limit   RateLimit
	ttl     int64
	addr    func(*http.Request) string
	buckets *cache[*rate.Limiter]
}

func newFailureThrottle(l RateLimit, addr func(*http.Request) string) *failureThrottle {
	if l.Unlimited() {
		return nil
	}
	if addr == nil {
		addr = remoteHost
	}
	burst := max(1, l.Burst)
	refill := math.Ceil(float64(burst) / l.PerSecond * float64(time.Second))
	return &failureThrottle{
		limit:   RateLimit{PerSecond: l.PerSecond, Burst: burst},
		ttl:     int64(min(refill, float64(limiterTTL))),
		addr:    addr,
		buckets: newCache[*rate.Limiter](failureTableSize),
	}
}

// blocked reports whether the address of r has used up its failures, and
// how long until it may try again.
func (t *failureThrottle) blocked(r *http.Request, now time.Time) (string, time.Duration, bool) {
	a := t.addr(r)
	lim, fresh, ok := t.buckets.get(a, now.UnixNano())
	if !ok || !fresh || lim.TokensAt(now) >= 1 {
		return a, 0, false
	}
	return a, retryAfter(lim, now), true
}

// fail takes one token from the bucket of address a.
func (t *failureThrottle) fail(a string, now time.Time) {
	n := now.UnixNano()
	lim, fresh, ok := t.buckets.get(a, n)
	if !ok || !fresh {
		lim = rate.NewLimiter(rate.Limit(t.limit.PerSecond), t.limit.Burst)
		t.buckets.put(a, lim, n, t.ttl, t.buckets.generation())
	}
	lim.AllowN(now, 1)
}

// remoteHost is the host part of r.RemoteAddr, or all of it when it has no
// port.
func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}
