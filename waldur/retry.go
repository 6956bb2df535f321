package waldur

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults of [RetryPolicy].
const (
	DefaultMaxRetries = 4
	DefaultMinWait    = 500 * time.Millisecond
	DefaultMaxWait    = 30 * time.Second
)

// RetryPolicy bounds how the client retries a failed request. Zero fields take
// the defaults ([DefaultMaxRetries], [DefaultMinWait], [DefaultMaxWait]); a
// negative MaxRetries turns retrying off.
//
// Which requests are retried: GET, HEAD, PUT, DELETE and OPTIONS, and any
// request whose context went through [WithRetrySafe]. Which failures: network
// errors (a refused or reset connection, a timeout), 429 Too Many Requests and
// 5xx other than 501 Not Implemented. Any request, a POST included, is also
// retried when the connection could not be established at all, since then
// nothing reached the server.
//
// How long to wait: a 429 or 503 with a Retry-After header (seconds or an HTTP
// date) waits exactly that long, never less. When Retry-After exceeds MaxWait
// the client does not retry at all and returns the response as an [*APIError]
// whose RetryAfter tells the caller when to come back; so no single wait ever
// exceeds MaxWait. Other failures wait MinWait·2ⁿ (n = retries so far), capped
// at MaxWait, with the upper half jittered so that many agents do not retry in
// step.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt.
	MaxRetries int
	// MinWait is the wait before the first retry.
	MinWait time.Duration
	// MaxWait caps every wait, including one asked for by Retry-After.
	MaxWait time.Duration
}

// withDefaults fills zero fields.
func (p RetryPolicy) withDefaults() RetryPolicy {
	switch {
	case p.MaxRetries < 0:
		p.MaxRetries = 0
	case p.MaxRetries == 0:
		p.MaxRetries = DefaultMaxRetries
	}
	if p.MinWait <= 0 {
		p.MinWait = DefaultMinWait
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultMaxWait
	}
	if p.MaxWait < p.MinWait {
		p.MaxWait = p.MinWait
	}
	return p
}

type retrySafeKey struct{}

// WithRetrySafe marks requests made with the returned context as safe to
// retry even though their method (POST, PATCH) is not idempotent. Use it for
// calls whose repetition is harmless or that the caller verifies anyway by
// re-reading, such as state transitions: a repeated approve of an order that
// is already executing fails with a 409 the caller treats as done.
func WithRetrySafe(ctx context.Context) context.Context {
	return context.WithValue(ctx, retrySafeKey{}, true)
}

func isRetrySafe(ctx context.Context) bool {
	v, _ := ctx.Value(retrySafeKey{}).(bool)
	return v
}

// callStateKey carries per-call bookkeeping from the transport through
// retryablehttp's hooks, which see only the request context.
type callStateKey struct{}

// callState is owned by one call; retryablehttp runs its attempts on the
// calling goroutine, so no locking is needed.
type callState struct {
	method    string
	path      string
	retryable bool // idempotent method or marked with WithRetrySafe
	attempts  int
}

func stateFrom(ctx context.Context) *callState {
	s, _ := ctx.Value(callStateKey{}).(*callState)
	return s
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// retryer holds the retry decisions plugged into retryablehttp.
type retryer struct {
	policy RetryPolicy
	log    *slog.Logger
	now    func() time.Time
	// jitter returns a random duration in [0, n).
	jitter func(n int64) int64
	// observe sees every computed wait and returns the one to use; tests
	// replace it to record waits without spending them.
	observe func(time.Duration) time.Duration
}

func newRetryer(p RetryPolicy, log *slog.Logger) *retryer {
	return &retryer{
		policy:  p,
		log:     log,
		now:     time.Now,
		jitter:  rand.Int64N,
		observe: func(d time.Duration) time.Duration { return d },
	}
}

// checkRetry is retryablehttp's CheckRetry.
func (r *retryer) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	st := stateFrom(ctx)
	if st == nil || !(st.retryable || isDialError(err)) {
		return false, nil
	}
	var reason slog.Attr
	switch {
	case err != nil:
		if isPermanentTransportError(err) {
			return false, nil
		}
		reason = slog.String("error", err.Error())
	case resp == nil:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), r.now()); ok && ra > r.policy.MaxWait {
			// Waiting that long inside one call would hold the caller
			// hostage; hand the decision back via APIError.RetryAfter.
			return false, nil
		}
		reason = slog.Int("status", resp.StatusCode)
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		reason = slog.Int("status", resp.StatusCode)
	default:
		return false, nil
	}
	if st.attempts <= r.policy.MaxRetries {
		r.log.LogAttrs(ctx, slog.LevelDebug, "waldur: retrying request",
			slog.String("method", st.method), slog.String("path", st.path),
			slog.Int("attempt", st.attempts), reason)
	}
	return true, nil
}

// isDialError reports a failure to connect: the request never reached the
// server, so even a POST can be sent again.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// backoff is retryablehttp's Backoff; attempt counts retries so far.
func (r *retryer) backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), r.now()); ok {
			return r.observe(ra)
		}
	}
	return r.observe(r.exponential(minWait, maxWait, attempt))
}

// exponential returns minWait·2^attempt capped at maxWait, keeping the lower
// half and jittering the upper half.
func (r *retryer) exponential(minWait, maxWait time.Duration, attempt int) time.Duration {
	d := maxWait
	if attempt < 62 {
		if m := float64(minWait) * math.Pow(2, float64(attempt)); m < float64(maxWait) {
			d = time.Duration(m)
		}
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(r.jitter(int64(half)+1))
}

// maxRetryAfter bounds a parsed Retry-After so arithmetic cannot overflow.
const maxRetryAfter = 365 * 24 * time.Hour

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// A date in the past means no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > maxRetryAfter:
		return maxRetryAfter, true
	}
	return d, true
}
